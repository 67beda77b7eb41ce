/**
 * A replay is of one venue: a recording of several exchanges (the engine's `run --record` writes
 * every venue into one file; tardis files of two exchanges) is refused at start with a clear
 * error, as the CLI's `replay` refuses it, instead of renaming every event to the simulated venue
 * and merging both venues' books of a symbol into one (each read in the first venue's lots).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { ReplaySource, type ReplayItem } from './replay.js';
import { SimVenue } from './venue.js';

const T = 1_700_000_000_000;
const dir = mkdtempSync(join(tmpdir(), 'cwts-sim-multi-'));
const REFUSED = /holds 2 exchanges \(binance, bybit\); replay of multi-exchange recordings is not supported yet: record one venue per file/;

const spec = (exchange: string, lotSize: string) => ({ exchange, symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize, minNotional: '5' });
const snapshot = (exchange: string, ts: number, qty: number) => ({ type: 'book_snapshot', exchange, symbol: 'BTCUSDT', ts, recvTs: ts, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty }], asks: [{ price: 6_000_000, qty }] });
const trade = (exchange: string, ts: number, tradeId: string) => ({ type: 'trade', exchange, symbol: 'BTCUSDT', ts, recvTs: ts, tradeId, price: 6_000_000, qty: 1, side: 'buy' });

function jsonl(name: string, lines: unknown[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return f;
}
function csv(name: string, lines: string[]): string {
  const f = join(dir, name);
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const TRADES = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const t0us = T * 1000;
const tardisTrade = (exchange: string, k: number) => `${exchange},BTCUSDT,${t0us + k * 1000},${t0us + k * 1000 + 100},t${k},buy,60000.1,0.002`;

function venueOf(files: string | string[], extra: Record<string, unknown> = {}): SimVenue {
  return new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: files, drive: 'manual', latency_ms: 5, ...extra }), symbols: ['BTCUSDT'] });
}
const quietSink: MarketEventSink = { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: () => {} };

describe('replay: a recording of more than one exchange', () => {
  it('whose header declares two exchanges is refused at loadInstruments and at start, before any order can fill', () => {
    const file = jsonl('two-venues.jsonl', [
      { kind: 'cwts-recording', version: 1, instruments: [spec('binance', '0.00001'), spec('bybit', '0.000001')] },
      snapshot('binance', T, 100),
      // bybit's 1000 lots are 0.001 BTC; read in binance's lots they would be 0.01 BTC
      snapshot('bybit', T + 1, 1000),
      trade('binance', T + 10, 'a'),
    ]);
    expect(() => venueOf(file).loadInstruments([])).toThrow(REFUSED);
    const venue = venueOf(file);
    const reports: ExecutionReport[] = [];
    void venue.execution.start((r) => reports.push(r));
    expect(() => venue.start([], quietSink)).toThrow(REFUSED);
    expect(venue.activeTimers()).toBe(0);
    expect(reports).toEqual([]);
  });

  it('made of files of different exchanges (each with its own header) is refused', () => {
    const a = jsonl('only-binance.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [spec('binance', '0.00001')] }, snapshot('binance', T, 100)]);
    const b = jsonl('only-bybit.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [spec('bybit', '0.000001')] }, snapshot('bybit', T, 1000)]);
    expect(() => venueOf(a).loadInstruments([])).not.toThrow();
    expect(() => venueOf([a, b]).loadInstruments([])).toThrow(REFUSED);
    // the timer-driven start reads the headers too
    expect(() => venueOf([a, b], { drive: 'timers', replay_speed: 0 }).start([], quietSink)).toThrow(REFUSED);
  });

  it('rows (no header; tardis) are not headers: the exchange most of the first rows name is the recording\'s, a row naming another is skipped and counted, never merged', () => {
    // one damaged cell must not refuse a whole file; another venue's rows are reported as damage
    const file = jsonl('headerless.jsonl', [snapshot('binance', T, 100), snapshot('bybit', T + 1, 1000), trade('binance', T + 10, 'a')]);
    const src = new ReplaySource({ files: [file] });
    src.instruments();
    expect([...src].map((i) => `${i.exchange}:${i.type}`)).toEqual(['binance:book_snapshot', 'binance:trade']);
    expect(src.integrity()).toMatchObject({ skipped: 1 });
    // the first row is not what decides: the damaged one comes first here
    const mixed = csv('mixed.csv', [TRADES, tardisTrade('bin@nce', 1), tardisTrade('binance', 2), tardisTrade('binance', 3)]);
    const t = new ReplaySource({ files: [mixed] });
    t.instruments();
    expect([...t].map((i) => (i.type === 'trade' ? i.tradeId : ''))).toEqual(['t2', 't3']);
    expect(t.integrity()).toMatchObject({ skipped: 1 });
    // across files too: the other file's rows are skipped, not merged into the first's book
    const a = csv('a-binance.csv', [TRADES, tardisTrade('binance', 1), tardisTrade('binance', 4)]);
    const b = csv('b-bybit.csv', [TRADES, tardisTrade('bybit', 2)]);
    const ab = new ReplaySource({ files: [a, b] });
    ab.instruments();
    expect([...ab].map((i) => i.exchange)).toEqual(['binance', 'binance']);
    expect(ab.integrity()).toMatchObject({ skipped: 1 });
  });

  it('a record of a second exchange past the rows read at the start is not replayed into the first one\'s book: skipped and reported', () => {
    const f = csv('late-second.csv', [TRADES, tardisTrade('binance', 1), tardisTrade('binance', 2), tardisTrade('bybit', 3), tardisTrade('binance', 4)]);
    const errors: string[] = [];
    const src = new ReplaySource({ files: [f], inferRows: 2, onError: (_c, m) => errors.push(m) });
    expect(src.instruments().map((i) => i.exchange)).toEqual(['binance']);
    const items: ReplayItem[] = [...src];
    expect(items.map((i) => [i.exchange, i.type === 'trade' ? i.tradeId : ''])).toEqual([
      ['binance', 't1'],
      ['binance', 't2'],
      ['binance', 't4'],
    ]);
    expect(src.integrity()).toEqual({ malformed: 0, skipped: 1, outOfOrder: 0, truncated: 0 });
    expect(errors).toEqual(['line 4: trade of exchange "bybit" in a recording of binance: multi-exchange recordings are not replayed']);
  });

  it('a recording of one exchange replays as before', () => {
    const file = jsonl('one-venue.jsonl', [{ kind: 'cwts-recording', version: 1, instruments: [spec('binance', '0.00001')] }, snapshot('binance', T, 100), trade('binance', T + 10, 'a')]);
    const venue = venueOf(file);
    const seen: string[] = [];
    venue.start([], { ...quietSink, onMarketEvent: (e) => seen.push(`${e.exchange}:${e.type}`) });
    venue.runToEnd();
    expect(seen).toEqual(['sim:book_snapshot', 'sim:trade']);
    expect(venue.replay?.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });
});
