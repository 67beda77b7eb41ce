// The shared compute conformance suite against the ROCm backend on an AMD GPU. Without one
// every test skips with the probe's reason.
import { describeComputeConformance } from '@cwts/core/testing';
import { rocmProvider } from '../src/index.js';

describeComputeConformance('rocm', () => rocmProvider);
