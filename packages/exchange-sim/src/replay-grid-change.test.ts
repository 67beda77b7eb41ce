/**
 * Several recordings of one pair whose headers give it different grids (the venue changed the
 * tick between two runs: docs/venues.md, "A pair whose grid changes") are refused as a whole,
 * naming both files and grids. Each file's records are in its own header's ticks and lots, and a
 * replay has one instrument per pair: day 2's 60000.1 (tick 0.1) was read in day 1's 0.01 ticks
 * as 6000.01, a 90% crash, with a clean integrity report.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, ticksToPrice } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { MultiExchangeRecordingError, RecordingGridChangeError, ReplaySource } from './replay.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-grid-'));
const T1 = 1_700_000_000_000;
const T2 = T1 + 86_400_000;

interface Grid {
  tickSize: string;
  lotSize?: string;
  minNotional?: string;
  exchange?: string;
}

function day(name: string, t: number, g: Grid, bidTicks: number): string {
  const exchange = g.exchange ?? 'binance';
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: g.tickSize, lotSize: g.lotSize ?? '0.00001', minNotional: g.minNotional ?? '5' }] };
  const records = [
    { type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts: t, recvTs: t, seq: 1, reason: 'initial', bids: [{ price: bidTicks, qty: 300 }], asks: [{ price: bidTicks + 1, qty: 100 }] },
    { type: 'trade', exchange, symbol: 'BTCUSDT', ts: t + 20, recvTs: t + 20, tradeId: `${name}-1`, price: bidTicks + 1, qty: 20, side: 'buy' },
  ];
  const f = join(dir, `${name}.jsonl`);
  writeFileSync(f, [header, ...records].map((r) => JSON.stringify(r)).join('\n') + '\n');
  return f;
}

describe('replay of recordings whose headers disagree on a pair\'s grid', () => {
  it('refuses a tick that changed between the files, naming both files and grids, before any record is replayed', () => {
    // day 1: tick 0.01, bid 60000.00 = 6,000,000 ticks; day 2: tick 0.1, bid 60000.0 = 600,000 ticks
    const src = new ReplaySource({ files: [day('day1', T1, { tickSize: '0.01' }, 6_000_000), day('day2', T2, { tickSize: '0.1' }, 600_000)] });
    expect(() => src.instruments()).toThrow(RecordingGridChangeError);
    expect(() => src.instruments()).toThrow(/BTCUSDT has another grid in day2\.jsonl \(tick 0\.1, lot 0\.00001, min notional 5\) than in day1\.jsonl \(tick 0\.01, lot 0\.00001, min notional 5\).*replay the recordings on each side of the change separately/);
    expect(() => src.next()).toThrow(RecordingGridChangeError);
    expect(src.delivered).toBe(0);
  });

  it('refuses a changed lot size or min notional as well', () => {
    expect(() => new ReplaySource({ files: [day('lot1', T1, { tickSize: '0.01' }, 6_000_000), day('lot2', T2, { tickSize: '0.01', lotSize: '0.0001' }, 6_000_000)] }).instruments()).toThrow(/lot 0\.0001,/);
    expect(() => new ReplaySource({ files: [day('mn1', T1, { tickSize: '0.01' }, 6_000_000), day('mn2', T2, { tickSize: '0.01', minNotional: '10' }, 6_000_000)] }).instruments()).toThrow(/min notional 10\)/);
  });

  it('the simulated venue refuses it when it loads the instruments, as the engine starts', () => {
    const files = [day('v1', T1, { tickSize: '0.01' }, 6_000_000), day('v2', T2, { tickSize: '0.1' }, 600_000)];
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: files, drive: 'manual' }) });
    expect(() => venue.loadInstruments([])).toThrow(RecordingGridChangeError);
  });

  it('replays files whose grids are the same number written differently ("0.010" is "0.01"), each price in its grid', () => {
    const src = new ReplaySource({ files: [day('same1', T1, { tickSize: '0.01', minNotional: '5.0' }, 6_000_000), day('same2', T2, { tickSize: '0.010', minNotional: '5' }, 6_000_010)] });
    const inst = src.instrument('BTCUSDT')!;
    const prices: string[] = [];
    for (const e of src) if (e.type === 'trade') prices.push(ticksToPrice(inst, e.price));
    expect(prices).toEqual(['60000.01', '60000.11']);
    expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('a pair of the same name on another exchange is refused as a multi-exchange recording, not as a grid change', () => {
    const src = new ReplaySource({ files: [day('bn', T1, { tickSize: '0.01' }, 6_000_000), day('by', T2, { tickSize: '0.1', exchange: 'bybit' }, 600_000)] });
    expect(() => src.instruments()).toThrow(MultiExchangeRecordingError);
  });
});
