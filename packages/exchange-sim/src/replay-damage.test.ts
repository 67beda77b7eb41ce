import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ManualClock, type ExecutionReport, type MarketEventSink } from '@cwts/core';
import { resolveSimOptions } from './options.js';
import { MAX_BOOK_TIME_JUMP_MS, MAX_RECEIVE_LAG_MS, MAX_RECEIVE_WITNESS_WAIT } from './replay-jsonl.js';
import { ReplaySource, type ReplayItem } from './replay.js';
import { SimVenue } from './venue.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-damage-'));
const T = 1_700_000_000_000;
const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '5' }] };
const snapshot = { type: 'book_snapshot', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 100, reason: 'initial', bids: [{ price: 5_999_900, qty: 300 }], asks: [{ price: 6_000_000, qty: 100 }] };
const delta = (seq: number, ts: number) => ({ type: 'book_delta', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs: ts, firstSeq: seq, seq, bids: [], asks: [{ price: 6_000_000, qty: seq }] });
const trade = (id: string, ts: number, over: Record<string, unknown> = {}) => ({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: id, price: 6_000_000, qty: 20, side: 'buy', ...over });
const clean = [snapshot, delta(101, T + 10), trade('a', T + 20), delta(102, T + 30), trade('b', T + 40)];

function file(name: string, content: string | Buffer): string {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
}
const jsonl = (records: unknown[], extra: (lines: string[]) => string[] = (l) => l) => [JSON.stringify(header), ...extra(records.map((r) => JSON.stringify(r)))].join('\n') + '\n';

function replay(f: string | string[], opts: { symbols?: string[] } = {}) {
  const errors: string[] = [];
  const src = new ReplaySource({ files: Array.isArray(f) ? f : [f], onError: (_c, m) => errors.push(m), ...opts });
  const items: ReplayItem[] = [...src];
  return { src, items, errors };
}

describe('replay of damaged JSON-lines recordings', () => {
  it('a clean recording has no damage', () => {
    const r = replay(file('clean.jsonl', jsonl(clean)));
    expect(r.items).toHaveLength(5);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(r.errors).toEqual([]);
  });

  it('counts a non-JSON line, a binary line and a negative-price trade as malformed and replays the rest', () => {
    const text = jsonl(clean, (l) => [l[0]!, 'this is not json', l[1]!, l[2]!, JSON.stringify(trade('neg', T + 25, { price: -43_000 })), l[3]!, l[4]!]);
    const binary = Buffer.concat([Buffer.from(text.slice(0, text.indexOf('\n') + 1)), Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x22, 0x80, 0x0a]), Buffer.from(text.slice(text.indexOf('\n') + 1))]);
    const r = replay(file('damaged.jsonl', binary));
    expect(r.items.map((i) => (i as { tradeId?: string }).tradeId ?? i.type)).toEqual(['book_snapshot', 'book_delta', 'a', 'book_delta', 'b']);
    expect(r.src.integrity()).toEqual({ malformed: 3, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(r.errors).toEqual([
      'line 2: line is not valid UTF-8 (binary or damaged bytes)',
      expect.stringMatching(/^line 4: invalid JSON/),
      'line 7: trade price: must be a positive number of ticks',
    ]);
  });

  it('rejects every value a book or a trade must not carry', () => {
    const bad = [
      trade('q0', T + 21, { qty: 0 }),
      trade('qneg', T + 21, { qty: -1 }),
      trade('pfloat', T + 21, { price: 6_000_000.5 }),
      trade('side', T + 21, { side: 'up' }),
      trade('ts', T + 21, { ts: 'later' }),
      trade('huge', T + 21, { price: 2 ** 60 }),
      { ...delta(103, T + 22), bids: [{ price: 0, qty: 1 }] },
      { ...delta(103, T + 22), asks: [{ price: 6_000_000, qty: -5 }] },
      { ...delta(103, T + 22), firstSeq: 104 },
      { ...snapshot, reason: 'whatever' },
      { type: 'funding', exchange: 'binance', symbol: 'BTCUSDT', ts: T },
      [1, 2, 3],
      null,
    ];
    const r = replay(file('values.jsonl', jsonl([...clean.slice(0, 3), ...bad, ...clean.slice(3)])));
    expect(r.items).toHaveLength(5);
    expect(r.src.malformed).toBe(bad.length);
    expect(r.errors).toEqual([
      'line 5: trade qty: must be a positive number of lots',
      'line 6: trade qty: must be a positive number of lots',
      'line 7: trade price: must be an integer number of ticks',
      'line 8: trade side: Invalid option: expected one of "buy"|"sell"',
      'line 9: trade ts: must be a number (epoch ms)',
      'line 10: trade price: must be an integer number of ticks',
      'line 11: book_delta bids.0.price: must be a positive number of ticks',
      'line 12: book_delta asks.0.qty: must not be negative',
      'line 13: book_delta firstSeq: must not exceed seq',
      'line 14: book_snapshot reason: Invalid option: expected one of "initial"|"resync"',
      'line 15: unknown event type "funding"',
      'line 16: not a JSON object',
      'line 17: not a JSON object',
    ]);
  });

  it('keeps only the domain fields of a valid record', () => {
    const r = replay(file('extra.jsonl', jsonl([snapshot, { ...trade('x', T + 1), injected: { deep: true } }])));
    expect(r.items[1]).toEqual(trade('x', T + 1));
  });

  it('skips (and counts) records of an instrument the header does not declare, without calling it damage', () => {
    const r = replay(file('undeclared.jsonl', jsonl([...clean, { ...trade('eth', T + 50), symbol: 'ETHUSDT' }, { ...trade('other', T + 60), exchange: 'kraken' }])));
    expect(r.items).toHaveLength(5);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 2, outOfOrder: 0, truncated: 0 });
    expect(r.errors[0]).toBe('line 7: trade for binance:ETHUSDT, which the header does not declare');
  });

  it('counts records excluded by the venue symbols as skipped', () => {
    const r = replay(file('filtered.jsonl', jsonl(clean)), { symbols: ['ETHUSDT'] });
    expect(r.items).toHaveLength(0);
    expect(r.src.skipped).toBe(5);
  });

  it('counts a book update whose sequence goes back and a trade whose time goes back, and replays them as recorded', () => {
    const records = [snapshot, delta(101, T + 10), trade('a', T + 20), delta(103, T + 30), delta(102, T + 31), trade('b', T + 15), trade('c', T + 40), { ...snapshot, ts: T + 50, recvTs: T + 50, seq: 90, reason: 'resync' }, delta(91, T + 60)];
    const r = replay(file('order.jsonl', jsonl(records)));
    expect(r.items).toHaveLength(records.length);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 2, truncated: 0 });
    expect(r.errors).toEqual(['line 6: book_delta BTCUSDT seq 102 after 103', `line 7: trade BTCUSDT ts ${T + 15} before ${T + 20}`]);
  });

  it('counts a book delta whose time goes back, or jumps more than an hour ahead, and keeps the jump off the clock', async () => {
    const d = (seq: number, ts: number, asks: { price: number; qty: number }[]) => ({ ...delta(seq, ts), asks });
    // 102's time is corrupted (a day ahead); 105's goes back
    const f = file(
      'book-time.jsonl',
      jsonl([
        snapshot,
        delta(101, T + 10),
        delta(102, T + 86_400_000),
        delta(103, T + 30),
        trade('a', T + 40),
        // 60000.00 is gone, the next ask is 61000.00
        d(104, T + 50, [{ price: 6_000_000, qty: 0 }, { price: 6_100_000, qty: 1000 }]),
        delta(105, T + 45),
        trade('b', T + 60),
      ]),
    );
    const r = replay(f);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 2, truncated: 0 });
    expect(r.errors).toEqual([
      `line 4: book_delta BTCUSDT ts ${T + 86_400_000} is ${86_400_000 - 10} ms after ${T + 10} (bound ${MAX_BOOK_TIME_JUMP_MS}): replayed at ${T + 10}`,
      `line 8: book_delta BTCUSDT ts ${T + 45} before ${T + 50}`,
    ]);
    // replayed in file order, 102 at its stream's previous time with its levels
    expect(r.items.map((i) => [i.type, i.ts - T])).toEqual([['book_snapshot', 0], ['book_delta', 10], ['book_delta', 10], ['book_delta', 30], ['trade', 40], ['book_delta', 50], ['book_delta', 45], ['trade', 60]]);
    expect(r.items[2]).toMatchObject({ seq: 102, recvTs: T + 10, asks: [{ price: 6_000_000, qty: 102 }] });

    // A market order sent on delta 103 (venue time T+30) reaches the venue at T+35, not after the whole replay.
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: f, drive: 'manual', latency_ms: 5 }), symbols: ['BTCUSDT'] });
    venue.loadInstruments([]);
    const reports: ExecutionReport[] = [];
    await venue.execution.start((x) => reports.push(x));
    const sink = {
      onMarketEvent: (e: { type: string; seq?: number }) => {
        if (e.type === 'book_delta' && e.seq === 103) venue.execution.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'market', qty: 10, tif: 'IOC', source: 't', clientOrderId: 'm1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    } as unknown as MarketEventSink;
    venue.start([], sink);
    venue.runToEnd();
    expect(reports.filter((x) => x.kind === 'fill').map((x) => [x.lastPrice, x.ts - T])).toEqual([[6_000_000, 35]]);
    expect(venue.marketData.recordingIntegrity()).toMatchObject({ outOfOrder: 2 });
  });

  it('a book delta lost from the file (a sequence gap no snapshot resyncs) is counted; a gap the recording resyncs, or a long silence before a snapshot, is not', () => {
    const lost = replay(file('lost-delta.jsonl', jsonl([snapshot, delta(101, T + 10), /* 102 lost */ delta(103, T + 30), trade('a', T + 40), delta(104, T + 50), delta(105, T + 60)])));
    expect(lost.items).toHaveLength(6);
    expect(lost.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(lost.errors).toEqual(['line 4: book_delta BTCUSDT 103..103 after 101: updates lost, and no snapshot of BTCUSDT follows']);

    // the live engine saw the gap and resynced from a snapshot; an hour and more without updates ends in one too
    const resync = { ...snapshot, seq: 200, reason: 'resync' };
    const later = T + 2 * MAX_BOOK_TIME_JUMP_MS;
    const resynced = replay(file('gap-resynced.jsonl', jsonl([snapshot, delta(101, T + 10), delta(103, T + 30), { ...resync, ts: T + 40, recvTs: T + 40 }, delta(201, T + 50), { ...resync, seq: 300, ts: 0, recvTs: later }, delta(301, later)])));
    expect(resynced.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('a header whose instrument cannot be read is damage, not a clean replay that skips every record', () => {
    const bad = { ...header, instruments: [{ ...header.instruments[0], tickSize: '0.0x' }] };
    const r = replay(file('bad-header.jsonl', [JSON.stringify(bad), JSON.stringify(snapshot), JSON.stringify(delta(101, T + 10)), JSON.stringify(trade('a', T + 20))].join('\n') + '\n'));
    expect(r.items).toHaveLength(0);
    expect(r.src.integrity()).toEqual({ malformed: 1, skipped: 3, outOfOrder: 0, truncated: 0 });
    expect(r.errors[0]).toMatch(/^line 1: bad instrument in header: /);
  });

  it('counts a trade line repeated at the same time (same tradeId, same ts) as malformed and does not replay it', () => {
    const records = [snapshot, delta(101, T + 10), trade('a', T + 20), trade('a', T + 20), trade('a2', T + 20), trade('', T + 20), trade('', T + 20), trade('a', T + 30)];
    const r = replay(file('dup.jsonl', jsonl(records)));
    // the repeat of 'a' at T+20 is dropped; another id at that time, trades without an id, and
    // the id again at a later time are not repeats
    expect(r.items.map((i) => (i.type === 'trade' ? `${i.tradeId}@${i.ts - T}` : i.type))).toEqual(['book_snapshot', 'book_delta', 'a@20', 'a2@20', '@20', '@20', 'a@30']);
    expect(r.src.integrity()).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(r.errors).toEqual([`line 5: trade BTCUSDT tradeId "a" repeated at ts ${T + 20}: a duplicate line`]);
  });

  it('a duplicated trade line does not fill a resting paper order twice, and the recording counts as damaged', async () => {
    // one aggressive sell of 20 lots printing at 59999.00, below a resting buy at 60000.00, recorded twice
    const print = trade('x1', T + 40, { price: 5_999_900, side: 'sell' });
    const f = file('dup-venue.jsonl', jsonl([{ ...snapshot, asks: [{ price: 6_000_100, qty: 300 }] }, { ...delta(101, T + 10), asks: [{ price: 6_000_100, qty: 250 }] }, print, print]));
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: f, drive: 'manual', latency_ms: 5 }), symbols: ['BTCUSDT'] });
    venue.loadInstruments([]);
    const reports: ExecutionReport[] = [];
    await venue.execution.start((x) => reports.push(x));
    const sink = {
      onMarketEvent: (e: { type: string }) => {
        if (e.type === 'book_delta') {
          venue.execution.submit({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 6_000_000, qty: 100, tif: 'GTC', source: 't', clientOrderId: 'b1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0 });
        }
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    } as unknown as MarketEventSink;
    venue.start([], sink);
    venue.runToEnd();
    const filled = reports.filter((x) => x.kind === 'fill').reduce((a, x) => a + x.lastQty, 0);
    expect(filled).toBe(20);
    expect(venue.marketData.recordingIntegrity()).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('reports a recording cut in half as truncated and does not replay the cut record', () => {
    const full = jsonl(clean);
    const cut = full.slice(0, full.indexOf('"tradeId":"a"') + 5);
    const r = replay(file('half.jsonl', cut));
    expect(r.items.map((i) => i.type)).toEqual(['book_snapshot', 'book_delta']);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 1 });
    expect(r.errors).toEqual([expect.stringMatching(/^recording truncated: the last line has no newline \(\d+ characters cut\) \(half\.jsonl\)$/)]);
  });

  it('a cut exactly between a record and its newline is still a cut (the record may be complete, the file is not)', () => {
    const r = replay(file('nonl.jsonl', jsonl(clean).slice(0, -1)));
    expect(r.items).toHaveLength(4);
    expect(r.src.truncated).toBe(1);
  });

  it('reports the first 20 problems of a kind and counts all of them', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `garbage ${i}`);
    const r = replay(file('flood.jsonl', jsonl(clean, (l) => [...l, ...lines])));
    expect(r.src.malformed).toBe(500);
    expect(r.errors).toHaveLength(21);
    expect(r.errors[20]).toBe('further malformed lines are counted, not reported one by one');
  });

  it('the sim venue reports the counts through recordingIntegrity() once the replay ended', async () => {
    const f = file('venue.jsonl', jsonl(clean, (l) => [...l.slice(0, 2), '{', ...l.slice(2)]).slice(0, -3));
    const venue = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({ replay_file: f, drive: 'manual' }), symbols: ['BTCUSDT'] });
    venue.loadInstruments([]);
    const errors: string[] = [];
    venue.start([], { onMarketEvent: () => {}, onFeedStatus: () => {}, onFeedError: (_c, m) => errors.push(m) });
    venue.runToEnd();
    expect(venue.marketData.recordingIntegrity()).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 1 });
    expect(errors).toHaveLength(2);
    const synthetic = new SimVenue({ exchange: 'sim', clock: new ManualClock(0), options: resolveSimOptions({}), symbols: ['BTCUSDT'] });
    expect(synthetic.marketData.recordingIntegrity()).toBeUndefined();
  });
});

describe('replay of JSON-lines recordings: receive times (the replayed engine clock)', () => {
  const DAY = 86_400_000;
  const MIN = 60_000;
  const at = (ts: number, recvTs: number) => ({ ts, recvTs });
  const recvTimes = (items: ReplayItem[]) => items.map((i) => (i.type === 'feed_status' ? undefined : i.recvTs - T));

  it('a trade whose receive time is a day ahead is counted and replayed at its venue time plus its stream\'s receive lag', () => {
    const r = replay(file('recv-ahead.jsonl', jsonl([{ ...snapshot, ...at(T, T + 5) }, trade('a', T + 20, at(T + 20, T + 25)), trade('b', T + 30, at(T + 30, T + 35 + DAY)), trade('c', T + 40, at(T + 40, T + 45))])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(r.errors).toEqual([`line 4: trade BTCUSDT recvTs ${T + 35 + DAY} is ${DAY + 5} ms from its ts ${T + 30} (bound ${MAX_RECEIVE_LAG_MS}): replayed at ${T + 35}`]);
    expect(recvTimes(r.items)).toEqual([5, 25, 35, 45]);
  });

  it('a receive time that goes back in its stream is counted and replayed at the previous one', () => {
    const r = replay(file('recv-back.jsonl', jsonl([snapshot, trade('a', T + 20, at(T + 20, T + 25)), trade('b', T + 30, at(T + 30, T + 10)), trade('c', T + 40, at(T + 40, T + 45))])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(r.errors).toEqual([`line 4: trade BTCUSDT recvTs ${T + 10} is before ${T + 25}: replayed at ${T + 25}`]);
    expect(recvTimes(r.items)).toEqual([0, 25, 25, 45]);
  });

  it('a file\'s first record sets no absurd start: a receive time a day off its venue time is replayed at the venue time', () => {
    const r = replay(file('recv-first.jsonl', jsonl([trade('a', T, at(T, T + DAY)), { ...delta(101, T + 10), recvTs: T + 12 }])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([0, 12]);
  });

  it('a receive lag that grows by more than the bound at once is counted, even within the bound of its venue time', () => {
    // a host clock 50 minutes behind the venue's, then one receive time 70 minutes ahead of the last
    const r = replay(file('recv-lag.jsonl', jsonl([trade('a', T, at(T, T - 50 * MIN)), trade('b', T + 10, at(T + 10, T + 10 + 20 * MIN)), trade('c', T + 20, at(T + 20, T + 20 - 50 * MIN))])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(r.errors).toEqual([`line 3: trade BTCUSDT recvTs ${T + 10 + 20 * MIN} is ${70 * MIN} ms further ahead of its ts ${T + 10} than its stream's previous record (bound ${MAX_RECEIVE_LAG_MS}): replayed at ${T + 10 - 50 * MIN}`]);
    expect(recvTimes(r.items)).toEqual([-50 * MIN, 10 - 50 * MIN, 20 - 50 * MIN]);
  });

  it('a damaged receive time on a book delta counts once, and a later time jump replays at the repaired receive time', () => {
    const r = replay(file('recv-delta.jsonl', jsonl([{ ...snapshot, ...at(T, T + 5) }, { ...delta(101, T + 10), recvTs: T + 15 + DAY }, { ...delta(102, T + 10 + DAY), recvTs: T + 15 + DAY }])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 2, truncated: 0 });
    expect(r.errors).toEqual([
      `line 3: book_delta BTCUSDT recvTs ${T + 15 + DAY} is ${DAY + 5} ms from its ts ${T + 10} (bound ${MAX_RECEIVE_LAG_MS}): replayed at ${T + 15}`,
      `line 4: book_delta BTCUSDT ts ${T + 10 + DAY} is ${DAY} ms after ${T + 10} (bound ${MAX_BOOK_TIME_JUMP_MS}): replayed at ${T + 10}`,
    ]);
    expect(r.items.map((i) => i.ts - T)).toEqual([0, 10, 10]);
    expect(recvTimes(r.items)).toEqual([5, 15, 15]);
  });

  it('a trade whose venue time is a day ahead of its sound receive time is counted, its receive time kept', () => {
    const r = replay(file('recv-ts-ahead.jsonl', jsonl([snapshot, trade('a', T + 20), trade('b', T + 30 + DAY, at(T + 30 + DAY, T + 30))])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([0, 20, 30]);
  });

  it('is not damage: a trade stream silent for hours, a lag of seconds, no receive time, updates received before the snapshot they follow', () => {
    const records = [
      { ...snapshot, ts: 0, recvTs: T + 100 }, // a REST snapshot (no venue time) fetched while updates were buffered
      { ...delta(101, T + 40), recvTs: T + 50 },
      { ...delta(102, T + 90), recvTs: T + 110 },
      trade('a', T + 120, at(T + 120, T + 2_120)),
      trade('b', T + 3 * 60 * MIN, at(T + 3 * 60 * MIN, T + 3 * 60 * MIN + 30)),
      trade('c', T + 3 * 60 * MIN + 10, at(T + 3 * 60 * MIN + 10, 0)),
    ];
    const r = replay(file('recv-sound.jsonl', jsonl(records)));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([100, 50, 110, 2_120, 3 * 60 * MIN + 30, -T]);
  });

  it('a Binance USD-M book sync is not damage: the updates buffered while its snapshot (with venue time) was fetched were received before it', () => {
    // What the recorder writes from the USD-M adapter: updates buffered from T+20, the REST
    // snapshot (E at T+240) received at T+250, then the buffered updates it does not cover,
    // the synced status, and the live stream.
    const records = [
      { ...snapshot, seq: 1002, ...at(T + 240, T + 250) },
      { ...delta(1003, T + 18), firstSeq: 1002, recvTs: T + 20 },
      { ...delta(1005, T + 28), firstSeq: 1004, recvTs: T + 30 },
      { type: 'feed_status', exchange: 'binance', symbol: 'BTCUSDT', state: 'synced', reason: 'synced at 1005 (initial)', ts: T + 250 },
      { ...delta(1006, T + 298), recvTs: T + 300 },
    ];
    const r = replay(file('recv-usdm-sync.jsonl', jsonl(records)));
    expect(r.errors).toEqual([]);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([250, 20, 30, undefined, 300]);
  });

  it('a book snapshot\'s receive time is still bounded by its venue time (a day ahead: counted), and the updates after it are not damage', () => {
    const records = [
      { ...snapshot, seq: 1002, ...at(T + 240, T + 250 + DAY) },
      { ...delta(1003, T + 18), firstSeq: 1002, recvTs: T + 20 },
      { ...delta(1004, T + 298), recvTs: T + 300 },
    ];
    const r = replay(file('recv-snapshot-ahead.jsonl', jsonl(records)));
    expect(r.errors).toEqual([`line 2: book_snapshot BTCUSDT recvTs ${T + 250 + DAY} is ${DAY + 10} ms from its ts ${T + 240} (bound ${MAX_RECEIVE_LAG_MS}): replayed at ${T + 240}`]);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([240, 20, 300]);
  });

  it('trades a venue backfills after a two-hour outage (received hours after their venue time, in one frame, the newest last) are not damage', () => {
    // What the recorder writes from the Coinbase adapter: live trades, a two-hour outage, then
    // the resubscribe's market_trades snapshot backfilling trades 5-8 at the time it arrived
    // (T + 2 h + 1 min), then live again. The newest backfilled trade's venue time vouches
    // for the receive time of the ones before it.
    const HOUR = 60 * MIN;
    const back = T + 2 * HOUR + MIN;
    const records = [
      trade('3', T, at(T, T + 50)),
      trade('4', T + MIN, at(T + MIN, T + MIN + 50)),
      trade('5', T + 10 * MIN, at(T + 10 * MIN, back)),
      trade('6', T + 30 * MIN, at(T + 30 * MIN, back)),
      trade('7', T + 90 * MIN, at(T + 90 * MIN, back)),
      trade('8', T + 2 * HOUR, at(T + 2 * HOUR, back)),
      trade('9', back, at(back, back + 50)),
    ];
    const r = replay(file('recv-backfill.jsonl', jsonl(records)));
    expect(r.items.map((i) => (i.type === 'trade' ? i.tradeId : i.type))).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(r.errors).toEqual([]);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(recvTimes(r.items)).toEqual([50, MIN + 50, back - T, back - T, back - T, back - T, back - T + 50]);
  });

  it('a receive time far ahead that no later record\'s venue time vouches for is damaged: the last record of a file, or a host clock a day ahead from some record on', () => {
    const last = replay(file('recv-ahead-last.jsonl', jsonl([trade('a', T + 20, at(T + 20, T + 25)), trade('b', T + 30, at(T + 30, T + 35 + DAY))])));
    expect(last.errors).toEqual([`line 3: trade BTCUSDT recvTs ${T + 35 + DAY} is ${DAY + 5} ms from its ts ${T + 30} (bound ${MAX_RECEIVE_LAG_MS}): replayed at ${T + 35}`]);
    expect(recvTimes(last.items)).toEqual([25, 35]);

    // past MAX_RECEIVE_WITNESS_WAIT records held, the first is settled damaged without waiting on
    const n = MAX_RECEIVE_WITNESS_WAIT + 5;
    const stepped = Array.from({ length: n }, (_, k) => trade(`s${k}`, T + 100 + k, at(T + 100 + k, T + 105 + k + DAY)));
    const r = replay(file('recv-host-ahead.jsonl', jsonl([trade('a', T + 20, at(T + 20, T + 25)), ...stepped])));
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: n, truncated: 0 });
    expect(recvTimes(r.items).slice(0, 3)).toEqual([25, 105, 106]);
    expect(recvTimes(r.items).at(-1)).toBe(105 + n - 1);
  });
});

describe('replay of damaged tardis CSV files', () => {
  const head = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
  const row = (id: string, tsUs: number, localUs: number, price = '60000.1', amount = '0.002') => `binance,BTCUSDT,${tsUs},${localUs},${id},buy,${price},${amount}`;
  const t0 = 1_700_000_000_000_000;

  it('counts negative, zero and non-numeric values as malformed', () => {
    const csv = [head, row('t1', t0, t0), row('neg', t0 + 1, t0 + 1, '-60000.1'), row('zero', t0 + 2, t0 + 2, '60000.1', '0'), row('nan', t0 + 3, t0 + 3, 'NaN'), row('t2', t0 + 4, t0 + 4)].join('\n') + '\n';
    const r = replay(file('values.csv', csv));
    expect(r.items.map((i) => (i as { tradeId: string }).tradeId)).toEqual(['t1', 't2']);
    expect(r.src.integrity()).toEqual({ malformed: 3, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('counts a row with an empty or blank timestamp or local_timestamp as malformed, not a trade at epoch 0 replayed first', () => {
    const csv = [head, row('a', t0, t0), `binance,BTCUSDT,,${t0 + 2},b,buy,60000.1,0.002`, `binance,BTCUSDT, ,${t0 + 2},c,buy,60000.1,0.002`, `binance,BTCUSDT,${t0 + 2},,d,buy,60000.1,0.002`, row('e', t0 + 3, t0 + 3)].join('\n') + '\n';
    const r = replay(file('empty-ts.csv', csv));
    expect(r.items.map((i) => [(i as { tradeId: string }).tradeId, i.ts])).toEqual([
      ['a', t0 / 1000],
      ['e', Math.floor((t0 + 3) / 1000)],
    ]);
    expect(r.src.integrity()).toEqual({ malformed: 3, skipped: 0, outOfOrder: 0, truncated: 0 });
  });

  it('counts a row whose arrival time goes back as out of order and replays it', () => {
    const csv = [head, row('t1', t0, t0 + 10), row('t2', t0 + 20, t0 + 30), row('late', t0 + 5, t0 + 15), row('t3', t0 + 40, t0 + 50)].join('\n') + '\n';
    const r = replay(file('order.csv', csv));
    expect(r.items).toHaveLength(4);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 1, truncated: 0 });
    expect(r.errors).toEqual([`line 4: local_timestamp ${t0 + 15} before ${t0 + 30}`]);
  });

  it('reports a CSV cut inside its last row (which would still parse: 0.002 cut to 0.00) and a cut .csv.gz', () => {
    const csv = [head, row('t1', t0, t0), row('t2', t0 + 1, t0 + 1)].join('\n') + '\n';
    const r = replay(file('cut.csv', csv.slice(0, -2)));
    expect(r.items.map((i) => (i as { tradeId: string }).tradeId)).toEqual(['t1']);
    expect(r.src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 1 });

    const big = [head, ...Array.from({ length: 20_000 }, (_, i) => row(`t${i}`, t0 + i * 1000, t0 + i * 1000, `${60000 + (i % 977) / 10}`, `0.${String(1 + (i % 997)).padStart(3, '0')}`))].join('\n') + '\n';
    const gz = gzipSync(big);
    const g = replay(file('cut.csv.gz', gz.subarray(0, Math.floor(gz.length / 2))));
    expect(g.items.length).toBeGreaterThan(0);
    expect(g.items.length).toBeLessThan(20_000);
    expect(g.src.truncated).toBe(1);
    expect(g.src.malformed).toBe(0);
  });

  it('counts a .csv.gz that is not gzip as malformed instead of crashing', () => {
    const r = replay(file('bogus.csv.gz', readFileSync(file('plain.csv', `${head}\n${row('t1', t0, t0)}\n`))));
    expect(r.items).toEqual([]);
    expect(r.src.malformed).toBeGreaterThanOrEqual(1);
  });
});
