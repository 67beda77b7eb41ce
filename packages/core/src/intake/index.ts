export { IntakeRecordReader, IntakeRecordWriter, IntakeRecordType, type RingSpaceWait } from './records.js';
export { WorkerIntake, compiledModuleUrl, type WorkerIntakeOptions } from './worker-intake.js';
export { selectIntake, type IntakeSelection } from './select.js';
export { CONTROL, RESUME_TRADES, type IntakeBlockAware, type IntakeResume, type IntakeResumeTrade, type IntakeTradeMarkSink, type IntakeWorkerData, type IntakeWorkerEnv, type IntakeWorkerFactory, type IntakeWorkerMessage } from './protocol.js';
export { playScriptSteps, scriptIntakeClient, SCRIPT_HANG_COMPONENT, type IntakeScriptBase, type IntakeScriptStep, type ScriptConnection, type ScriptedFeed } from './script-intake.js';
