/**
 * The replay's simulated venue fills at the config's latency and fees for the recorded exchange:
 * a sim table's own `[<venue>.options]`, else `[paper]` (what `run` in paper mode charges on a
 * real venue). It used only the sim's built-in 5 ms and 2 / 5 bps, so a replay judged the
 * strategy on fees the deployment never pays.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/index.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { replayCommand } from './replay.js';
import { replayVenue } from './replay-venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-config-fees-'));
const T = 1_700_000_000_000;
const strategyPlugin = resolve(__dirname, '../../../../examples/reference-app/dist/strategy/index.js');

/** A whale the reference strategy follows with a taker order; `feedBreak`: the feed resyncs 1 ms after it. */
function recording(exchange: string, feedBreak = false): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
  const book = (ts: number, seq: number, reason: string) => ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts, recvTs: ts, seq, reason, bids: [{ price: 5_999_900, qty: 1_000_000 }], asks: [{ price: 6_000_000, qty: 1_000_000 }] });
  const ev: unknown[] = [book(T, 1, 'initial'), { type: 'feed_status', exchange, symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T }];
  for (let i = 1; i <= 40; i++) ev.push({ type: 'trade', exchange, symbol: 'BTCUSDT', ts: T + i * 100, recvTs: T + i * 100, tradeId: `n${i}`, price: 6_000_000, qty: 3_000 + (i % 7) * 100, side: i % 2 ? 'buy' : 'sell' });
  ev.push({ type: 'trade', exchange, symbol: 'BTCUSDT', ts: T + 4_100, recvTs: T + 4_100, tradeId: 'whale', price: 6_000_000, qty: 500_000, side: 'buy' });
  if (feedBreak) {
    ev.push({ type: 'feed_status', exchange, symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence_gap', ts: T + 4_101 });
    ev.push(book(T + 4_500, 50, 'resync'), { type: 'feed_status', exchange, symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T + 4_500 });
  }
  for (let i = 1; i <= 5; i++) ev.push({ type: 'trade', exchange, symbol: 'BTCUSDT', ts: T + 4_600 + i * 100, recvTs: T + 4_600 + i * 100, tradeId: `a${i}`, price: 6_000_000, qty: 3_000, side: 'buy' });
  const file = join(dir, `${exchange}${feedBreak ? '-break' : ''}.jsonl`);
  writeFileSync(file, [header, ...ev].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

function config(extra: string): string {
  const cfg = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(cfg, simConfig('replay-config-fees', `[detectors.whale]
enabled = true
warmup_trades = 20
bursts = false
walls = false
[strategy]
plugin = ${JSON.stringify(strategyPlugin)}
order_notional = 1000
${extra}`));
  return cfg;
}

interface Replayed {
  fills: number;
  fees: string;
  turnover: string;
  venueRejectReasons: Record<string, number>;
}

async function replay(exchange: string, extra: string, feedBreak = false): Promise<Replayed> {
  const out: string[] = [];
  const code = await replayCommand({ config: config(extra), data: recording(exchange, feedBreak), json: true, err: () => {} }, (l) => out.push(l));
  expect(code).toBe(0);
  const s = JSON.parse(out[0]!);
  return { fills: s.fills, fees: s.fees, turnover: s.stats.turnover, venueRejectReasons: s.venueRejectReasons };
}

/** Fees at `bps` on the turnover, each fill's fee rounded up to an atom (feeAtoms): within 1e-9 per fill. */
function expectFeesAt(r: Replayed, bps: number): void {
  expect(r.fills).toBeGreaterThan(0);
  expect(Math.abs(Number(r.fees) - (Number(r.turnover) * bps) / 10_000)).toBeLessThan(1e-9 * r.fills);
}

describe('replay fills at the config\'s fees and latency', () => {
  it('[sim.options] maker/taker_fee_bps are what a replayed sim fill is charged', async () => {
    const r = await replay('sim', '[sim.options]\ntaker_fee_bps = 20\nmaker_fee_bps = 20\n');
    expectFeesAt(r, 20);
    // The sim's built-in 2 / 5 bps is what a config without them gets, as `run` would.
    expectFeesAt(await replay('sim', '[sim.options]\ntaker_fee_bps = 5\nmaker_fee_bps = 5\n'), 5);
    expect(await replay('sim', '')).toEqual(await replay('sim', '[sim.options]\ntaker_fee_bps = 5\nmaker_fee_bps = 2\n'));
  }, 120_000);

  it('a recording of a non-sim venue is charged [paper] fees, as `run` in paper mode charges it', async () => {
    // [paper] defaults: 2 maker / 10 taker; the strategy's follower is a taker.
    expectFeesAt(await replay('binance', ''), 10);
    const paper = await replay('binance', '[paper]\ntaker_fee_bps = 20\nmaker_fee_bps = 20\n');
    expectFeesAt(paper, 20);
    // The same fill on a sim configured alike costs the same, to the atom.
    expect(paper).toEqual(await replay('sim', '[sim.options]\ntaker_fee_bps = 20\nmaker_fee_bps = 20\n'));
    // A fractional rate goes through as the same decimal text paper mode uses.
    expectFeesAt(await replay('binance', '[paper]\ntaker_fee_bps = 7.5\nmaker_fee_bps = 7.5\n'), 7.5);
  }, 120_000);

  it('[paper] latency_ms is the replayed order\'s latency on a non-sim venue', async () => {
    // The feed breaks 1 ms after the whale: at the default 5 ms the order arrives to an unsynced
    // book and is rejected; at 0 ms it is filled before the break.
    expect((await replay('binance', '', true)).venueRejectReasons).toEqual({ BOOK_NOT_SYNCED: 1 });
    const fast = await replay('binance', '[paper]\nlatency_ms = 0\n', true);
    expect(fast.venueRejectReasons).toEqual({});
    expect(fast.fills).toBeGreaterThan(0);
  }, 120_000);

  it('builds the venue from the sim table\'s latency and fee keys, or [paper], with the replay keys last', () => {
    const cfg = config('[sim.options]\nlatency_ms = 0\ntaker_fee_bps = 20\nseed = 7\nreplay_file = "other.jsonl"\n[paper]\nlatency_ms = 40\nmaker_fee_bps = -0.5\ntaker_fee_bps = 12.25\n');
    const loaded = loadConfigFile(cfg).config;
    const instruments = [{ exchange: 'sim', symbol: 'BTCUSDT' }, { exchange: 'binance', symbol: 'ETHUSDT' }] as Parameters<typeof replayVenue>[2];
    const sim = replayVenue(loaded, 'sim', instruments, '/data/rec.jsonl');
    expect(sim.plugin).toBe('@cwts/exchange-sim');
    expect(sim.symbols).toEqual(['BTCUSDT']);
    // The sim's other keys (its generator, its own replay_file) are not the recording's.
    expect(sim.options).toEqual({ latency_ms: 0, taker_fee_bps: 20, replay_file: '/data/rec.jsonl', replay_format: 'jsonl', replay_speed: 0 });
    expect(replayVenue(loaded, 'binance', instruments, '/data/rec.jsonl').options).toEqual({
      latency_ms: 40, maker_fee_bps: '-0.5', taker_fee_bps: '12.25', replay_file: '/data/rec.jsonl', replay_format: 'jsonl', replay_speed: 0,
    });
  });
});
