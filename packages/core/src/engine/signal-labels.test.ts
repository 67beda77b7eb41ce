/**
 * A signal's labels become a metric series, `cwts_signals_total{detector,exchange,symbol}`, and an
 * engine map entry kept for the process's life. A plugin detector that keyed its signals by a
 * string of the feed (the trade id in the symbol) made one series, one journal row and one
 * strategy call per trade. The engine passes on only signals about an instrument it has; the
 * detector label is a configured detector's name (or the one whose dispatch emitted it, or "?").
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { Detector, DetectorContext } from '../contracts/trading.js';
import type { MarketEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

async function rig(onTrade: (ev: MarketEvent & { type: 'trade' }, ctx: DetectorContext, n: number) => void) {
  const venue = new ScriptedVenue('v', [BTC]);
  const metrics = new MetricsRegistry({ processMetrics: false });
  const clock = new ManualClock(1_000);
  const seen: Signal[] = [];
  let n = 0;
  const detector: Detector = {
    name: 'echo',
    onMarketEvent(ev, ctx) {
      if (ev.type === 'trade') onTrade(ev, ctx, ++n);
    },
  };
  const engine = new Engine({
    clock, logger: silentLogger(), metrics, watchdog: false, detectors: [detector],
    strategy: { name: 's', onSignal: (s: Signal) => void seen.push(s) },
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  const trades = (count: number) => {
    for (let i = 0; i < count; i++) {
      const ts = clock.now();
      venue.sink!.onMarketEvent({ type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: String(i), price: 5_000_000, qty: 1, side: 'buy' });
      clock.advance(1);
    }
  };
  const lines = async (prefix: string) => (await metrics.text()).split('\n').filter((l) => l.startsWith(prefix));
  return { engine, seen, trades, lines };
}

const signal = (over: Partial<Signal>): Signal => ({ id: 'x', detector: 'echo', kind: 'k', exchange: 'v', symbol: 'BTCUSDT', ts: 1, direction: 1, strength: 1, evidence: {}, ...over });

describe('signal labels', () => {
  it('a signal naming no instrument of the engine is dropped as its detector\'s error: no series, no strategy call, not counted as a signal', async () => {
    const { engine, seen, trades, lines } = await rig((ev, ctx, n) => ctx.emit(signal({ id: `echo:${n}`, symbol: `${ev.symbol}#${ev.tradeId}`, ts: ev.ts })));
    trades(2000);
    expect(await lines('cwts_signals_total{')).toEqual([]);
    expect(seen).toEqual([]);
    expect(engine.summary().signals).toBe(0);
    expect(await lines('cwts_errors_total{')).toEqual(['cwts_errors_total{component="detector:echo"} 2000']);
    await engine.stop('test');
  });

  it('an unknown exchange is dropped the same way', async () => {
    const { engine, seen, trades, lines } = await rig((ev, ctx, n) => ctx.emit(signal({ id: `echo:${n}`, exchange: `v${n}`, ts: ev.ts })));
    trades(3);
    expect(await lines('cwts_signals_total{')).toEqual([]);
    expect(seen).toEqual([]);
    await engine.stop('test');
  });

  it('the detector label is a configured detector\'s name: a signal naming another is labelled with the detector whose dispatch emitted it', async () => {
    const { engine, seen, trades, lines } = await rig((ev, ctx, n) => ctx.emit(signal({ id: `echo:${n}`, detector: `echo-${ev.tradeId}`, ts: ev.ts })));
    trades(50);
    expect(await lines('cwts_signals_total{')).toEqual(['cwts_signals_total{detector="echo",exchange="v",symbol="BTCUSDT"} 50']);
    // the signal itself says what its detector wrote
    expect(seen).toHaveLength(50);
    expect(seen[7]!.detector).toBe('echo-7');
    await engine.stop('test');
  });

  it('outside any detector\'s dispatch (an async emit), an unconfigured name is labelled "?", a configured one keeps its name', async () => {
    const { engine, seen, lines } = await rig(() => {});
    for (let i = 0; i < 20; i++) engine.emit(signal({ id: `late:${i}`, detector: `late-${i}` }));
    engine.emit(signal({ id: 'echo:1' }));
    engine.emit(signal({ id: 'bad', detector: 'late-bad', symbol: 'NOPE' }));
    expect(await lines('cwts_signals_total{')).toEqual([
      'cwts_signals_total{detector="?",exchange="v",symbol="BTCUSDT"} 20',
      'cwts_signals_total{detector="echo",exchange="v",symbol="BTCUSDT"} 1',
    ]);
    expect(await lines('cwts_errors_total{')).toEqual(['cwts_errors_total{component="detector:?"} 1']);
    expect(seen).toHaveLength(21);
    await engine.stop('test');
  });
});
