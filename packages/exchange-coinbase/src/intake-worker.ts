/**
 * Coinbase's intake on a worker thread (`[performance] intake = "worker"`, core's intake/):
 * `createCoinbaseIntake` builds CoinbaseMarketData there (socket, heartbeats, the connection-wide
 * sequence check, level2 resubscribes, subscribes signed with the CDP key when one is set);
 * `createCoinbaseScriptIntake` plays a script of frames through the same CoinbaseFeed with no
 * I/O (tests compare it with the inline path; the e2e bench can pace it). Loaded by module
 * path; nothing runs on import.
 */
import type { MarketDataClient, MarketEventSink } from '@cwts/core';
import { ManualClock } from '@cwts/core';
import { playScriptSteps, scriptIntakeClient, type IntakeScriptBase, type IntakeScriptStep, type IntakeWorkerEnv } from '@cwts/core/intake';
import { CoinbaseFeed, type CoinbaseFeedOptions } from './feed.js';
import { CoinbaseMarketData, type CoinbaseIntakeArgs } from './market-data.js';

export function createCoinbaseIntake(args: unknown, env: IntakeWorkerEnv): MarketDataClient {
  const a = args as CoinbaseIntakeArgs;
  return new CoinbaseMarketData({
    exchange: a.exchange, endpoints: a.endpoints, options: a.options, clock: env.clock, logger: env.logger, instruments: a.instruments,
    ...(a.credentials ? { credentials: a.credentials } : {}),
    // the worker this one replaces: its last trades, so the first market_trades snapshot backfills what printed meanwhile
    ...(env.resume ? { resumeTrades: env.resume.trades } : {}),
  });
}

/**
 * One step of a script: a text frame, a binary frame of n bytes, or the connection dropping and
 * coming back (sequence_num starts again, every book resyncs from the level2 snapshot the
 * resubscribe brings: the script's next snapshot frame).
 */
export type CoinbaseScriptStep = IntakeScriptStep;

export interface CoinbaseScript extends IntakeScriptBase {
  steps: CoinbaseScriptStep[];
}

/**
 * Plays a script into a fresh CoinbaseFeed emitting to `sink`, as CoinbaseMarketData's connection
 * would (`resumeTrades`: the trades taken before it, as a replacement worker gets them); returns the feed.
 */
export function playCoinbaseScript(script: CoinbaseScript, sink: MarketEventSink, resumeTrades?: CoinbaseFeedOptions['resumeTrades']): CoinbaseFeed {
  const clock = new ManualClock(script.nowMs);
  const feed = new CoinbaseFeed({
    exchange: script.exchange,
    instruments: script.instruments,
    sink: () => sink,
    now: () => clock.now(),
    // the venue answers a level2 (re)subscribe with a snapshot: here, the script's next snapshot frame
    requestSnapshot: () => {},
    onSequenceGap: () => {},
    resumeTrades,
  });
  playScriptSteps({
    exchange: script.exchange, steps: script.steps, feed, sink, clock,
    connection: {
      open: (why) => {
        feed.connectionOpened();
        for (const p of feed.products) p.sync.begin(why);
      },
      drop: () => {
        for (const p of feed.products) p.sync.suspend();
      },
    },
  });
  return feed;
}

/** Worker factory: plays `args` (a CoinbaseScript) after start, then ends the stream (or fails as `after` says). */
export function createCoinbaseScriptIntake(args: unknown, env?: IntakeWorkerEnv): MarketDataClient {
  const script = args as CoinbaseScript;
  return scriptIntakeClient(script, (sink) => playCoinbaseScript(script, sink, env?.resume?.trades));
}
