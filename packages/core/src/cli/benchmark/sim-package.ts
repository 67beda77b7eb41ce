/**
 * @cwts/exchange-sim (the embedded default venue) for the rows that need its market generator or
 * its paper execution. Core cannot import it (it depends on core): it is looked up like a
 * plugin, from the working directory, then core's own install location.
 */
import type { Instrument } from '../../domain/instrument.js';
import type { MarketEvent } from '../../domain/events.js';
import { locatePlugin } from '../../plugins/resolve.js';

export const SIM_PACKAGE = '@cwts/exchange-sim';

/** What the rows use of the sim package (typed here; checked at load). */
export interface SimPackage {
  resolveSimOptions(options: unknown): unknown;
  SyntheticMarket: new (cfg: { exchange: string; symbols: string[]; options: unknown; startTs: number }) => {
    attach(emit: (ev: { type: string }) => void): void;
    generate(untilTs: number): number;
    instruments(): Instrument[];
  };
  SimVenue: new (cfg: { exchange: string; clock: unknown; options: unknown; symbols?: readonly string[] }) => SimVenueLike;
}

export interface SimVenueLike {
  marketData: unknown;
  execution: unknown;
  paper: { processDue(until: number): number; setReportHandler(h: ((r: never) => void) | undefined): void };
  advanceTo(untilTs: number, maxSteps?: number): number;
}

let cached: Promise<SimPackage> | undefined;

export function loadSimPackage(baseDir: string): Promise<SimPackage> {
  cached ??= (async () => {
    const where = locatePlugin(SIM_PACKAGE, baseDir);
    if (!('url' in where)) throw new Error(`${SIM_PACKAGE} is not installed (looked in ${where.searched.join(', ')})`);
    const mod = (await import(where.url)) as Partial<SimPackage>;
    for (const k of ['resolveSimOptions', 'SyntheticMarket', 'SimVenue'] as const) {
      if (typeof mod[k] !== 'function') throw new Error(`${SIM_PACKAGE} has no export ${k} (an older version?)`);
    }
    return mod as SimPackage;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/**
 * At least `n` market events of the synthetic venue (2 symbols; whales and cascades injected),
 * deterministic. `options` are the venue's `[<venue>.options]` (snake_case), over seed 3 and
 * 2,000 steps per second.
 */
export async function simEvents(baseDir: string, n: number, options: Readonly<Record<string, unknown>> = {}): Promise<{ events: MarketEvent[]; instruments: Instrument[] }> {
  const sim = await loadSimPackage(baseDir);
  const start = 1_700_000_000_000;
  const m = new sim.SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: sim.resolveSimOptions({ seed: 3, events_per_second: 2000, ...options }), startTs: start });
  const events: MarketEvent[] = [];
  m.attach((ev) => {
    if (ev.type !== 'feed_status') events.push(ev as MarketEvent);
  });
  let until = start;
  while (events.length < n) {
    until += 5_000;
    m.generate(until);
  }
  events.length = n;
  return { events, instruments: m.instruments() };
}
