import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import type { MarketEventSink } from '../contracts/exchange.js';
import type { FeedStatusEvent } from '../domain/events.js';
import { IntakeObserver, IntakeScriptSteps } from '../testing/intake-parity.js';
import { playScriptSteps, scriptIntakeClient, type IntakeScriptStep } from './script-intake.js';

/** Records what the player did, in order. */
function recorder() {
  const seen: string[] = [];
  const sink = {
    onMarketEvent: () => seen.push('event'),
    onFeedStatus: (s: FeedStatusEvent) => seen.push(`status ${s.state} "${s.reason}" at ${s.ts}`),
    onFeedReject: () => seen.push('reject'),
    onFeedError: (c: string, m: string) => seen.push(`error ${c}: ${m}`),
    onEndOfStream: (ex: string) => seen.push(`end ${ex}`),
  } as unknown as MarketEventSink;
  const feed = { onFrame: (t: string) => seen.push(`frame ${t}`), onBinaryFrame: (n: number) => seen.push(`binary ${n}`) };
  return { seen, sink, feed };
}

describe('playScriptSteps', () => {
  it('opens, plays frames in order, and on a reconnect drops, reports the venue disconnected and opens again; venue steps go to other()', () => {
    const r = recorder();
    const built = new IntakeScriptSteps().raw('a').binary(3).reconnect('reset by peer').raw('b').steps;
    const steps: (IntakeScriptStep | { snapshot: string })[] = [...built.slice(0, 2), { snapshot: 'BTC' }, ...built.slice(2)];
    playScriptSteps<{ snapshot: string }>({
      exchange: 'v', steps, feed: r.feed, sink: r.sink, clock: new ManualClock(42),
      connection: { open: (why) => r.seen.push(`open ${why}`), drop: () => r.seen.push('drop'), other: (s) => r.seen.push(`other ${s.snapshot}`) },
    });
    expect(r.seen).toEqual([
      'open initial', 'frame a', 'binary 3', 'other BTC',
      'drop', 'status disconnected "disconnected: reset by peer; reconnecting" at 42', 'open reconnect after reset by peer',
      'frame b',
    ]);
  });
});

describe('scriptIntakeClient', () => {
  it('plays the script into the sink after start (not during it), then ends the stream; stop before the turn plays nothing', async () => {
    const script = { exchange: 'v', instruments: [], nowMs: 0 };
    const got = new IntakeObserver('v', ['A']);
    const play = (sink: MarketEventSink) => {
      sink.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'A', state: 'disconnected', reason: 'test', ts: 1 });
      sink.onFeedError('script', 'played');
    };
    const client = scriptIntakeClient(script, play);
    expect(client.exchange).toBe('v');
    expect(await client.loadInstruments([])).toEqual([]);
    await client.start(['A'], got);
    expect(got.calls).toEqual([]);
    await new Promise((res) => setTimeout(res, 5));
    expect(got.statuses()).toEqual(['A:disconnected']);
    expect(got.calls.slice(1)).toEqual([{ error: ['script', 'played'] }, { end: 'v' }]);
    expect(got.ended).toBe(true);
    expect(got.rejections()).toEqual([]);

    const stopped = new IntakeObserver('v', ['A']);
    const early = scriptIntakeClient(script, play);
    await early.start(['A'], stopped);
    await early.stop();
    await new Promise((res) => setTimeout(res, 5));
    expect(stopped.calls).toEqual([]);
  });
});
