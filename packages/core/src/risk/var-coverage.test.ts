/**
 * VaR of the current positions, every one of them. Marks were sampled only for instruments with
 * a position, and a position with fewer than minObservations returns was left out of the VaR,
 * which was published as the VaR (stale: false): a large position opened after a small one
 * escaped the VaR limit for its first 30 sample periods, the state ACTIVE.
 */
import { describe, expect, it } from 'vitest';
import { varRig } from '../engine/var-rig.fixture.js';

describe('VaR of every current position', () => {
  it('a position opened later is covered at once: its market was sampled from the start, without a position', async () => {
    const t = await varRig({ budget: 2000 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('BTCUSDT', 10); // 0.01 BTC, ~500 USDT
      t.periods(40);
      expect(await t.risk.recomputeVar()).toBeDefined();
      expect(Object.keys(t.varStatus().exposures!)).toEqual(['v:BTCUSDT']);
      expect(t.engine.riskState.state).toBe('ACTIVE');
      // 200 ETH, ~600 000 USDT, in a market that moved ~2 % a period all along
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 200_000);
      t.periods(1);
      const v = await t.risk.recomputeVar();
      expect(Object.keys(t.varStatus().exposures!).sort()).toEqual(['v:BTCUSDT', 'v:ETHUSDT']);
      expect(v!.var).toBeGreaterThan(2000);
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.engine.riskState.reason).toMatch(/^VaR [\d.]+ above its budget 2000$/);
    } finally {
      await t.engine.stop('test');
    }
  });

  it('a position whose market has too few returns once the VaR is in force: no partial figure, REDUCING naming it and N of M, until it is covered', async () => {
    const t = await varRig({ budget: 1e9, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.trade('BTCUSDT', 10);
      t.periods(35); // BTC past its 30 returns; ETH has no book yet
      expect(await t.risk.recomputeVar()).toBeDefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      // the ETH feed comes up late; a large position is opened 5 periods later
      t.snap('ETHUSDT', 300_000, 300_010);
      t.periods(5);
      t.trade('ETHUSDT', 200_000);
      // at once, on the fill: the VaR in force no longer covers every position
      expect(t.engine.riskState.state).toBe('REDUCING');
      expect(t.engine.riskState.reason).toBe('VaR does not cover every position: too few sampled returns for v:ETHUSDT (4 of 30 returns)');
      // the BTC-only figure is not shown as the VaR
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.risk.lastVar).toBeUndefined();
      expect(t.varStatus()).toMatchObject({
        uncovered: ['v:ETHUSDT (4 of 30 returns)'],
        note: 'not computed yet (needs positions and 30 sampled returns): too few for v:ETHUSDT (4 of 30 returns); REDUCING until every position is covered',
      });
      expect(t.varStatus().var).toBeUndefined();
      // covered: the VaR of both, and the REDUCING clears by itself
      t.periods(26);
      const v = await t.risk.recomputeVar();
      expect(v).toBeDefined();
      expect(Object.keys(t.varStatus().exposures!).sort()).toEqual(['v:BTCUSDT', 'v:ETHUSDT']);
      expect(t.varStatus().uncovered).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
    } finally {
      await t.engine.stop('test');
    }
  });

  it('closing the uncovered position clears the REDUCING', async () => {
    const t = await varRig({ budget: 1e9, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.periods(35);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 1000);
      expect(t.engine.riskState.state).toBe('REDUCING');
      // REDUCING lets the exit through; flat, nothing is uncovered
      t.trade('ETHUSDT', 1000, 'sell');
      expect(t.engine.portfolio.qty('v', 'ETHUSDT')).toBe(0);
      expect(t.engine.riskState.state).toBe('ACTIVE');
    } finally {
      await t.engine.stop('test');
    }
  });

  it('during the warm-up (no instrument has the returns yet) no VaR is no trigger, as documented; the note names what is short', async () => {
    const t = await varRig({ budget: 1, minObservations: 30 });
    try {
      t.snap('BTCUSDT', 5_000_000, 5_000_100);
      t.snap('ETHUSDT', 300_000, 300_010);
      t.trade('ETHUSDT', 200_000);
      t.periods(10);
      expect(await t.risk.recomputeVar()).toBeUndefined();
      expect(t.engine.riskState.state).toBe('ACTIVE');
      expect(t.varStatus().note).toBe('not computed yet (needs positions and 30 sampled returns): too few for v:ETHUSDT (9 of 30 returns)');
    } finally {
      await t.engine.stop('test');
    }
  });
});
