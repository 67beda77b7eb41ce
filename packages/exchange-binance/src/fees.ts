// Commission -> quote atoms and balance -> whole lots are shared by every adapter: they live in
// @cwts/core's adapter kit (fees.ts, polled-execution.ts).
export { feeToQuoteAtoms, balanceToLots as lotsFloor } from '@cwts/core/adapter-kit';
