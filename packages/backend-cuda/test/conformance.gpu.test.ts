// The shared compute conformance suite against the CUDA backend on an NVIDIA GPU. Without one
// every test skips with the probe's reason (e.g. "no NVIDIA driver: cudaGetDeviceCount
// returned 35 ...").
import { describeComputeConformance } from '@cwts/core/testing';
import { cudaProvider } from '../src/index.js';

describeComputeConformance('cuda', () => cudaProvider);
