import { describe, expect, it } from 'vitest';
import type { FeedReject, MarketEventSink } from '../contracts/exchange.js';
import type { BookDeltaEvent, FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { BINANCE_SPOT_RULES, BookSync } from './book-sync.js';
import { FeedErrorReporter, TradeIdGuard, TradeIdVerdict, levelProblem, repeatedSnapshotPrice, tradeProblem } from './feed-guard.js';
import { rfc3339StrictMs } from './rfc3339.js';

class Collect implements MarketEventSink {
  events: MarketEvent[] = [];
  status: FeedStatusEvent[] = [];
  logs: string[] = [];
  rejects: FeedReject[] = [];
  onMarketEvent(e: MarketEvent) {
    this.events.push(structuredClone(e));
  }
  onFeedStatus(s: FeedStatusEvent) {
    this.status.push(s);
  }
  onFeedError(_c: string, m: string) {
    this.logs.push(m);
  }
  onFeedReject(r: FeedReject) {
    this.rejects.push(r);
  }
}

const lv = (l: [number, number][]) => l.map(([price, qty]) => ({ price, qty }));
function delta(U: number, u: number, bids: [number, number][] = [], asks: [number, number][] = []): BookDeltaEvent {
  return { type: 'book_delta', exchange: 'x', symbol: 'S', ts: 0, recvTs: 0, firstSeq: U, seq: u, bids: lv(bids), asks: lv(asks) };
}

function syncedBook(maxSeqJump?: number) {
  const sink = new Collect();
  const asks: string[] = [];
  const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, maxSeqJump });
  sync.begin();
  sync.onDelta(delta(101, 101, [[99, 1]]));
  sync.onSnapshot({ seq: 100, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
  expect(sync.state).toBe('synced');
  return { sink, asks, sync };
}

describe('feed value rules', () => {
  it('finds a price a snapshot side lists twice, in price order or not', () => {
    const side = (...ps: number[]) => ps.map((price) => ({ price, qty: 1 }));
    expect(repeatedSnapshotPrice(side(103, 102, 101), true)).toBeNaN();
    expect(repeatedSnapshotPrice(side(101, 102, 102, 103), false)).toBe(102);
    expect(repeatedSnapshotPrice(side(101, 103, 102, 103), false)).toBe(103); // out of order: the Set path
    expect(repeatedSnapshotPrice(side(103, 101, 102), true)).toBeNaN();
    expect(repeatedSnapshotPrice([], true)).toBeNaN();
  });

  it('rejects non-positive prices, negative quantities and zero quantity outside deltas', () => {
    expect(levelProblem({ price: 1, qty: 0 }, true)).toBeUndefined();
    expect(levelProblem({ price: 1, qty: 0 }, false)).toBe('zero_qty');
    expect(levelProblem({ price: 0, qty: 1 }, true)).toBe('non_positive_price');
    expect(levelProblem({ price: -42990, qty: 1 }, true)).toBe('non_positive_price');
    expect(levelProblem({ price: 1, qty: -1 }, true)).toBe('negative_qty');
    expect(levelProblem({ price: NaN, qty: 1 }, true)).toBe('off_grid');
    expect(tradeProblem(43000, 0)).toBe('zero_qty');
    expect(tradeProblem(-43000, 1)).toBe('non_positive_price');
    expect(tradeProblem(43000, -1)).toBe('negative_qty');
    expect(tradeProblem(43000, 1)).toBeUndefined();
  });

  it('does not let one far-ahead trade id turn later real trades into duplicates', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(500)).toBe(TradeIdVerdict.NEW);
    expect(g.check(9e15)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(501)).toBe(TradeIdVerdict.NEW);
    expect(g.check(501)).toBe(TradeIdVerdict.DUPLICATE);
    // a venue that really moved on: three consistent far-ahead ids and the guard follows
    expect(g.check(1_000_000)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(1_000_001)).toBe(TradeIdVerdict.JUMP);
    expect(g.check(1_000_002)).toBe(TradeIdVerdict.NEW);
    expect(g.check(1_000_003)).toBe(TradeIdVerdict.NEW);
  });

  it('two poisoned marks taken forward in a row, with a far-future time taken earlier: the real stream under both is followed again, each mark refused once reached', () => {
    const N = TradeIdVerdict.NEW;
    const D = TradeIdVerdict.DUPLICATE;
    const g = new TradeIdGuard(1000, 3);
    for (const id of [100, 101, 102]) expect(g.check(id, 1000)).toBe(N);
    expect(g.check(103, 1000 + 20 * 86_400_000)).toBe(N); // a wrong far-future time: no restart can follow
    expect(g.check(104, 1100)).toBe(N);
    expect(g.check(1100, 1200)).toBe(N); // poisoned, within the bound
    expect(g.check(1103, 1300)).toBe(N); // poisoned again, from the first
    const out: number[] = [];
    for (let id = 105; id <= 140; id++) if (g.check(id, 1400 + id) === N) out.push(id);
    // at most rebaseAfter - 1 real trades dropped, none emitted twice
    expect(out).toEqual(Array.from({ length: 34 }, (_, k) => 107 + k));
    expect(g.check(1100, 3000)).toBe(D);
    expect(g.check(1103, 3000)).toBe(D);
  });

  it('nothing below the first trades taken counts as never emitted: a backfill of older history is not emitted, even later than a wrong early mark time', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(500, 1000)).toBe(TradeIdVerdict.NEW);
    expect(g.check(501, 10)).toBe(TradeIdVerdict.NEW); // a wrong early time on the mark
    for (const id of [400, 401, 402, 403, 404]) expect(g.check(id, 500)).toBe(TradeIdVerdict.DUPLICATE);
  });

  it('does not follow far-ahead ids that real trades (even repeated ones) keep interrupting', () => {
    // the fuzzer's case: the mark sits a little ahead of the real stream, so every real trade is
    // a duplicate, and poison ids 2^44 ahead arrive between them
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(900)).toBe(TradeIdVerdict.NEW);
    for (let k = 0; k < 5; k++) {
      expect(g.check(2 ** 44 + k), `poison ${k}`).toBe(TradeIdVerdict.JUMP);
      expect(g.check(500 + k), `real ${k}`).toBe(TradeIdVerdict.DUPLICATE);
    }
    expect(g.last).toBe(900);
  });

  it('moves a mark a little ahead of the stream back to the later real trades behind it, but never for a replay', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(500, 10)).toBe(TradeIdVerdict.NEW);
    // one mutated digit: 900 is within the bound, so it becomes the mark (at the real time 11)
    expect(g.check(900, 11)).toBe(TradeIdVerdict.NEW);
    // a replay after a reconnect: ids behind the mark at times not after it stay duplicates
    for (const [id, ts] of [[498, 9], [499, 10], [500, 10], [501, 11], [502, 11]] as const) expect(g.check(id, ts), `replay ${id}`).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.last).toBe(900);
    // the real stream goes on after the mark's time: the third such trade in a row moves the mark back
    expect(g.check(503, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(504, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.NEW);
    expect(g.last).toBe(505);
    expect(g.rebasedBack).toBe(1);
    expect(g.check(506, 13)).toBe(TradeIdVerdict.NEW);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.DUPLICATE);
  });

  it('does not move back on later trades that are interrupted, out of order, or without times', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(g.check(900, 10)).toBe(TradeIdVerdict.NEW);
    // interrupted by a trade at the mark's time
    expect(g.check(503, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(504, 12)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(890, 10)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(505, 13)).toBe(TradeIdVerdict.DUPLICATE);
    // ids not increasing
    expect(g.check(507, 13)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.check(506, 14)).toBe(TradeIdVerdict.DUPLICATE);
    // no times: the id rule alone
    for (let k = 0; k < 5; k++) expect(g.check(600 + k)).toBe(TradeIdVerdict.DUPLICATE);
    expect(g.last).toBe(900);
    expect(g.rebasedBack).toBe(0);
  });

  /** Feeds (id, ts) pairs through the guard and returns the ids it let through, in order. */
  const emitted = (g: TradeIdGuard, trades: readonly (readonly [number, number | undefined])[]) => trades.filter(([id, ts]) => g.check(id, ts) === TradeIdVerdict.NEW).map(([id]) => id);
  const DAY = 86_400_000;
  const T = Date.UTC(2026, 11, 5, 6);

  it('never re-emits a backfill of emitted trades when the mark carries an early time (coinbase-ws fuzz, seed 1, frame 893)', () => {
    const g = new TradeIdGuard(10_000_000, 3);
    const stream = Array.from({ length: 28 }, (_, k) => [867_062 + k, T + k * 1000] as const); // 867062..867089
    const out = emitted(g, stream);
    // 867090 arrives with a time two months early (a mutated copy the adapter accepted)
    out.push(...emitted(g, [[867_090, T - 61 * DAY]]));
    expect(out).toEqual(Array.from({ length: 29 }, (_, k) => 867_062 + k));
    // the clean copy looked like a gap; the backfill lists the same trades with their real times,
    // every one later than the mark's: none may be emitted again
    expect(emitted(g, [...stream, [867_090, T + 28_000]])).toEqual([]);
    expect(g.rebasedBack).toBe(0);
    expect(g.last).toBe(867_090);
    // and the stream goes on
    expect(emitted(g, [[867_091, T + 29_000], [867_092, T + 30_000]])).toEqual([867_091, 867_092]);
    // Date.parse's reading of "1 ", "+1", "1,5": a time in 2001 on the mark does the same
    const h = new TradeIdGuard(10_000_000, 3);
    emitted(h, stream);
    expect(emitted(h, [[867_090, Date.UTC(2001, 0, 1)]])).toEqual([867_090]);
    expect(emitted(h, stream)).toEqual([]);
  });

  it('a move back under an early-timed mark never re-emits the mark itself', () => {
    // trades 101..109 were lost (no frame held them); 110 came with an early time: the backfill
    // may bring 101..109 (never emitted), but 110 was emitted
    const g = new TradeIdGuard(1000, 3);
    const out = emitted(g, [[100, T], [110, T - 61 * DAY]]);
    out.push(...emitted(g, Array.from({ length: 11 }, (_, k) => [100 + k, T + k * 1000] as const)));
    out.push(...emitted(g, [[111, T + 11_000]]));
    expect(out).toEqual([100, 110, 103, 104, 105, 106, 107, 108, 109, 111]);
    expect(new Set(out).size).toBe(out.length);
    expect(g.rebasedBack).toBe(1);
    // a far-ahead id refused on the way does not forget the mark the move back left
    const h = new TradeIdGuard(1000, 3);
    const again = emitted(h, [[100, T], [110, T - 61 * DAY], [103, T + 3000], [104, T + 4000], [105, T + 5000], [9e15, T + 5500], [106, T + 6000], [110, T + 10_000], [111, T + 11_000]]);
    expect(again).toEqual([100, 110, 105, 106, 111]);
  });

  it('recovers from a second poisoned mark while the first one a move back left is still ahead (binance-ws fuzz, seed 2210)', () => {
    const g = new TradeIdGuard(1000, 3);
    // real stream 100.., a poisoned mark 900 (within the bound), moved back from on 103..105
    const out = emitted(g, [[100, T], [900, T + 500], [101, T + 1000], [102, T + 2000], [103, T + 3000], [104, T + 4000]]);
    expect(g.rebasedBack).toBe(1);
    // a second poisoned mark, below the first (900 is still far ahead of the stream)
    out.push(...emitted(g, [[700, T + 4500]]));
    // the real stream after it is followed again after three trades, not dropped for good
    out.push(...emitted(g, Array.from({ length: 6 }, (_, k) => [105 + k, T + 5000 + k * 1000] as const)));
    expect(out).toEqual([100, 900, 103, 104, 700, 107, 108, 109, 110]);
    expect(g.rebasedBack).toBe(2);
    // both poisoned marks were emitted: reached later, each is refused once
    expect(emitted(g, Array.from({ length: 800 }, (_, k) => [111 + k, T + 20_000 + k] as const)).filter((id) => id === 700 || id === 900)).toEqual([]);
  });

  it('a poisoned id taken forward past the mark a move back left does not clear it: the mark is not emitted twice', () => {
    const g = new TradeIdGuard(10_000_000, 3);
    const trades: [number, number][] = [];
    let t = 1000;
    for (let id = 101; id <= 103; id++) trades.push([id, t++]);
    trades.push([113, t - 1]); // poisoned, the real time of 103: the mark
    for (let id = 104; id <= 107; id++) trades.push([id, t++]); // moved back at 106 (113 left as a mark)
    trades.push([149, t - 1]); // a second poisoned id, within the bound, past the first mark
    for (let id = 108; id <= 160; id++) trades.push([id, t++]); // the real stream passes 113 and 149
    const out = emitted(g, trades);
    expect(out.filter((id) => id === 113)).toEqual([113]);
    expect(out.filter((id) => id === 149)).toEqual([149]);
    expect(new Set(out).size).toBe(out.length);
  });

  it('three marks each moved back from while the earlier ones are still ahead: none is emitted twice', () => {
    const g = new TradeIdGuard(10_000_000, 3);
    const trades: [number, number][] = [];
    let t = 1000;
    trades.push([100, t++], [150, t++]); // poisoned 150, moved back from on 101..103
    for (let id = 101; id <= 104; id++) trades.push([id, t++]);
    trades.push([140, t++]); // a second poisoned mark, moved back from on 105..107
    for (let id = 105; id <= 108; id++) trades.push([id, t++]);
    trades.push([130, t++]); // a third, moved back from on 109..111
    for (let id = 109; id <= 160; id++) trades.push([id, t++]);
    const out = emitted(g, trades);
    expect(new Set(out).size).toBe(out.length);
    expect(g.rebasedBack).toBe(3);
    // every real trade but the two before each move back (and the ids the poisons took) emitted
    expect(out.filter((id) => id > 100 && id <= 160 && id !== 130 && id !== 140 && id !== 150)).toEqual(
      Array.from({ length: 60 }, (_, k) => 101 + k).filter((id) => ![101, 102, 105, 106, 109, 110, 130, 140, 150].includes(id)),
    );
  });

  it('the real stream under two poisoned ids reaching the lower one is no restart: it is not emitted twice', () => {
    // (property test: ids under the marks, then the lower mark itself, counted as one run)
    const g = new TradeIdGuard(10_000_000, 3);
    const trades: [number, number][] = [];
    for (let id = 1000; id <= 1008; id++) trades.push([id, 10 * id]);
    trades.push([1011, 10 * 1008], [1012, 10 * 1008]); // two poisoned ids after 1008
    for (let id = 1009; id <= 1030; id++) trades.push([id, 10 * id]);
    const out = emitted(g, trades);
    expect(new Set(out).size).toBe(out.length);
    expect(g.restarts).toBe(0);
    expect(out.filter((id) => id > 1012)).toEqual(Array.from({ length: 18 }, (_, k) => 1013 + k));
  });

  it('follows a venue whose ids really restarted, and only on times later than every trade taken', () => {
    const g = new TradeIdGuard(1000, 3);
    expect(emitted(g, [[5000, T], [5001, T + 1000], [5002, T + 2000]])).toEqual([5000, 5001, 5002]);
    // a replay of emitted ids at their own times: nothing
    expect(emitted(g, [[5000, T], [5001, T + 1000], [5002, T + 2000]])).toEqual([]);
    // the venue restarted its ids: later trades with ids from 1
    expect(emitted(g, [[1, T + 3000], [2, T + 4000], [3, T + 5000], [4, T + 6000]])).toEqual([3, 4]);
    expect(g.restarts).toBe(1);
    expect(g.rebasedBack).toBe(1);
    expect(g.check(4, T + 6000)).toBe(TradeIdVerdict.DUPLICATE);
    // a mark with a wrong (early) time does not lower the bar: the restart's trades must be
    // later than every time taken, and a replay of emitted ids is not
    const h = new TradeIdGuard(1000, 3);
    emitted(h, [[5000, T], [5001, T + 1000], [5002, T - 61 * DAY]]);
    expect(emitted(h, [[4999, T + 500], [5000, T + 600], [5001, T + 1000]])).toEqual([]);
    expect(emitted(h, [[1, T + 3000], [2, T + 4000], [3, T + 5000]])).toEqual([3]);
    // a mark without a time: its real time is unknown, no restart is followed until one with a time
    const u = new TradeIdGuard(1000, 3);
    emitted(u, [[5000, T], [5001, undefined], [5002, undefined]]);
    expect(emitted(u, [[5001, T + 1000], [5002, T + 2000], [5002, T + 2000]])).toEqual([]);
    expect(emitted(u, [[1, T + 3000], [2, T + 4000], [3, T + 5000]])).toEqual([]);
    expect(u.restarts).toBe(0);
  });

  it('given the host clock, a time far from it neither sets the mark\'s time nor moves the mark back', () => {
    let now = T;
    const g = new TradeIdGuard(1000, 3, () => now);
    expect(emitted(g, [[500, T], [900, T + 1000]])).toEqual([500, 900]);
    // later trades behind the mark whose times are a year ahead of the host: no move back
    expect(emitted(g, [[503, T + 365 * DAY], [504, T + 365 * DAY], [505, T + 365 * DAY]])).toEqual([]);
    // the same with plausible times moves back as before
    now = T + 5000;
    expect(emitted(g, [[506, T + 3000], [507, T + 4000], [508, T + 5000]])).toEqual([508]);
    // an early time on the mark (two months) is no time: the mark keeps the earlier one, and a
    // restart is not followed until a trade with a trusted time is taken
    const h = new TradeIdGuard(1000, 3, () => now);
    emitted(h, [[5000, T], [5001, T + 1000], [5002, T - 61 * DAY]]);
    expect(h.lastTs).toBe(T + 1000);
    expect(emitted(h, [[1, T + 3000], [2, T + 4000], [3, T + 5000]])).toEqual([]);
    expect(h.restarts).toBe(0);
  });

  it('reads venue times as strict RFC 3339 only (what Date.parse guesses at is NaN)', () => {
    for (const [text, iso] of [
      ['2026-12-05T06:00:00Z', '2026-12-05T06:00:00.000Z'],
      ['2026-12-05T06:00:00.1Z', '2026-12-05T06:00:00.100Z'],
      ['2026-12-05T06:00:00.12Z', '2026-12-05T06:00:00.120Z'],
      ['2026-12-05T06:00:00.123456789Z', '2026-12-05T06:00:00.123Z'],
      ['2026-12-05T07:30:00.5+01:30', '2026-12-05T06:00:00.500Z'],
      ['2026-12-04T23:00:00-07:00', '2026-12-05T06:00:00.000Z'],
      ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ] as const) expect(rfc3339StrictMs(text), text).toBe(Date.parse(iso));
    for (const bad of ['', '1 ', '+1', '1,5', '1', '2026', '2026-12-05', '2026-12-05 06:00:00Z', '2026-12-05T06:00:00', '2026-12-05t06:00:00z', '2026-12-05T06:00:00.Z', '2026-12-05T06:00:00Z ', ' 2026-12-05T06:00:00Z', '2026-12-05T06:00:00+0100', '2026-12-05T06:00:00+01:00:00', '2026-13-05T06:00:00Z', '2026-02-29T06:00:00Z', '2026-12-32T06:00:00Z', '2026-12-05T24:00:00Z', '2026-12-05T06:60:00Z', '2026-12-05T06:00:61Z', '2026-12-05T06:00:00+24:00', '0001-01-01T00:00:00Z', '2026-12-05T06:00:00.1x2Z', '2026-12-05T06:00:0\t0Z', 'Sat, 05 Dec 2026 06:00:00 GMT']) {
      expect(rfc3339StrictMs(bad), JSON.stringify(bad)).toBeNaN();
    }
    // in place, within a frame's text
    const frame = '{"time":"2026-12-05T06:00:00.25Z","x":1}';
    expect(rfc3339StrictMs(frame, 9, 32)).toBe(Date.parse('2026-12-05T06:00:00.250Z'));
    expect(rfc3339StrictMs(frame, 9, 33)).toBeNaN();
  });

  it('counts every rejection and logs at most one line per (symbol, reason) per window on the injected clock', () => {
    const sink = new Collect();
    let now = 0;
    const r = new FeedErrorReporter({ exchange: 'x', component: 'x:md', sink: () => sink, now: () => now, logEveryMs: 1000 });
    for (let k = 0; k < 5; k++) r.reject('S', 'malformed', `frame ${k}`);
    r.reject('S', 'off_grid', 'level');
    expect(sink.rejects).toHaveLength(6);
    expect(sink.logs).toHaveLength(2);
    now = 999;
    r.reject('S', 'malformed', 'again');
    expect(sink.logs).toHaveLength(2);
    now = 1000;
    r.reject('S', 'malformed', 'later');
    expect(sink.logs).toHaveLength(3);
    expect(sink.logs[2]).toMatch(/later \(and 5 more like it not logged\)/);
    expect(r.counts).toEqual({ malformed: 7, off_grid: 1 });
  });
});

describe('BookSync validation', () => {
  it('never applies a delta with a non-positive price or negative qty, and leaves SYNCED', () => {
    for (const bad of [delta(101, 102, [[-42990, 1]]), delta(101, 102, [[0, 1]]), delta(101, 102, [], [[105, -1]])]) {
      const { sink, sync } = syncedBook();
      const n = sink.events.length;
      sync.onDelta(bad);
      expect(sink.events.length).toBe(n);
      expect(sync.state).toBe('buffering');
      expect(sink.status.at(-1)).toMatchObject({ state: 'resyncing', reason: expect.stringMatching(/^invalid update/) });
      expect(sink.rejects).toHaveLength(1);
      expect(sync.mirror.bids.n + sync.mirror.asks.n).toBe(0);
    }
  });

  it('rejects a frame with a valid U and a huge u instead of letting it poison the sequence', () => {
    const { sink, sync } = syncedBook();
    sync.onDelta(delta(102, 9007199254740000, [[100, 9]]));
    expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    expect(sync.state).toBe('buffering');
    expect(sink.events.some((e) => e.type === 'book_delta' && e.seq === 9007199254740000)).toBe(false);
    // the resync restores the book from the real stream
    sync.onDelta(delta(102, 103, [[100, 7]]));
    sync.onSnapshot({ seq: 102, bids: lv([[100, 6]]), asks: lv([[101, 5]]), ts: 0 });
    expect(sync.state).toBe('synced');
    expect(sync.mirror.bids.get(100)).toBe(7);
  });

  it('resyncs when updates fall far behind the book (the book seq itself is wrong)', () => {
    const { sink, sync } = syncedBook(1000);
    sync.onDelta(delta(102, 102));
    expect(sync.state).toBe('synced');
    (sync.mirror as { seq: number }).seq = 5000; // as if a poisoned snapshot id had been taken
    sync.onDelta(delta(103, 103));
    expect(sync.state).toBe('buffering');
    expect(sink.rejects.at(-1)!.reason).toBe('seq_jump');
  });

  describe('updates buffered while a snapshot is awaited', () => {
    function awaiting(maxSeqJump = 1000) {
      const sink = new Collect();
      const asks: string[] = [];
      const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, maxSeqJump });
      sync.begin();
      return { sink, asks, sync };
    }
    const shown = (sink: Collect, price: number) => sink.events.some((e) => (e.type === 'book_delta' || e.type === 'book_snapshot') && e.bids.some((l) => l.price === price));

    it('a far-ahead update after buffered ones is rejected (seq_jump) and the buffer starts over: the next snapshot syncs', () => {
      const { sink, sync } = awaiting();
      sync.onDelta(delta(101, 102, [[99, 1]]));
      sync.onDelta(delta(9_000_000, 9_000_001, [[42, 1]]));
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
      expect(sync.buffered).toBe(0);
      sync.onDelta(delta(103, 104, [[98, 1]]));
      sync.onDelta(delta(105, 106, [[97, 1]]));
      sync.onSnapshot({ seq: 104, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(106);
      expect(shown(sink, 42)).toBe(false);
    });

    it('a far-off update buffered first is purged by the next real one (ahead or behind), and the book syncs', () => {
      // ahead: the snapshot looks older than the buffer and another is asked for; behind: the
      // snapshot looks far ahead of the buffer and is rejected too (one update cannot tell which is wrong)
      for (const [bad, rejects] of [
        [delta(9_000_000, 9_000_001, [[42, 1]]), ['seq_jump']],
        [delta(1, 2, [[42, 1]]), ['seq_jump', 'seq_jump']],
      ] as const) {
        const { sink, asks, sync } = awaiting();
        sync.onDelta(bad);
        sync.onSnapshot({ seq: 50_002, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
        expect(sync.state).toBe('buffering');
        sync.onDelta(delta(50_003, 50_004, [[98, 1]]));
        expect(sync.buffered).toBe(0);
        sync.onDelta(delta(50_005, 50_006, [[97, 1]]));
        expect(sync.buffered).toBe(1);
        const n = asks.length;
        sync.onSnapshot({ seq: 50_004, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
        expect(sync.state).toBe('synced');
        expect(sync.lastSeq).toBe(50_006);
        expect(asks.length).toBe(n);
        expect(sink.rejects.map((r) => r.reason)).toEqual(rejects);
        expect(shown(sink, 42)).toBe(false);
      }
    });

    it('a far-ahead update after a snapshot awaiting confirmation is rejected, not buffered', () => {
      const { sink, sync } = awaiting();
      sync.onDelta(delta(101, 102));
      sync.onSnapshot({ seq: 110, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.awaitingConfirmation).toBe(true);
      sync.onDelta(delta(9_000_000, 9_000_001, [[42, 1]]));
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
      expect(sync.buffered).toBe(0);
      sync.onDelta(delta(111, 112));
      sync.onSnapshot({ seq: 111, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
    });

    it('a venue whose ids really moved on by more than the bound still syncs: after a long disconnect, and while buffering', () => {
      const { sink, sync } = syncedBook(1000);
      // a long disconnect: the venue's ids moved on by far more than the bound meanwhile
      sync.suspend();
      sync.begin('reconnect');
      sync.onDelta(delta(5_000_001, 5_000_002, [[99, 2]]));
      sync.onSnapshot({ seq: 5_000_001, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(5_000_002);
      // while buffering, without a disconnect: one update is lost, the buffer starts at the new ids
      sync.resync('test');
      sync.onDelta(delta(5_000_003, 5_000_004));
      sync.onDelta(delta(9_000_001, 9_000_002));
      sync.onDelta(delta(9_000_003, 9_000_004, [[98, 1]]));
      sync.onSnapshot({ seq: 9_000_003, bids: lv([[100, 5]]), asks: lv([[101, 5]]), ts: 0 });
      expect(sync.state).toBe('synced');
      expect(sync.lastSeq).toBe(9_000_004);
      expect(sink.rejects.map((r) => r.reason)).toEqual(['seq_jump']);
    });
  });

  it('rejects invalid snapshots (negative bid, zero qty, crossed, far ahead of the stream) and asks again', () => {
    for (const [snap, reason] of [
      [{ seq: 100, bids: lv([[-1, 5]]), asks: lv([[101, 5]]) }, 'non_positive_price'],
      [{ seq: 100, bids: lv([[100, 0]]), asks: lv([[101, 5]]) }, 'zero_qty'],
      [{ seq: 100, bids: lv([[102, 1]]), asks: lv([[101, 5]]) }, 'bad_snapshot'],
      [{ seq: 9007199254740000, bids: lv([[100, 1]]), asks: lv([[101, 5]]) }, 'seq_jump'],
    ] as const) {
      const sink = new Collect();
      const asks: string[] = [];
      const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1 });
      sync.begin();
      sync.onDelta(delta(101, 101, [[99, 1]]));
      sync.onSnapshot({ ...snap, bids: [...snap.bids], asks: [...snap.asks], ts: 0 });
      expect(sync.state, reason).toBe('buffering');
      expect(sink.events, reason).toHaveLength(0);
      expect(sink.rejects.map((r) => r.reason)).toEqual([reason]);
      expect(asks).toHaveLength(2);
    }
  });
});
