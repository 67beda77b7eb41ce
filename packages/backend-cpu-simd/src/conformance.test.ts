import { describeComputeConformance } from '@cwts/core/testing';
import { cpuSimdProvider } from './index.js';

// The shared suite against the best kernel set this CPU runs, and again with SIMD disabled
// (`[performance] simd_enabled = false` forces the scalar kernels) and without the BLAS.
// Every test skips itself, with the probe's reason, where the addon is not built.
describeComputeConformance('cpu-simd', () => cpuSimdProvider, { createOptions: { threadPoolSize: 2 } });
describeComputeConformance('cpu-simd (scalar, no BLAS)', () => cpuSimdProvider, {
  createOptions: { threadPoolSize: 2, settings: { simd_enabled: false, blas: false } },
});
