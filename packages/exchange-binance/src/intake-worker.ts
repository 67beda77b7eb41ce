/**
 * Binance's intake on a worker thread (`[performance] intake = "worker"`, core's intake/):
 * `createBinanceIntake` builds BinanceMarketData there (socket, parsing, depth sync, REST
 * snapshots); `createBinanceScriptIntake` plays a script of frames and snapshot bodies through
 * the same BinanceFeed with no I/O (tests compare it with the inline path; the e2e bench
 * paces it). Loaded by module path; nothing runs on import.
 */
import type { MarketDataClient, MarketEventSink } from '@cwts/core';
import { ManualClock } from '@cwts/core';
import { playScriptSteps, scriptIntakeClient, type IntakeScriptBase, type IntakeScriptStep, type IntakeWorkerEnv } from '@cwts/core/intake';
import { BinanceFeed } from './feed.js';
import { BinanceMarketData, type BinanceIntakeArgs } from './market-data.js';

export function createBinanceIntake(args: unknown, env: IntakeWorkerEnv): MarketDataClient {
  const a = args as BinanceIntakeArgs;
  return new BinanceMarketData({
    exchange: a.exchange, endpoints: a.endpoints, options: a.options, clock: env.clock, logger: env.logger, instruments: a.instruments,
    // A ban outlives the worker that was given it: this thread's limiter starts blocked, and a ban it is given reaches the engine thread.
    blockedUntilMs: Math.max(a.blockedUntilMs ?? 0, env.resume?.blockedUntilMs ?? 0),
    ...(env.venueBlocked ? { onVenueBlocked: env.venueBlocked } : {}),
  });
}

/**
 * One step of a script: a text frame, a binary frame of n bytes, a REST snapshot body for a
 * symbol, or the connection dropping and coming back (every book resyncs).
 */
export type BinanceScriptStep = IntakeScriptStep | { snapshot: { symbol: string; body: unknown } };

export interface BinanceScript extends IntakeScriptBase {
  futures?: boolean;
  steps: BinanceScriptStep[];
}

/**
 * Plays a script into a fresh BinanceFeed emitting to `sink`. A snapshot step is handed over only
 * when its symbol has asked for one (as the REST client would); otherwise it is skipped.
 * Returns the feed.
 */
export function playBinanceScript(script: BinanceScript, sink: MarketEventSink): BinanceFeed {
  const clock = new ManualClock(script.nowMs);
  const asked = new Set<string>();
  const feed = new BinanceFeed({
    exchange: script.exchange,
    instruments: script.instruments,
    futures: script.futures,
    sink: () => sink,
    now: () => clock.now(),
    requestSnapshot: (s) => asked.add(s.symbol),
  });
  playScriptSteps<{ snapshot: { symbol: string; body: unknown } }>({
    exchange: script.exchange, steps: script.steps, feed, sink, clock,
    connection: {
      // The connection opens: every book starts its sync (BinanceMarketData.onOpen).
      open: (why) => {
        for (const s of feed.symbols) s.sync.begin(why);
      },
      drop: () => {
        asked.clear();
        for (const s of feed.symbols) s.sync.suspend();
      },
      other: (step) => {
        const s = feed.symbol(step.snapshot.symbol);
        if (s && asked.delete(s.symbol)) feed.onSnapshotBody(s, step.snapshot.body);
      },
    },
  });
  return feed;
}

/** Worker factory: plays `args` (a BinanceScript) after start, then ends the stream (or fails as `after` says). */
export function createBinanceScriptIntake(args: unknown): MarketDataClient {
  const script = args as BinanceScript;
  return scriptIntakeClient(script, (sink) => playBinanceScript(script, sink));
}
