/**
 * A small DetectorContext for tests, benchmarks and offline studies: keeps instruments and plain
 * L2 books (the engine's L2Book, sequence checks included), applies book events before handing every event to the detectors (as the engine
 * does), and collects the signals. Not for the hot path of a deployment.
 */
import type { BookView, Detector, DetectorContext } from '../contracts/trading.js';
import type { MarketEvent } from '../domain/events.js';
import { instrumentKey, type Instrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { L2Book } from '../microstructure/l2-book.js';

export class DetectorHarness implements DetectorContext {
  now = 0;
  readonly signals: Signal[] = [];
  /** Called on every emitted signal (after it is stored, unless `keep` is false). */
  onSignal: ((s: Signal) => void) | undefined;
  private readonly instruments = new Map<string, Instrument>();
  private readonly books = new Map<string, L2Book>();

  constructor(
    readonly detectors: Detector[] = [],
    instruments: readonly Instrument[] = [],
    /** Store signals in `signals` (turn off for long runs that only count). */
    readonly keep = true,
  ) {
    for (const i of instruments) this.addInstrument(i);
  }

  addInstrument(i: Instrument): void {
    const key = instrumentKey(i.exchange, i.symbol);
    this.instruments.set(key, i);
    if (!this.books.has(key)) this.books.set(key, new L2Book(i.exchange, i.symbol));
  }

  instrument(exchange: string, symbol: string): Instrument | undefined {
    return this.instruments.get(instrumentKey(exchange, symbol));
  }

  book(exchange: string, symbol: string): BookView | undefined {
    return this.books.get(instrumentKey(exchange, symbol));
  }

  emit(signal: Signal): void {
    if (this.keep) this.signals.push(signal);
    this.onSignal?.(signal);
  }

  /** Applies a book event to its book, then runs every detector on the event. */
  feed(ev: MarketEvent): void {
    if (ev.ts > this.now) this.now = ev.ts;
    if (ev.type === 'book_snapshot' || ev.type === 'book_delta') {
      const b = this.books.get(instrumentKey(ev.exchange, ev.symbol));
      if (b) {
        if (ev.type === 'book_snapshot') b.applySnapshot(ev);
        else b.applyDelta(ev);
      }
    }
    for (let i = 0; i < this.detectors.length; i++) this.detectors[i].onMarketEvent(ev, this);
  }

  signalsOf(kind: string): Signal[] {
    return this.signals.filter((s) => s.kind === kind);
  }
}
