/**
 * Bybit's intake on a worker thread (`[performance] intake = "worker"`, core's intake/):
 * `createBybitIntake` builds BybitMarketData there (socket, `{"op":"ping"}` heartbeat, parsing,
 * in-band snapshots and resubscribes, spot or linear with liquidations); `createBybitScriptIntake`
 * plays a script of frames through the same BybitFeed with no I/O (tests compare it with the
 * inline path; the e2e bench can pace it). Loaded by module path; nothing runs on import.
 */
import type { MarketDataClient, MarketEventSink } from '@cwts/core';
import { ManualClock } from '@cwts/core';
import { playScriptSteps, scriptIntakeClient, type IntakeScriptBase, type IntakeScriptStep, type IntakeWorkerEnv } from '@cwts/core/intake';
import { BybitFeed } from './feed.js';
import { BybitMarketData, type BybitIntakeArgs } from './market-data.js';
import { DEFAULT_BYBIT_OPTIONS } from './options.js';

export function createBybitIntake(args: unknown, env: IntakeWorkerEnv): MarketDataClient {
  const a = args as BybitIntakeArgs;
  return new BybitMarketData({ exchange: a.exchange, endpoints: a.endpoints, options: a.options, clock: env.clock, logger: env.logger, instruments: a.instruments });
}

/**
 * One step of a script: a text frame, a binary frame of n bytes, or the connection dropping and
 * coming back (every book resyncs from the snapshot its new subscription brings: the script's
 * next snapshot frame).
 */
export type BybitScriptStep = IntakeScriptStep;

export interface BybitScript extends IntakeScriptBase {
  /** The subscribed book depth (default: the options' default). */
  depth?: number;
  steps: BybitScriptStep[];
}

/** Plays a script into a fresh BybitFeed emitting to `sink`, as BybitMarketData's connection would; returns the feed. */
export function playBybitScript(script: BybitScript, sink: MarketEventSink): BybitFeed {
  const clock = new ManualClock(script.nowMs);
  const feed = new BybitFeed({
    exchange: script.exchange,
    instruments: script.instruments,
    depth: script.depth ?? DEFAULT_BYBIT_OPTIONS.depth,
    tradeIdMemory: DEFAULT_BYBIT_OPTIONS.trade_id_memory,
    sink: () => sink,
    now: () => clock.now(),
    // a resubscribe brings a snapshot: here, the script's next snapshot frame
    requestSnapshot: (s) => {
      s.awaitingSnapshot = true;
    },
  });
  playScriptSteps({
    exchange: script.exchange, steps: script.steps, feed, sink, clock,
    connection: {
      open: (why) => {
        for (const s of feed.symbols) s.awaitingSnapshot = true;
        for (const s of feed.symbols) s.sync.begin(why);
      },
      drop: () => {
        for (const s of feed.symbols) {
          s.awaitingSnapshot = false;
          s.sync.suspend();
        }
      },
    },
  });
  return feed;
}

/** Worker factory: plays `args` (a BybitScript) after start, then ends the stream (or fails as `after` says). */
export function createBybitScriptIntake(args: unknown): MarketDataClient {
  const script = args as BybitScript;
  return scriptIntakeClient(script, (sink) => playBybitScript(script, sink));
}
