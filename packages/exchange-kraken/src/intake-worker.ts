/**
 * Kraken's intake on a worker thread (`[performance] intake = "worker"`, core's intake/):
 * `createKrakenIntake` builds KrakenMarketData there (socket, parsing, CRC32 checksums with each
 * pair's precision, book resubscribes); `createKrakenScriptIntake` plays a script of frames
 * through the same KrakenFeed with no I/O (tests compare it with the inline path; the e2e bench
 * can pace it). Loaded by module path; nothing runs on import.
 */
import type { MarketDataClient, MarketEventSink } from '@cwts/core';
import { ManualClock } from '@cwts/core';
import { playScriptSteps, scriptIntakeClient, type IntakeScriptBase, type IntakeScriptStep, type IntakeWorkerEnv } from '@cwts/core/intake';
import { KrakenFeed } from './feed.js';
import type { KrakenInstrument } from './instruments.js';
import { KrakenMarketData, type KrakenIntakeArgs } from './market-data.js';

export function createKrakenIntake(args: unknown, env: IntakeWorkerEnv): MarketDataClient {
  const a = args as KrakenIntakeArgs;
  return new KrakenMarketData({ exchange: a.exchange, wsUrl: a.wsUrl, options: a.options, clock: env.clock, logger: env.logger, instruments: a.instruments });
}

/**
 * One step of a script: a text frame, a binary frame of n bytes, or the connection dropping and
 * coming back (every book resyncs from the snapshot its new subscription brings: the script's
 * next book snapshot frame).
 */
export type KrakenScriptStep = IntakeScriptStep;

export interface KrakenScript extends IntakeScriptBase {
  /** The pairs with the precision their checksums are formatted with (`instruments` lists the same pairs). */
  pairs: KrakenInstrument[];
  /** The subscribed book depth (default 10). */
  bookDepth?: number;
  steps: KrakenScriptStep[];
}

/** Plays a script into a fresh KrakenFeed emitting to `sink`, as KrakenMarketData's connection would; returns the feed. */
export function playKrakenScript(script: KrakenScript, sink: MarketEventSink): KrakenFeed {
  const clock = new ManualClock(script.nowMs);
  const feed = new KrakenFeed({
    exchange: script.exchange,
    instruments: script.pairs,
    bookDepth: script.bookDepth ?? 10,
    sink: () => sink,
    now: () => clock.now(),
    // a resubscribe brings a snapshot: here, the script's next snapshot frame
    requestSnapshot: () => {},
  });
  playScriptSteps({
    exchange: script.exchange, steps: script.steps, feed, sink, clock,
    connection: {
      open: (why) => {
        for (const s of feed.symbols) {
          s.subscribed = false;
          s.snapshotBackoff.reset();
        }
        for (const s of feed.symbols) s.sync.begin(why);
      },
      drop: () => {
        for (const s of feed.symbols) {
          s.subscribed = false;
          s.sync.suspend();
        }
      },
    },
  });
  return feed;
}

/** Worker factory: plays `args` (a KrakenScript) after start, then ends the stream (or fails as `after` says). */
export function createKrakenScriptIntake(args: unknown): MarketDataClient {
  const script = args as KrakenScript;
  return scriptIntakeClient(script, (sink) => playKrakenScript(script, sink));
}
