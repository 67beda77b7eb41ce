/**
 * The short crash test in `pnpm test`: 5 SIGKILLs per venue (the full run is `pnpm chaos`,
 * >= 50). Runs the built cwts-ultra (`pnpm test` builds first) against the in-process sim and
 * against the local Binance server in its own process, then checks the proofs of
 * chaos/harness.mjs: no fill lost or doubled, no client order id sent twice, positions, PnL and
 * fees equal to the venue's, a forced HALT that survived the restarts and that stopped trading
 * (nothing of ours working, ordered or filled at the venue after it; sim: the journal), the sim's
 * reported fills (fills.log) all journaled, and that trading happened.
 */
import { describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM without types, shared with scripts/chaos.mjs
import { runPhase } from '../chaos/harness.mjs';

const KILLS = 5;

describe('crash test (SIGKILL at random points, restart, prove nothing lost or duplicated)', () => {
  for (const kind of ['sim', 'binance'] as const) {
    it(`${kind}: ${KILLS} kills`, async () => {
      // the HALT goes in at kill 3, so kills 4 and 5 restart a HALTED app
      const r = await runPhase({ kind, kills: KILLS, seed: 20261205, haltAtKill: 3 });
      const proof = {
        errors: r.errors, lostFills: r.lostFills, duplicatedFills: r.duplicatedFills, unknownFills: r.unknownFills, duplicateOrders: r.duplicateOrders,
        positionMismatches: r.positionMismatches, ordersAfterHalt: r.ordersAfterHalt, fillsAfterHalt: r.fillsAfterHalt, workingAfterHalt: r.workingAfterHalt ?? 0,
        finalRiskState: r.finalRiskState, cleanExit: r.cleanExit, secretLeaks: r.secretLeaks,
      };
      expect(proof, JSON.stringify({ ...r, venue: r.venue, app: r.app })).toEqual({
        errors: [], lostFills: 0, duplicatedFills: 0, unknownFills: 0, duplicateOrders: 0, positionMismatches: 0, ordersAfterHalt: 0, fillsAfterHalt: 0, workingAfterHalt: 0,
        finalRiskState: 'HALTED', cleanExit: true, secretLeaks: 0,
      });
      expect(r.restartsAfterHalt).toBeGreaterThanOrEqual(1);
      expect(r.ok).toBe(true);
      expect(r.haltedAt).toBeDefined();
      expect(r.haltSurvived).toBe(r.restartsAfterHalt);
      expect(r.ordersSent).toBeGreaterThan(0);
      expect(r.journalFills).toBeGreaterThan(0);
      if (kind === 'binance') expect(r.venueFills).toBe(r.journalFills);
    }, 300_000);
  }
});
