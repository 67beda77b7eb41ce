// One fresh process of bench/tracing.bench.ts: the engine's dispatch of N market events (every
// other one a trade that sends an order, acknowledged and cancelled by the venue) with tracing
// off, or on at a sample ratio with a no-op exporter behind the batch processor. Prints JSON.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [root, mode, nText] = process.argv.slice(2);
const N = Number(nText);
const dist = (p) => import(pathToFileURL(join(root, 'packages/core/dist', p)).href);
const { Engine } = await dist('engine/engine.js');
const { ScriptedVenue } = await dist('engine/test-venue.js');
const { ManualClock } = await dist('contracts/clock.js');
const { defineInstrument } = await dist('domain/instrument.js');
const { silentLogger } = await dist('observability/logger.js');
const { MetricsRegistry } = await dist('observability/metrics.js');

let tracing;
if (mode !== 'off') {
  const { OtelEngineTracing } = await dist('observability/tracing/otel.js');
  const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
  tracing = new OtelEngineTracing({ sampleRatio: Number(mode), exporter });
}
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const venue = new ScriptedVenue('v', [BTC]);
venue.submit = () => {};
class OrderPerTrade {
  name = 'order-per-trade';
  onSignal() {}
  onMarketEvent(ev, ctx) {
    if (ev.type !== 'trade') return;
    const r = ctx.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 4_999_000, qty: 1, tif: 'IOC', source: 'bench' });
    if (r.accepted) {
      venue.report({ clientOrderId: r.clientOrderId, symbol: 'BTCUSDT', side: 'buy' }, { kind: 'ack' });
      venue.report({ clientOrderId: r.clientOrderId, symbol: 'BTCUSDT', side: 'buy' }, { kind: 'cancelled' });
    }
  }
}
const engine = new Engine({ clock: new ManualClock(1000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), strategy: new OrderPerTrade(), watchdog: false, venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }] });
engine.tracing = tracing;
await engine.start();
venue.sink.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
const trade = { type: 'trade', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, tradeId: '1', price: 5_000_000, qty: 1, side: 'buy' };
let seq = 1;
const delta = () => ({ type: 'book_delta', exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, firstSeq: ++seq, seq, bids: [{ price: 4_999_000 + (seq % 50), qty: 1 + (seq % 7) }], asks: [] });
const one = (i) => venue.sink.onMarketEvent(i % 2 ? trade : delta());
for (let i = 0; i < 20_000; i++) one(i); // warm-up
const times = new Float64Array(N);
for (let i = 0; i < N; i++) {
  const a = performance.now();
  one(i);
  times[i] = performance.now() - a;
}
times.sort();
const q = (p) => times[Math.min(N - 1, Math.floor(N * p))] * 1000;
console.log(JSON.stringify({ mode, p50us: q(0.5), p99us: q(0.99), p999us: q(0.999), traced: tracing?.traced ?? 0 }));
await tracing?.shutdown();
