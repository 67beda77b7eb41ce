/**
 * "Whale Detection" and "Cascade Detection": a built-in detector's onMarketEvent per market
 * event of the synthetic venue's stream (trades, book deltas, liquidations; whales and cascades
 * injected), the L2 book applied outside the timed region, as `pnpm bench detectors` does.
 */
import { performance } from 'node:perf_hooks';
import type { Detector, DetectorContext } from '../../../contracts/trading.js';
import type { Instrument } from '../../../domain/instrument.js';
import type { MarketEvent } from '../../../domain/events.js';
import type { Signal } from '../../../domain/signal.js';
import { CascadeDetector, WhaleDetector } from '../../../detectors/index.js';
import { L2Book } from '../../../microstructure/index.js';
import { iterations, type RowMeasurement, type RowRun } from '../row.js';
import { LatencySamples } from '../samples.js';
import { simEvents } from '../sim-package.js';

class Context implements DetectorContext {
  now = 0;
  signals = 0;
  private readonly byKey = new Map<string, { book: L2Book; instrument: Instrument }>();
  constructor(instruments: Instrument[]) {
    for (const i of instruments) this.byKey.set(`${i.exchange}:${i.symbol}`, { book: new L2Book(i.exchange, i.symbol), instrument: i });
  }
  instrument(exchange: string, symbol: string): Instrument | undefined {
    return this.byKey.get(`${exchange}:${symbol}`)?.instrument;
  }
  book(exchange: string, symbol: string): L2Book | undefined {
    return this.byKey.get(`${exchange}:${symbol}`)?.book;
  }
  emit(_s: Signal): void {
    this.signals++;
  }
  apply(ev: MarketEvent): void {
    if (ev.type === 'book_snapshot') this.book(ev.exchange, ev.symbol)?.applySnapshot(ev);
    else if (ev.type === 'book_delta') this.book(ev.exchange, ev.symbol)?.applyDelta(ev);
  }
}

export async function measureDetector(kind: 'whale' | 'cascade', run: RowRun): Promise<RowMeasurement> {
  const n = iterations(run, 200_000, 2_000_000);
  const { events, instruments } = await simEvents(run.baseDir, n);
  run.progress(0.3);
  const make = (): Detector => (kind === 'whale' ? new WhaleDetector('whale', {}) : new CascadeDetector('cascade', {}));
  {
    const c = new Context(instruments);
    const d = make();
    for (let i = 0; i < Math.min(events.length, 100_000); i++) {
      c.apply(events[i]!);
      d.onMarketEvent(events[i]!, c);
    }
  }
  const ctx = new Context(instruments);
  const d = make();
  const s = new LatencySamples(events.length);
  for (let i = 0; i < events.length; i++) {
    const ev = events[i]!;
    ctx.apply(ev);
    ctx.now = ev.ts;
    const t = performance.now();
    d.onMarketEvent(ev, ctx);
    s.record((performance.now() - t) * 1e6);
    if ((i & 16383) === 0) run.progress(0.3 + (0.7 * i) / events.length);
  }
  return {
    latency: s.summary(),
    what: `${kind} detector onMarketEvent per event, ${events.length} sim events (trades, book deltas, liquidations), ${ctx.signals} signals (timer included)`,
    figures: [{ name: `${kind} signals`, metric: 'count', unit: 'signals', value: ctx.signals }],
  };
}
