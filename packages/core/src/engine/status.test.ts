import { describe, expect, it } from 'vitest';
import { SnapshotHub } from '../observability/snapshot-hub.js';
import { riskTestEngine, unvaluableRiskTestEngine } from './risk-test-engine.js';
import { engineStatus } from './status.js';

describe('engineStatus while the portfolio cannot be valued (fail-safe HALT)', () => {
  it('answers: HALTED and why, the positions with their quantities, null where a mark is needed', async () => {
    const { engine } = await unvaluableRiskTestEngine();

    const hub = new SnapshotHub(() => engineStatus(engine, { system: 't' }));
    const st = JSON.parse(hub.currentJson().json) as Record<string, any>;
    expect(st.risk).toMatchObject({ state: 'HALTED', equity: null, drawdownRatio: null });
    expect(st.risk.reason).toMatch(/risk evaluation failed/);
    expect(st.positions).toEqual([expect.objectContaining({ symbol: 'BTCUSDT', qty: 1, quantity: '0.001', unrealizedPnl: null })]);
    expect(st.positionsError).toEqual(expect.any(String));
    expect(st.pnl).toMatchObject({ realized: expect.any(String), fees: expect.any(String), unrealized: null, equity: null, error: expect.any(String) });
    expect(st.books).toHaveLength(1);
    expect(st.system).toBe('t');
  });

  it('a healthy engine: no error fields', async () => {
    const { engine, trade } = await riskTestEngine();
    trade('buy', 1);
    const st = engineStatus(engine);
    expect(st).not.toHaveProperty('positionsError');
    expect(st).not.toHaveProperty('booksError');
    expect(st.pnl).not.toHaveProperty('error');
    expect(st.risk).not.toHaveProperty('error');
    expect((st.risk as Record<string, unknown>).valuationError).toBeNull();
  });
});
