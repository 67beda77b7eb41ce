/**
 * A HALT (manual or automatic) and an operator's REDUCING are committed before the kill switch
 * answers "applied" and before their cancels, whatever `[journal] fsync`: only queued for the
 * batch commit (50 ms by default), a kill -9 / OOM / host crash right after the answer restarted
 * ACTIVE and traded again. Nothing at a venue can bring a HALT back (reconciliation recovers
 * fills and orders, not the risk state).
 */
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { RiskConfig } from '../config/types.js';
import { defineInstrument } from '../domain/instrument.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { RiskManager } from '../risk/manager.js';
import { RiskControlServer } from '../risk/control.js';
import { Engine } from './engine.js';
import { attachJournal } from './rebuild.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const RISK: RiskConfig = { max_position: 100_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };
/** A pid above Linux's pid_max: the journal sees its lock as left by a dead process (a crash). */
const DEAD = { pid: 2 ** 22 + 778, host: hostname() };

async function boot(path: string, venue: ScriptedVenue, crashy: boolean) {
  const metrics = new MetricsRegistry({ processMetrics: false });
  // the default policy; a batch interval no test outlives, so only a synchronous commit is on disk
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, ...(crashy ? { owner: DEAD } : {}) });
  const risk = new RiskManager({ risk: RISK, metrics, initialEquity: 1000, timers: false });
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics, watchdog: false, risk, riskChecks: risk.checks, journal: store, onShutdown: 'keep',
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  attachJournal(engine, store, silentLogger());
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  return { engine, risk, store };
}

describe('a risk state the operator was told is applied survives a crash', () => {
  it('POST /risk/halt answered 200, then kill -9: the restart is still HALTED', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-durable-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue, true);
    const token = 'x'.repeat(32);
    const server = new RiskControlServer(first.risk, { token });
    const port = await server.listen(0);
    const res = await fetch(`http://127.0.0.1:${port}/risk/halt`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'desk: runaway strategy' }) });
    expect(res.status).toBe(200);
    expect(first.engine.riskState.state).toBe('HALTED');
    await server.close();
    // the process is killed right after the operator saw "applied" (OOM, kill -9, host reset)
    first.store.close({ clean: false });

    const second = await boot(path, venue, false);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toMatch(/desk: runaway strategy/);
    await second.engine.stop('test');
  });

  it('an automatic HALT (max_drawdown), then kill -9: the restart is still HALTED', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-durable-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue, true);
    const r = first.engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_100, qty: 10, tif: 'GTC', source: 't' });
    expect(r.accepted, r.message).toBe(true);
    const o = venue.submitted.at(-1)!;
    venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 10, cumQty: 10, leavesQty: 0, tradeId: 'T1' });
    // 0.01 BTC bought at 50 001 against 1000 of capital; the market falls 20 %: a 10 % drawdown
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, seq: 2, reason: 'initial', bids: [{ price: 4_000_000, qty: 1000 }], asks: [{ price: 4_000_100, qty: 1000 }] });
    first.risk.evaluate();
    expect(first.engine.riskState.state).toBe('HALTED');
    first.store.close({ clean: false });

    const second = await boot(path, venue, false);
    expect(second.engine.riskState.state).toBe('HALTED');
    expect(second.engine.riskState.reason).toMatch(/max_drawdown/);
    await second.engine.stop('test');
  });

  it("an operator's REDUCING, then kill -9: the restart is still REDUCING", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-halt-durable-')), 'j.db');
    const venue = new ScriptedVenue('v', [BTC]);
    const first = await boot(path, venue, true);
    first.risk.reduce('desk: thin market');
    expect(first.engine.riskState.state).toBe('REDUCING');
    first.store.close({ clean: false });

    const second = await boot(path, venue, false);
    expect(second.engine.riskState.state).toBe('REDUCING');
    expect(second.engine.riskState.reason).toMatch(/desk: thin market/);
    await second.engine.stop('test');
  });
});
