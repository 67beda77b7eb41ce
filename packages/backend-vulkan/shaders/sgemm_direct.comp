#version 450
// C = alpha * A x B + beta * C without shared memory: each invocation computes an RM x RN block
// of C straight from global memory (RM = RN = 4: 8 loads per 16 FMAs). The variant for CPU
// Vulkan devices (lavapipe), where shared memory and barriers cost more than they save.
// Same layout, k range (k0, kc) and alpha/beta rules as sgemm.comp.
layout(constant_id = 0) const uint TX = 16;
layout(constant_id = 1) const uint TY = 16;
layout(local_size_x_id = 0, local_size_y_id = 1) in;
const uint RM = 4;
const uint RN = 4;

layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) buffer C { float c[]; };
layout(push_constant) uniform P { uint M; uint N; uint K; float alpha; float beta; uint k0; uint kc; } pc;

void main() {
  // Invocation (x, y) owns rows row0 + i*TY and columns col0 + j*TX (interleaved like sgemm.comp).
  uint row0 = gl_WorkGroupID.y * (TY * RM) + gl_LocalInvocationID.y;
  uint col0 = gl_WorkGroupID.x * (TX * RN) + gl_LocalInvocationID.x;
  uint rows[RM];
  uint cols[RN];
  for (uint i = 0u; i < RM; ++i) rows[i] = min(row0 + i * TY, pc.M - 1u);
  for (uint j = 0u; j < RN; ++j) cols[j] = min(col0 + j * TX, pc.N - 1u);
  float acc[RM][RN];
  for (uint i = 0u; i < RM; ++i) for (uint j = 0u; j < RN; ++j) acc[i][j] = 0.0;
  for (uint p = pc.k0; p < pc.k0 + pc.kc; ++p) {
    float av[RM];
    float bv[RN];
    for (uint i = 0u; i < RM; ++i) av[i] = a[rows[i] * pc.K + p];
    for (uint j = 0u; j < RN; ++j) bv[j] = b[p * pc.N + cols[j]];
    for (uint i = 0u; i < RM; ++i) for (uint j = 0u; j < RN; ++j) acc[i][j] += av[i] * bv[j];
  }
  for (uint i = 0u; i < RM; ++i) {
    uint r = row0 + i * TY;
    if (r >= pc.M) continue;
    for (uint j = 0u; j < RN; ++j) {
      uint cc = col0 + j * TX;
      if (cc >= pc.N) continue;
      uint idx = r * pc.N + cc;
      float v;
      if (pc.kc == 0u) {
        v = pc.beta != 0.0 ? pc.beta * c[idx] : 0.0;
      } else {
        v = pc.alpha * acc[i][j];
        if (pc.beta != 0.0) v += pc.beta * c[idx];
      }
      c[idx] = v;
    }
  }
}
