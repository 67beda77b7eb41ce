import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FeedReject, MarketEventSink } from '../contracts/exchange.js';
import { copyMarketEvent, type FeedStatusEvent, type MarketEvent } from '../domain/events.js';
import { FEED_RECORD_BYTES } from '../microstructure/feed-records.js';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { IntakeRecordReader, IntakeRecordType, IntakeRecordWriter } from './records.js';

type Call =
  | { m: 'event'; ev: MarketEvent }
  | { m: 'status'; st: FeedStatusEvent }
  | { m: 'reject'; r: FeedReject }
  | { m: 'error'; component: string; message: string }
  | { m: 'end'; exchange: string };

/** Records every sink call as plain data (events copied: the reader reuses its objects). */
class RecordingSink implements MarketEventSink {
  readonly calls: Call[] = [];
  onMarketEvent(ev: MarketEvent): void {
    this.calls.push({ m: 'event', ev: JSON.parse(JSON.stringify(copyMarketEvent(ev))) });
  }
  onFeedStatus(st: FeedStatusEvent): void {
    this.calls.push({ m: 'status', st: { ...st } });
  }
  onFeedReject(r: FeedReject): void {
    this.calls.push({ m: 'reject', r: { ...r } });
  }
  onFeedError(component: string, message: string): void {
    this.calls.push({ m: 'error', component, message });
  }
  onEndOfStream(exchange: string): void {
    this.calls.push({ m: 'end', exchange });
  }
}

function replay(calls: readonly Call[], sink: MarketEventSink): void {
  for (const c of calls) {
    if (c.m === 'event') sink.onMarketEvent(c.ev);
    else if (c.m === 'status') sink.onFeedStatus(c.st);
    else if (c.m === 'reject') sink.onFeedReject!(c.r);
    else if (c.m === 'error') sink.onFeedError(c.component, c.message);
    else sink.onEndOfStream!(c.exchange);
  }
}

const EX = 'binance';
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const units = fc.integer({ min: 0, max: 2 ** 53 - 1 });
const level = fc.record({ price: units, qty: units });
const levels = fc.array(level, { maxLength: 40 });
const symbol = fc.constantFrom(...SYMBOLS);
const text = fc.string({ unit: 'grapheme', maxLength: 200 });
const ts = fc.integer({ min: 0, max: 4_102_444_800_000 });

const marketEvent: fc.Arbitrary<MarketEvent> = fc.oneof(
  fc.record({ type: fc.constant('book_snapshot' as const), exchange: fc.constant(EX), symbol, ts, recvTs: ts, seq: units, bids: levels, asks: levels, reason: fc.constantFrom('initial' as const, 'resync' as const) }),
  fc.record({ type: fc.constant('book_delta' as const), exchange: fc.constant(EX), symbol, ts, recvTs: ts, firstSeq: units, seq: units, bids: levels, asks: levels }),
  fc.record({
    type: fc.constant('trade' as const), exchange: fc.constant(EX), symbol, ts, recvTs: ts, price: units, qty: units, side: fc.constantFrom('buy' as const, 'sell' as const),
    tradeId: fc.oneof(fc.integer({ min: 0, max: 2 ** 53 - 1 }).map(String), fc.constantFrom('007', '', '1e3', '12345678901234567890', 'abc-1', 'é✓')),
  }),
  fc.record({ type: fc.constant('liquidation' as const), exchange: fc.constant(EX), symbol, ts, recvTs: ts, price: units, qty: units, side: fc.constantFrom('buy' as const, 'sell' as const) }),
);
const call: fc.Arbitrary<Call> = fc.oneof(
  { weight: 6, arbitrary: marketEvent.map((ev) => ({ m: 'event' as const, ev })) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('feed_status' as const), exchange: fc.constant(EX), symbol: fc.constantFrom('', ...SYMBOLS, 'XRPUSDT'), state: fc.constantFrom('connecting' as const, 'synced' as const, 'resyncing' as const, 'stale' as const, 'crossed' as const, 'disconnected' as const, 'stopped' as const), reason: text, ts }).map((st) => ({ m: 'status' as const, st })),
  },
  {
    weight: 1,
    arbitrary: fc.record({ exchange: fc.constant(EX), symbol: fc.constantFrom('', ...SYMBOLS, 'XRPUSDT'), reason: fc.constantFrom('malformed' as const, 'seq_jump' as const, 'bad_snapshot' as const, 'some_future_reason' as FeedReject['reason']), detail: text }).map((r) => ({ m: 'reject' as const, r })),
  },
  { weight: 1, arbitrary: fc.record({ component: text, message: text }).map(({ component, message }) => ({ m: 'error' as const, component, message })) },
  { weight: 1, arbitrary: fc.constant({ m: 'end' as const, exchange: EX }) },
);

/**
 * Writer and reader on one thread: when the ring is full, the writer's wait drains the reader
 * (what the engine thread does concurrently), so groups are published in parts and the ring
 * wraps many times, deterministically.
 */
function roundTrip(calls: readonly Call[], ringRecords: number, drainEach = Infinity): { out: Call[]; reader: IntakeRecordReader; writer: IntakeRecordWriter; waits: number } {
  const ring = SpscRing.create(ringRecords, FEED_RECORD_BYTES);
  const out = new RecordingSink();
  const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
  let waits = 0;
  const writer = new IntakeRecordWriter(ring, SYMBOLS, () => {
    waits++;
    return reader.drain(drainEach) > 0;
  });
  replay(calls, writer);
  while (reader.drain() > 0);
  return { out: out.calls, reader, writer, waits };
}

describe('intake feed records', () => {
  it('every sink call arrives once, in order, with the same values (random streams, tiny rings that wrap and fill mid-group)', () => {
    fc.assert(
      fc.property(fc.array(call, { maxLength: 60 }), fc.constantFrom(2, 4, 16, 1024), fc.constantFrom(1, 3, Infinity), (calls, ringRecords, drainEach) => {
        const expected = new RecordingSink();
        replay(calls, expected);
        const { out, reader, writer } = roundTrip(calls, ringRecords, drainEach);
        expect(out).toEqual(expected.calls);
        expect(reader.invalid).toBe(0);
        expect(reader.midGroup).toBe(false);
        expect(writer.dropped).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('a snapshot larger than the ring is published in parts and arrives whole', () => {
    const bids = Array.from({ length: 100 }, (_, i) => ({ price: 1_000_000 - i, qty: i + 1 }));
    const asks = Array.from({ length: 100 }, (_, i) => ({ price: 1_000_001 + i, qty: 2 * i + 1 }));
    const snap: MarketEvent = { type: 'book_snapshot', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 2, seq: 99, bids, asks, reason: 'initial' };
    const { out, waits } = roundTrip([{ m: 'event', ev: snap }], 8, 3);
    expect(waits).toBeGreaterThan(20);
    expect(out).toEqual([{ m: 'event', ev: snap }]);
  });

  it('a full ring whose consumer is gone drops records, counts them, and the reader forgets the torn group', () => {
    const ring = SpscRing.create(4, FEED_RECORD_BYTES);
    const out = new RecordingSink();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    writer.onMarketEvent({ type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 1, firstSeq: 5, seq: 6, bids: [{ price: 1, qty: 1 }, { price: 2, qty: 2 }], asks: [{ price: 3, qty: 3 }, { price: 4, qty: 4 }] });
    expect(writer.dropped).toBe(1);
    reader.drain();
    expect(out.calls).toEqual([]);
    expect(reader.midGroup).toBe(true);
    reader.abandonGroup();
    writer.onMarketEvent({ type: 'trade', exchange: EX, symbol: 'ETHUSDT', ts: 1, recvTs: 2, price: 10, qty: 2, side: 'sell', tradeId: '77' });
    reader.drain();
    expect(out.calls).toEqual([{ m: 'event', ev: { type: 'trade', exchange: EX, symbol: 'ETHUSDT', ts: 1, recvTs: 2, price: 10, qty: 2, side: 'sell', tradeId: '77' } }]);
    expect(reader.invalid).toBe(0);
  });

  it('reuses its event objects: a steady delta stream allocates no new events or levels', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const seen = new Set<object>();
    const levelObjects = new Set<object>();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, {
      onMarketEvent: (ev) => {
        seen.add(ev);
        if (ev.type === 'book_delta') for (const l of [...ev.bids, ...ev.asks]) levelObjects.add(l);
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    });
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => reader.drain() > 0);
    for (let i = 0; i < 500; i++) {
      writer.onMarketEvent({ type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: i, recvTs: i, firstSeq: i, seq: i, bids: [{ price: i, qty: 1 }, { price: i - 1, qty: 2 }], asks: [{ price: i + 1, qty: 3 }] });
      reader.drain();
    }
    expect(seen.size).toBe(1);
    expect(levelObjects.size).toBe(3);
  });

  it('delivers each side at its exact length, in its own reused array (a side with no level: an empty one), whatever came before', () => {
    const ring = SpscRing.create(8, FEED_RECORD_BYTES);
    const got: { bids: unknown[]; asks: unknown[] }[] = [];
    const arrays = new Set<object>();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, {
      onMarketEvent: (ev) => {
        if (ev.type !== 'book_delta' && ev.type !== 'book_snapshot') return;
        got.push(JSON.parse(JSON.stringify({ bids: ev.bids, asks: ev.asks })));
        if (ev.bids.length > 0) arrays.add(ev.bids);
        if (ev.asks.length > 0) arrays.add(ev.asks);
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    });
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => reader.drain(3) > 0); // groups split across drains
    const side = (n: number, base: number) => Array.from({ length: n }, (_, i) => ({ price: base - i, qty: i + 1 }));
    const shapes: [number, number][] = [[3, 2], [1, 0], [0, 4], [2, 2], [0, 0], [5, 1], [1, 1]];
    for (const [b, a] of shapes) writer.onMarketEvent({ type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 1, firstSeq: 1, seq: 1, bids: side(b, 100), asks: side(a, 200) });
    writer.onMarketEvent({ type: 'book_snapshot', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: side(2, 100), asks: side(1, 200) });
    while (reader.drain() > 0);
    expect(got).toEqual([...shapes.map(([b, a]) => ({ bids: side(b, 100), asks: side(a, 200) })), { bids: side(2, 100), asks: side(1, 200) }]);
    expect(arrays.size).toBe(4); // the delta's two and the snapshot's two, each reused
  });

  it('a steady stream of deltas, one-sided ones included, allocates nothing per record on the reader side (young-generation bytes per delta)', () => {
    const ring = SpscRing.create(1024, FEED_RECORD_BYTES);
    let levels = 0;
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, {
      onMarketEvent: (ev) => {
        if (ev.type === 'book_delta') levels += ev.bids.length + ev.asks.length;
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    });
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => reader.drain() > 0);
    const lv = (price: number, qty: number) => ({ price, qty });
    const delta = (bids: { price: number; qty: number }[], asks: { price: number; qty: number }[]): MarketEvent => ({ type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 0, recvTs: 0, firstSeq: 0, seq: 0, bids, asks });
    // both sides, bids only, asks only (emptying a side's array to refill it cost a new backing store per event)
    const stream = [delta([lv(100, 1), lv(99, 2)], [lv(101, 1), lv(102, 2)]), delta([lv(100, 3)], []), delta([], [lv(101, 4)]), delta([lv(100, 1), lv(99, 2), lv(98, 1)], [lv(101, 1)])];
    const run = (n: number) => {
      for (let i = 0; i < n; i++) {
        writer.onMarketEvent(stream[i & 3]!);
        reader.drain();
      }
    };
    const youngBytes = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
    // Bytes allocated in the young generation per batch, read synchronously around it (no timing,
    // no GC observer). A scavenge inside a batch makes its difference negative or small; the
    // median over many batches is what a batch allocates.
    const BATCH = 1000;
    const perBatch = (): number => {
      const before = youngBytes();
      run(BATCH);
      return (youngBytes() - before) / BATCH;
    };
    run(20_000); // warm up: JIT, pools at their size
    // On a loaded machine the optimizing compiler (a background thread) can finish long after that:
    // until it does, the lower tiers box numbers (18 bytes a delta on the reader, 66 on the writer,
    // measured under load), and the median below caught them. So warm up until 5 batches in a row
    // stay under the bound (at most 500 batches): code that allocates per record never gets there
    // (a scavenge shrinks one batch's figure, not five in a row), and the median still decides.
    for (let calm = 0, b = 0; calm < 5 && b < 500; b++) calm = perBatch() < 8 ? calm + 1 : 0;
    const perDelta: number[] = [];
    for (let b = 0; b < 41; b++) perDelta.push(perBatch());
    perDelta.sort((x, y) => x - y);
    expect(levels).toBeGreaterThan(0);
    // reading the statistics allocates 2 KB a batch (2 bytes a delta); an array emptied per event cost 230
    expect(perDelta[20]).toBeLessThan(8);
  });

  it('a record out of place (a writer bug) is counted as invalid and the next group still parses', () => {
    const ring = SpscRing.create(16, FEED_RECORD_BYTES);
    const out = new RecordingSink();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
    const f = ring.slotWord(0) >> 1;
    ring.f64.fill(0, f, f + 8);
    ring.f64[f] = 42; // no such type
    ring.publish(1);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    writer.onFeedStatus({ type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'gap', ts: 5 });
    reader.drain();
    expect(reader.invalid).toBe(1);
    expect(out.calls).toEqual([
      { m: 'status', st: { type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'gap', ts: 5 } },
      // counted by the engine as cwts_errors_total{component="binance:intake"} and logged
      { m: 'error', component: 'binance:intake', message: 'binance intake: 1 feed record out of place dropped (a torn group or a writer bug; 1 on this ring so far)' },
    ]);
  });

  it('after a torn level group (a header promising 3 levels, 1 came) every status still arrives, and the drop is reported once as an intake error', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const out = new RecordingSink();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    // A writer bug: a delta header announcing 3 levels, followed by one level only.
    ring.f64.set([IntakeRecordType.DELTA, 0, 101, 3, 101, 1, 1, 3], ring.slotWord(0) >> 1);
    ring.f64.set([IntakeRecordType.LEVEL, 0, 1000, 5, 0, 0, 0, 0], ring.slotWord(1) >> 1);
    ring.publish(2);
    // What the feed says next: a gap (the book must leave SYNCED), a reject, a trade with a text id, the connection lost.
    writer.onFeedStatus({ type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence gap', ts: 5 });
    writer.onFeedReject({ exchange: EX, symbol: 'ETHUSDT', reason: 'off_grid', detail: 'price 1.005' });
    writer.onMarketEvent({ type: 'trade', exchange: EX, symbol: 'ETHUSDT', ts: 6, recvTs: 7, price: 10, qty: 2, side: 'buy', tradeId: 'a-1' });
    writer.onFeedStatus({ type: 'feed_status', exchange: EX, symbol: '', state: 'disconnected', reason: 'socket closed', ts: 8 });
    reader.drain();
    expect(out.calls).toEqual([
      { m: 'status', st: { type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence gap', ts: 5 } },
      { m: 'reject', r: { exchange: EX, symbol: 'ETHUSDT', reason: 'off_grid', detail: 'price 1.005' } },
      { m: 'event', ev: { type: 'trade', exchange: EX, symbol: 'ETHUSDT', ts: 6, recvTs: 7, price: 10, qty: 2, side: 'buy', tradeId: 'a-1' } },
      { m: 'status', st: { type: 'feed_status', exchange: EX, symbol: '', state: 'disconnected', reason: 'socket closed', ts: 8 } },
      { m: 'error', component: 'binance:intake', message: 'binance intake: 1 feed record out of place dropped (a torn group or a writer bug; 1 on this ring so far)' },
    ]);
    expect({ invalid: reader.invalid, midGroup: reader.midGroup }).toEqual({ invalid: 1, midGroup: false });
  });

  it('a feed bug that throws in the middle of a delta (a null level): the caller gets the throw, the half-written group never reaches the reader, what follows arrives', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const out = new RecordingSink();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    const bad = { type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 1, firstSeq: 101, seq: 101, bids: [{ price: 1000, qty: 5 }, null, { price: 998, qty: 1 }], asks: [] } as unknown as MarketEvent;
    expect(() => writer.onMarketEvent(bad)).toThrow(TypeError);
    writer.onFeedStatus({ type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence gap', ts: 5 });
    const delta: MarketEvent = { type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 2, recvTs: 3, firstSeq: 101, seq: 101, bids: [{ price: 1000, qty: 5 }], asks: [] };
    writer.onMarketEvent(delta);
    reader.drain();
    expect(out.calls).toEqual([
      { m: 'status', st: { type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence gap', ts: 5 } },
      { m: 'event', ev: delta },
    ]);
    expect({ invalid: reader.invalid, recordsRead: reader.recordsRead, dropped: writer.dropped }).toEqual({ invalid: 0, recordsRead: 4, dropped: 0 });
  });

  it('a writer whose ring the engine thread closed (its worker taken down, perhaps wrongly judged hung) publishes nothing more: the records are counted as dropped', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => true);
    writer.onMarketEvent({ type: 'trade', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 2, price: 10, qty: 2, side: 'buy', tradeId: '1' });
    expect(ring.size()).toBe(1);
    new SpscRing(ring.buffer).close();
    writer.onMarketEvent({ type: 'book_delta', exchange: EX, symbol: 'BTCUSDT', ts: 2, recvTs: 3, firstSeq: 101, seq: 101, bids: [{ price: 1000, qty: 5 }], asks: [{ price: 1001, qty: 1 }] });
    writer.onFeedStatus({ type: 'feed_status', exchange: EX, symbol: 'BTCUSDT', state: 'synced', reason: 'x', ts: 5 });
    expect({ queued: ring.size(), dropped: writer.dropped }).toEqual({ queued: 1, dropped: 5 });
  });

  it('a sink call that throws ends the drain, but what was dispatched is consumed: the next drain goes on after it (no trade twice)', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    const trade = (tradeId: string): MarketEvent => ({ type: 'trade', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 2, tradeId, price: 1000, qty: 5, side: 'buy' });
    writer.onMarketEvent(trade('1'));
    // the throw comes with the last record of a group: the reader must not be left mid-group
    writer.onMarketEvent({ type: 'book_snapshot', exchange: EX, symbol: 'BTCUSDT', ts: 1, recvTs: 2, seq: 7, bids: [{ price: 999, qty: 1 }], asks: [{ price: 1001, qty: 1 }], reason: 'initial' });
    writer.onMarketEvent(trade('2'));
    writer.onMarketEvent(trade('x-3'));
    const out = new RecordingSink();
    let thrown = 0;
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, {
      onMarketEvent: (ev) => {
        // the recorder on a full disk: writeSync throws ENOSPC
        if ((ev.type === 'book_snapshot' || (ev.type === 'trade' && ev.tradeId === '2')) && thrown++ < 2) throw new Error('ENOSPC: no space left on device, write');
        out.onMarketEvent(ev);
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    });
    expect(() => reader.drain()).toThrow(/ENOSPC/);
    expect(() => reader.drain()).toThrow(/ENOSPC/);
    expect(reader.drain()).toBe(2);
    expect(out.calls.map((c) => (c.m === 'event' && c.ev.type === 'trade' ? c.ev.tradeId : c.m))).toEqual(['1', 'x-3']);
    expect({ recordsRead: reader.recordsRead, readable: reader.ring.readable(), invalid: reader.invalid, midGroup: reader.midGroup }).toEqual({ recordsRead: 7, readable: 0, invalid: 0, midGroup: false });
  });
});

describe('IntakeRecordReader.takenTrades: what a replacement worker resumes after', () => {
  it('the last RESUME_TRADES trades the sink was handed, per symbol, oldest first, numeric and text ids alike; a trade the sink threw on is one', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    const trade = (symbol: string, tradeId: string, ts: number): MarketEvent => ({ type: 'trade', exchange: EX, symbol, ts, recvTs: ts + 1, tradeId, price: 1000, qty: 5, side: 'buy' });
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, {
      onMarketEvent: (ev) => {
        if (ev.type === 'trade' && ev.tradeId === '7') throw new Error('ENOSPC: no space left on device, write');
      },
      onFeedStatus: () => {},
      onFeedError: () => {},
    });
    expect(reader.takenTrades(0)).toEqual([]);
    for (const [id, ts] of [['1', 101], ['2', 102], ['x-3', 103], ['4', 104], ['5', 105]] as const) writer.onMarketEvent(trade('BTCUSDT', id, ts));
    writer.onMarketEvent(trade('ETHUSDT', '9', 200));
    reader.drain();
    expect(reader.takenTrades(0)).toEqual([{ tradeId: '2', ts: 102 }, { tradeId: 'x-3', ts: 103 }, { tradeId: '4', ts: 104 }, { tradeId: '5', ts: 105 }]);
    expect(reader.takenTrades(1)).toEqual([{ tradeId: '9', ts: 200 }]);
    writer.onMarketEvent(trade('ETHUSDT', '7', 201));
    writer.onMarketEvent(trade('ETHUSDT', '8', 202));
    expect(() => reader.drain()).toThrow(/ENOSPC/);
    // At most once: the engine threw on trade 7 after acting on it (paper fills run before the
    // recorder's write), so a replacement resumes after 7 rather than hand it over again. 8 was
    // never handed over (dropped with the rest of the ring) and the replacement's backfill brings it.
    expect(reader.takenTrades(1)).toEqual([{ tradeId: '9', ts: 200 }, { tradeId: '7', ts: 201 }]);
    expect(reader.takenTrades(5)).toEqual([]);
  });

  it("trades the feed marked as seen (onTradeMark: its history snapshot) are resume points in order with the trades it emitted, and reach no sink call", () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const writer = new IntakeRecordWriter(ring, SYMBOLS, () => false);
    const out = new RecordingSink();
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), EX, SYMBOLS, out);
    writer.onTradeMark('BTCUSDT', '100', 50);
    writer.onTradeMark('ETHUSDT', 'h-\u00e9-' + 'x'.repeat(70), 51); // a text id longer than one TEXT record
    writer.onTradeMark('ETHUSDT', '', 52);
    writer.onMarketEvent({ type: 'trade', exchange: EX, symbol: 'BTCUSDT', ts: 60, recvTs: 61, tradeId: '101', price: 1000, qty: 5, side: 'sell' });
    writer.onTradeMark('DOGEUSDT', '7', 53);
    const queued = reader.ring.readable();
    expect(reader.drain()).toBe(queued);
    expect(reader.ring.readable()).toBe(0);
    expect(reader.takenTrades(0)).toEqual([{ tradeId: '100', ts: 50 }, { tradeId: '101', ts: 60 }]);
    expect(reader.takenTrades(1)).toEqual([{ tradeId: 'h-\u00e9-' + 'x'.repeat(70), ts: 51 }, { tradeId: '', ts: 52 }]);
    // only the trade and the writer's report of a mark for a symbol it was not started with
    expect(out.calls.map((c) => c.m === 'event' ? (c.ev as { tradeId: string }).tradeId : `${c.m}: ${(c as { message?: string }).message}`)).toEqual(['101', 'error: trade mark for DOGEUSDT, a symbol this intake was not started with: dropped']);
    expect({ marketEvents: reader.marketEvents, invalid: reader.invalid, midGroup: reader.midGroup }).toEqual({ marketEvents: 1, invalid: 0, midGroup: false });
  });
});

describe('intake TEXT records carry the feed text exactly', () => {
  it('a text starting with U+FEFF (trade id, status reason) arrives unchanged (TextDecoder strips a leading BOM by default)', () => {
    const ring = SpscRing.create(64, FEED_RECORD_BYTES);
    const trades: string[] = [];
    const reasons: string[] = [];
    const sink: MarketEventSink = {
      onMarketEvent: (ev) => void (ev.type === 'trade' && trades.push((ev as Extract<MarketEvent, { type: 'trade' }>).tradeId)),
      onFeedStatus: (st: FeedStatusEvent) => void reasons.push(st.reason),
      onFeedError: () => {},
    };
    const reader = new IntakeRecordReader(new SpscRing(ring.buffer), 'ex', ['BTCUSDT'], sink);
    const writer = new IntakeRecordWriter(ring, ['BTCUSDT'], () => false);
    writer.onMarketEvent({ type: 'trade', exchange: 'ex', symbol: 'BTCUSDT', ts: 1, recvTs: 1, price: 1, qty: 1, side: 'buy', tradeId: '\uFEFFabc' });
    writer.onFeedStatus({ type: 'feed_status', exchange: 'ex', symbol: 'BTCUSDT', state: 'stale', reason: '\uFEFFquiet', ts: 1 });
    reader.drain();
    expect(trades).toEqual(['\uFEFFabc']);
    expect(reasons).toEqual(['\uFEFFquiet']);
  });
});
