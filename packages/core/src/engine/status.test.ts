import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { SnapshotHub } from '../observability/snapshot-hub.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { Engine } from './engine.js';
import { BTC, riskTestEngine, snapshot, unvaluableRiskTestEngine } from './risk-test-engine.js';
import { ScriptedVenue } from './test-venue.js';
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
    expect(st.pnl).toMatchObject({ realized: expect.any(String), fees: expect.any(String), unrealized: null, net: null, equity: null, error: expect.any(String) });
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

describe('engineStatus pnl', () => {
  it('equity is the risk engine\'s (starting capital + net, as risk.equity and cwts_equity); net is the PnL alone', async () => {
    const { engine, trade, metrics } = await riskTestEngine();
    trade('buy', 1);
    const st = engineStatus(engine) as { pnl: Record<string, string>; risk: { equity: string } };
    const gauge = /^cwts_equity (\S+)$/m.exec(await metrics.registry.getSingleMetricAsString('cwts_equity'))![1]!;
    expect(st.pnl.equity).toBe(st.risk.equity);
    // the gauge is a float of the same figure
    expect(Number(gauge)).toBeCloseTo(Number(st.pnl.equity), 9);
    expect(st.pnl.net).toBe(commonToDecimal(engine.totals().equity));
    expect(st.pnl.net).not.toBe('0');
    expect(st.pnl.equity).toBe(commonToDecimal(1000n * 10n ** 18n + engine.totals().equity));
  });

  it('without a risk layer there is no starting capital: equity is the net PnL', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const clock = new ManualClock(1_000_000);
    const engine = new Engine({ clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
    await engine.start();
    venue.sink!.onMarketEvent(snapshot(5_000_000, 5_000_100, 1));
    const st = engineStatus(engine) as { pnl: Record<string, string> };
    expect(st.pnl).toMatchObject({ net: '0', equity: '0' });
    await engine.stop('SIGTERM');
  });
});
