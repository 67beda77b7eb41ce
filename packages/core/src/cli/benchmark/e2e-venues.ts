/**
 * The four venue intakes of the e2e run, from the installed adapter packages (core cannot import
 * them: they depend on it). Each package's frame harness (the conformance suite's entry: the
 * venue's own feed class with no socket) brings its feed to a SYNCED book; its sink is pointed at
 * the engine and frames go straight to the feed's onFrame (the harness's per-frame state copy is
 * skipped). Packages are looked up like plugins: from the working directory, then core's own
 * install location.
 */
import type { FeedReject, MarketEventSink } from '../../contracts/exchange.js';
import type { FeedStatusEvent, MarketEvent } from '../../domain/events.js';
import type { Instrument } from '../../domain/instrument.js';
import { locatePlugin } from '../../plugins/resolve.js';
import type { E2EVenueIntake } from './e2e-pipeline.js';
import { binanceFrames, bybitFrames, coinbaseFrames, krakenFrames, type KrakenFrameTools } from './venue-frames.js';

export const E2E_VENUE_PACKAGES = ['@cwts/exchange-binance', '@cwts/exchange-coinbase', '@cwts/exchange-kraken', '@cwts/exchange-bybit'] as const;

/** What the bench reaches inside a frame harness (its private fields, by name). */
interface HarnessInside {
  reset(mode?: 'synced'): unknown;
  sink: {
    synced: boolean;
    onMarketEvent(ev: MarketEvent): void;
    onFeedStatus(st: FeedStatusEvent): void;
    onFeedError(component: string, message: string): void;
    onFeedReject(r: FeedReject): void;
  };
  feedInstance: { onFrame(text: string): void };
  instrument?: Instrument;
  sym?: { precision: unknown; scales: { price: unknown; qty: unknown } };
}

type Module = Record<string, unknown>;

async function load(spec: string, baseDir: string): Promise<Module> {
  const where = locatePlugin(spec, baseDir);
  if (!('url' in where)) throw new Error(`${spec} is not installed (looked in ${where.searched.join(', ')}); the end-to-end row needs the four venue adapters`);
  return (await import(where.url)) as Module;
}

function fn<T>(mod: Module, name: string, spec: string): T {
  const f = mod[name];
  if (typeof f !== 'function') throw new Error(`${spec} has no export ${name} (an older version?)`);
  return f as T;
}

/** A fresh harness whose feed emits to `sink`, SYNCED at the harness's book. */
function openHarness(make: () => unknown, sink: MarketEventSink): { feed: (t: string) => void; rejected: () => number; h: HarnessInside } {
  const h = make() as HarnessInside;
  const hs = h.sink;
  let rejected = 0;
  hs.onMarketEvent = (ev) => {
    if (ev.type === 'book_snapshot') hs.synced = true;
    sink.onMarketEvent(ev);
  };
  hs.onFeedStatus = (st) => {
    if (st.state !== 'synced') hs.synced = false;
    sink.onFeedStatus(st);
  };
  hs.onFeedError = (c, m) => sink.onFeedError(c, m);
  hs.onFeedReject = (r) => {
    rejected++;
    sink.onFeedReject?.(r);
  };
  h.reset('synced');
  const feed = h.feedInstance;
  if (!feed || typeof feed.onFrame !== 'function') throw new Error('frame harness without a feed (an older adapter version?)');
  return { feed: (t) => feed.onFrame(t), rejected: () => rejected, h };
}

/** The four venues' intakes: Binance (the parents' venue), Coinbase, Kraken, Bybit spot. */
export async function loadE2EVenues(baseDir = process.cwd()): Promise<E2EVenueIntake[]> {
  const [binance, coinbase, kraken, bybit] = await Promise.all(E2E_VENUE_PACKAGES.map((p) => load(p, baseDir)));
  const makeBinance = fn<() => unknown>(binance!, 'createBinanceFrameHarness', E2E_VENUE_PACKAGES[0]);
  const makeCoinbase = fn<() => unknown>(coinbase!, 'createCoinbaseFrameHarness', E2E_VENUE_PACKAGES[1]);
  const makeKraken = fn<() => unknown>(kraken!, 'createKrakenFrameHarness', E2E_VENUE_PACKAGES[2]);
  const makeBybit = fn<() => unknown>(bybit!, 'createBybitFrameHarness', E2E_VENUE_PACKAGES[3]);
  const krakenTools: KrakenFrameTools = {
    krakenChecksum: fn(kraken!, 'krakenChecksum', E2E_VENUE_PACKAGES[2]),
    numberUnits: fn(kraken!, 'numberUnits', E2E_VENUE_PACKAGES[2]),
  };
  const binanceInstrument = (makeBinance() as HarnessInside).instrument;
  if (!binanceInstrument) throw new Error(`${E2E_VENUE_PACKAGES[0]}: frame harness without an instrument`);
  const krakenSym = (makeKraken() as HarnessInside).sym;
  if (!krakenSym) throw new Error(`${E2E_VENUE_PACKAGES[2]}: frame harness without its symbol state`);
  const intake = (exchange: string, instrument: Instrument, make: () => unknown, frames: (n: number, seed: number) => string[]): E2EVenueIntake => ({
    exchange,
    instrument,
    frames,
    open: (sink) => openHarness(make, sink),
  });
  return [
    intake('binance', binanceInstrument, makeBinance, (n, seed) => binanceFrames(n, seed, { combined: true })),
    intake('coinbase', fn<() => Instrument>(coinbase!, 'coinbaseHarnessInstrument', E2E_VENUE_PACKAGES[1])(), makeCoinbase, (n, seed) => coinbaseFrames(n, seed)),
    intake('kraken', fn<() => { instrument: Instrument }>(kraken!, 'krakenHarnessInstrument', E2E_VENUE_PACKAGES[2])().instrument, makeKraken, (n, seed) => krakenFrames(n, seed, krakenSym.precision, krakenSym.scales, krakenTools)),
    intake('bybit-spot', fn<() => Instrument>(bybit!, 'bybitHarnessInstrument', E2E_VENUE_PACKAGES[3])(), makeBybit, (n, seed) => bybitFrames(n, seed)),
  ];
}
