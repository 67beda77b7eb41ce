export { Engine, type EngineOptions, type RunSummary, type VenueRuntime } from './engine.js';
export { composeDeployment, BUILTIN_DETECTORS, type ComposeOptions, type Deployment, type BuiltinDetectorFactory, type BuiltinDetectorDeps } from './compose.js';
export { OrderManager } from './order-manager.js';
export { readJsonLines } from './journal.js';
export { Recorder, RECORDING_KIND, RECORDING_VERSION, instrumentSpec, type TradingStatusRecord, type TradingStatusReader } from './recorder.js';
export { MarketDataOnlyExecution } from './market-data-only.js';
export { engineStatus, engineHealth } from './status.js';
