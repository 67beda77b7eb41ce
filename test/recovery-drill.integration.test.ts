/**
 * The disaster-recovery drill (chaos/drill.mjs; docs/operations.md): backup while the app
 * trades against the local Binance server, trading past the backup, the data directory
 * destroyed, restore, restart; the restarted app must agree with the venue on fills, position,
 * PnL, fees and working orders, and never reuse a client id. Runs the built cwts-ultra.
 */
import { describe, expect, it } from 'vitest';
// @ts-ignore: plain ESM without types, shared with the chaos harness
import { runRecoveryDrill } from '../chaos/drill.mjs';

describe('disaster recovery drill (backup mid-run, data dir destroyed, restore, restart, reconcile)', () => {
  it('the restored app agrees with the venue: fills, position, PnL, fees, open orders; no client id reused', async () => {
    const r = await runRecoveryDrill({ seed: 20261205 });
    const why = JSON.stringify(r);
    expect(r.errors, why).toEqual([]);
    expect(r.steps.map((s: { step: string; code?: number }) => [s.step, s.code])).toEqual([['backup', 0], ['data dir destroyed', undefined], ['restore', 0]]);
    // The drill means something only if the backup was behind the venue when the disaster came.
    expect(r.ordersMissingFromBackup, why).toBeGreaterThan(0);
    expect(r.fillsMissingFromBackup, why).toBeGreaterThan(0);
    expect({ lostFills: r.lostFills, duplicatedFills: r.duplicatedFills, unknownFills: r.unknownFills, duplicateOrders: r.duplicateOrders, positionMismatches: r.positionMismatches }, why).toEqual({
      lostFills: 0, duplicatedFills: 0, unknownFills: 0, duplicateOrders: 0, positionMismatches: 0,
    });
    expect(r.venueFills, why).toBe(r.journalFills);
    expect({ untrackedAtVenue: r.untrackedAtVenue, openInJournalOnly: r.openInJournalOnly }, why).toEqual({ untrackedAtVenue: [], openInJournalOnly: [] });
    expect(r.cleanExit).toBe(true);
    // What reconciliation repaired is visible in /status: orders and trades the backup did not
    // have are adopted; the balances, moved by exactly those fills, agree.
    const kinds = new Set(r.reconcile.mismatches.map((m: { kind: string }) => m.kind));
    expect(kinds.has('unknown_trade') || kinds.has('unknown_order'), why).toBe(true);
    expect(kinds.has('balance'), why).toBe(false);
    expect(r.reconcile.venues[0].balances, why).toEqual({ compared: ['BTC', 'USDT'] });
  }, 300_000);
});
