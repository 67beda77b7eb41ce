export { describeComputeConformance, CONFORMANCE_TOLERANCES, type ComputeConformanceOptions } from './compute-conformance.js';
export { naiveRolling64, tickPrices, FLOAT64_TOLERANCES } from './compute-conformance-float64.js';
export { naivePearson, naiveRolling, naiveSgemm, naiveMonteCarloLosses, summariseBySort } from './compute-conformance.js';
export { seededRandom, type SeededRandom } from './seeded-random.js';
export { describeExchangeConformance, ConformanceSink, conformanceOrder, waitUntil, type ConformanceVenue, type AdapterUnderTest, type ExchangeConformanceOptions, type ExchangeErrorCase, type AdapterOptions } from './exchange-conformance.js';
export { skipUnlessRequired, isRequired, requiredCapabilities, RequiredCapabilityMissingError, REQUIRE_ENV, type Skippable } from './require.js';
export { GuardedWorker, type GuardedModuleRef, type GuardedResult } from './guarded-worker.js';
export { hostileCases, foreignFrames, judge, describeMalformedInput, type HostileCase, type HostileExpectation, type MalformedInputOptions } from './malformed-input.js';
export { startAppRun, stopAppRun, getJson, counterSum, type AppRun, type StartAppRunOptions } from './app-run.js';
