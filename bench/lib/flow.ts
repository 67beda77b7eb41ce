/**
 * Deterministic order flow for one symbol: the generator lives in core
 * (packages/core/src/cli/benchmark/order-flow.ts) so `cwts-ultra benchmark` has it in an
 * installed package. The third argument of generateFlow is kept for existing callers.
 */
import { generateFlow as generate, type Flow } from '../../packages/core/dist/cli/benchmark/order-flow.js';

export { OP_CANCEL, OP_FOK, OP_IOC, OP_LIMIT, OP_MARKET, type Flow } from '../../packages/core/dist/cli/benchmark/order-flow.js';
export { mulberry32 } from '../../packages/core/dist/cli/benchmark/venue-frames.js';

export function generateFlow(n: number, seed: number, _engine?: unknown): Flow {
  return generate(n, seed);
}
