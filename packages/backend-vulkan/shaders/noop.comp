#version 450
// Empty kernel: the launch-latency probe.
layout(local_size_x = 1) in;
void main() {}
