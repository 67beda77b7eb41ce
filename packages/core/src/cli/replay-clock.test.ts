/**
 * The replay's engine clock runs on the recorded receive times (`recvTs`), as the live engine's
 * clock did: what reads `now` (a signal's age, cooldowns, risk windows) judges the replay as it
 * judged the live run. The reference app's follower skips signals older than `max_signal_age_ms`
 * (`ctx.now - signal.ts`); a whale that reached the live engine 3 s after it printed was 3 s old
 * there and was followed in the replay of that very recording when its clock ran on venue time.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { EXIT_RECORDING_DAMAGED, replayClockTime, replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-clock-'));
const T = 1_700_000_000_000;
const DAY = 86_400_000;
const strategyPlugin = resolve(__dirname, '../../../../examples/reference-app/dist/strategy/index.js');

const config = simConfig('replay-clock', `[detectors.whale]
enabled = true
warmup_trades = 20
bursts = false
walls = false
[strategy]
plugin = ${JSON.stringify(strategyPlugin)}
order_notional = 1000
max_signal_age_ms = 2000
`);

/**
 * 40 ordinary trades, then a whale of 5 BTC bought at the ask; every event reached the engine
 * `lagMs` after its venue time, except that trade number `corruptTrade` has a receive time a day
 * later (one corrupted digit).
 */
function recording(name: string, lagMs: number, corruptTrade?: number): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
  const ev: unknown[] = [
    { type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: T, recvTs: T + lagMs, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 1_000_000 }], asks: [{ price: 6_000_000, qty: 1_000_000 }] },
    { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T + lagMs },
  ];
  for (let i = 1; i <= 40; i++) {
    ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + i * 100, recvTs: T + i * 100 + lagMs + (i === corruptTrade ? DAY : 0), tradeId: `n${i}`, price: 6_000_000, qty: 3_000 + (i % 7) * 100, side: i % 2 ? 'buy' : 'sell' });
  }
  ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_100, recvTs: T + 4_100 + lagMs, tradeId: 'whale', price: 6_000_000, qty: 500_000, side: 'buy' });
  ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_200, recvTs: T + 4_200 + lagMs, tradeId: 'after', price: 6_000_000, qty: 3_000, side: 'buy' });
  const file = join(dir, name);
  writeFileSync(file, [header, ...ev].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

async function replayWithCode(name: string, lagMs: number, corruptTrade?: number) {
  const cfg = join(dir, 'c.toml');
  writeFileSync(cfg, config);
  const out: string[] = [];
  const code = await replayCommand({ config: cfg, data: recording(name, lagMs, corruptTrade), json: true, err: () => {} }, (l) => out.push(l));
  return { code, s: JSON.parse(out[0]!) as { signals: number; orders: number; fills: number; malformed: number; outOfOrder: number; truncated: number } };
}

async function replay(name: string, lagMs: number) {
  const { code, s } = await replayWithCode(name, lagMs);
  expect(code).toBe(0);
  return s;
}

describe('replay: the engine clock follows the recorded receive times', () => {
  it('a whale that reached the engine 3 s after it printed (older than max_signal_age_ms live) is not followed in the replay either', async () => {
    const s = await replay('late.jsonl', 3_000);
    expect(s.signals).toBeGreaterThanOrEqual(1); // the whale was detected
    expect(s.orders).toBe(0); // live, the engine's clock read recvTs at the whale: age 3000 ms > 2000 ms
  }, 120_000);

  it('the same whale received 500 ms after it printed is followed', async () => {
    const s = await replay('prompt.jsonl', 500);
    expect(s.signals).toBeGreaterThanOrEqual(1);
    expect([s.orders, s.fills]).toEqual([1, 1]);
  }, 120_000);

  it('one trade whose receive time is a day ahead does not move the engine clock a day on (the whale is still followed), and the recording is reported damaged', async () => {
    const bad = await replayWithCode('bad-recvts.jsonl', 500, 5);
    // the clock moved a day on and never came back: the whale was "a day old", nothing was sent, and the counts said clean
    expect([bad.s.orders, bad.s.fills]).toEqual([1, 1]);
    expect([bad.code, bad.s.outOfOrder, bad.s.malformed, bad.s.truncated]).toEqual([EXIT_RECORDING_DAMAGED, 1, 0, 0]);
  }, 120_000);

  it('takes the receive time, the venue time only for an event recorded without one', () => {
    expect(replayClockTime({ ts: T, recvTs: T + 3_000 })).toBe(T + 3_000);
    expect(replayClockTime({ ts: T, recvTs: T - 5 })).toBe(T - 5); // a venue clock ahead of the host's
    expect(replayClockTime({ ts: T, recvTs: 0 })).toBe(T);
  });
});
