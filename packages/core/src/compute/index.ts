export { JsComputeBackend, jsBackendProvider, jsDeviceFacts, JS_BACKEND_NAME } from './js-backend.js';
export {
  ComputeRegistry,
  NoComputeBackendError,
  notInstalledReason,
  autoDetectTier,
  onRealAccelerator,
  DEFAULT_BACKEND_DISPOSE_TIMEOUT_MS,
  type BackendDisposeProblem,
  type BackendInitOptionsFor,
  type BackendStatus,
  type ResolvedBackend,
  type SkippedBackend,
} from './registry.js';
export { instrumentBackend, type KernelObserver } from './instrument.js';
export { GPU_DISABLED_REASON, registerComputeProviders, startComputeBackend, unusableComputeBackends, type ComputeStartupOptions } from './startup.js';
export {
  KNOWN_COMPUTE_BACKENDS,
  computeBackendCandidates,
  computePluginSpec,
  computeBackendTableSchema,
  computeBackendsSchema,
  readComputeTable,
  type ComputeConfig,
} from '../config/compute-schema.js';
export { HostBuffers, isDeviceBufferLike } from './host-buffers.js';
export { HostArrayCallOrder, type HostRead } from './host-call-order.js';
export { HostMemoryBackend } from './host-memory-backend.js';
export {
  PHILOX_M0,
  PHILOX_M1,
  PHILOX_W0,
  PHILOX_W1,
  PHILOX_ROUNDS,
  mulhi32,
  mullo32,
  philox4x32,
  splitSeed,
  normalsFromBlock,
  normalAt,
} from './philox.js';
// Argument validation shared with other backends, so they reject exactly what the oracle rejects.
export { preparePatternScores, type PreparedPatternScores } from './kernels/pattern-scores.js';
export { prepareRollingMoments, type PreparedRollingMoments } from './kernels/rolling-moments.js';
export { prepareRollingMoments64, type PreparedRollingMoments64 } from './kernels/rolling-moments64.js';
export { prepareSgemm, type PreparedSgemm } from './kernels/sgemm.js';
export { prepareMonteCarloVaR, portfolioExposure, summariseLosses, selectKth, type PreparedMonteCarloVaR } from './kernels/monte-carlo-var.js';
export { describeValue, requireInt, requireFinite, requireFloat32Scalar, requireHostF32, requireHostF64, requireHostI32, requireProduct, viewsOverlap, type F32Resolver, type F64Resolver } from './validate.js';
