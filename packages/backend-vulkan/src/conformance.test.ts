// The shared compute conformance suite against the Vulkan backend (lavapipe in CI). On a machine
// without Vulkan every test skips with the probe's reason.
import { describeComputeConformance } from '@cwts/core/testing';
import { vulkanProvider } from './index.js';

describeComputeConformance('vulkan', () => vulkanProvider);
