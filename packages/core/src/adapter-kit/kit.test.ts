import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decimalScale, decimalToUnits } from '../domain/instrument.js';
import type { MarketEventSink } from '../contracts/exchange.js';
import type { BookDeltaEvent, FeedStatusEvent, MarketEvent } from '../domain/events.js';
import { ExponentialBackoff } from './backoff.js';
import { BINANCE_SPOT_RULES, BookSync, type BookSyncOptions } from './book-sync.js';
import { redactCredentials, refusedByVenue, VenueErrorMap } from './errors.js';
import { venueTable } from './trade-check.js';
import { fastScale, unitsOfString } from './fast-decimal.js';
import { JsonCursor, isScanFailure } from './json-cursor.js';
import { MirrorSide } from './mirror-book.js';
import { RateLimiter } from './rate-limiter.js';
import { TimerSet } from './timers.js';

describe('unitsOf (fast decimal -> integer units)', () => {
  it('agrees with the exact bigint parser on random decimals and increments', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 25 }), fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 4 }), (exp, mant, units, pad) => {
        const inc = formatDec(BigInt(mant), exp);
        const scale = decimalScale(inc);
        const value = formatDec(units * BigInt(mant), exp) ;
        const padded = value.includes('.') ? value + '0'.repeat(pad) : pad > 0 ? `${value}.${'0'.repeat(pad)}` : value;
        let exact: number | undefined;
        try {
          exact = decimalToUnits(padded, scale);
        } catch {
          exact = undefined;
        }
        const fast = unitsOfString(padded, fastScale(scale));
        // The fast path works within 2^53 scaled units and answers NaN beyond (callers fall back).
        if (exact === undefined) expect(fast).toBeNaN();
        else if (units * BigInt(mant) > BigInt(Number.MAX_SAFE_INTEGER)) expect(Number.isNaN(fast) || fast === exact).toBe(true);
        else expect(fast).toBe(exact);
      }),
      { seed: 42, numRuns: 2000 },
    );
  });
  it('rejects off-grid, malformed and oversized values', () => {
    const sc = fastScale(decimalScale('0.01'));
    expect(unitsOfString('1.005', sc)).toBeNaN();
    expect(unitsOfString('1.00500000', sc)).toBeNaN();
    expect(unitsOfString('1.01000000', sc)).toBe(101);
    expect(unitsOfString('', sc)).toBeNaN();
    expect(unitsOfString('1e5', sc)).toBeNaN();
    expect(unitsOfString('.5', sc)).toBeNaN();
    expect(unitsOfString('5.', sc)).toBeNaN();
    expect(unitsOfString('1.2.3', sc)).toBeNaN();
    expect(unitsOfString('99999999999999999999', sc)).toBeNaN();
    expect(unitsOfString('-2.5', sc)).toBe(-250);
    const five = fastScale(decimalScale('0.05'));
    expect(unitsOfString('0.15', five)).toBe(3);
    expect(unitsOfString('0.16', five)).toBeNaN();
  });
});

function formatDec(m: bigint, exp: number): string {
  const s = m.toString().padStart(exp + 1, '0');
  return exp === 0 ? s : `${s.slice(0, s.length - exp)}.${s.slice(s.length - exp)}`;
}

describe('JsonCursor', () => {
  it('walks a frame and validates what it skips', () => {
    const c = new JsonCursor().reset('{"a":1, "bb" : [1,{"x":"y"},true,null,-2.5e3], "c":"s\\"q","d":false}');
    c.beginObject();
    const seen: string[] = [];
    for (let first = true; c.nextKey(first); first = false) {
      seen.push(c.text());
      if (c.is('a')) expect(c.readInt()).toBe(1);
      else if (c.is('d')) expect(c.readBool()).toBe(false);
      else c.skipValue();
    }
    c.end_();
    expect(seen).toEqual(['a', 'bb', 'c', 'd']);
  });
  it('fails on truncated or corrupt frames', () => {
    for (const bad of ['{"a":1', '{"a":[1,2}', '{"a":tru}', '{"a" 1}', '{"a":1}x', '{"a":"unterminated}']) {
      const c = new JsonCursor().reset(bad);
      let failed = false;
      try {
        c.beginObject();
        for (let first = true; c.nextKey(first); first = false) c.skipValue();
        c.end_();
      } catch (err) {
        failed = isScanFailure(err);
      }
      expect(failed, bad).toBe(true);
    }
  });
});

describe('MirrorSide', () => {
  it('matches a Map-based model under random updates', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 3 })), { maxLength: 400 }), (ops) => {
        const bid = new MirrorSide(true, 4);
        const ask = new MirrorSide(false, 4);
        const mb = new Map<number, number>();
        const ma = new Map<number, number>();
        for (const [isBid, p, q] of ops) {
          (isBid ? bid : ask).set(p, q);
          const m = isBid ? mb : ma;
          if (q === 0) m.delete(p);
          else m.set(p, q);
        }
        expect(bid.levels()).toEqual([...mb].sort((a, b) => b[0] - a[0]).map(([price, qty]) => ({ price, qty })));
        expect(ask.levels()).toEqual([...ma].sort((a, b) => a[0] - b[0]).map(([price, qty]) => ({ price, qty })));
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

class Collect implements MarketEventSink {
  events: MarketEvent[] = [];
  status: FeedStatusEvent[] = [];
  errors: string[] = [];
  onMarketEvent(e: MarketEvent) {
    this.events.push(structuredClone(e));
  }
  onFeedStatus(s: FeedStatusEvent) {
    this.status.push(s);
  }
  onFeedError(_c: string, m: string) {
    this.errors.push(m);
  }
}

function delta(U: number, u: number, bids: [number, number][] = [], asks: [number, number][] = []): BookDeltaEvent {
  return { type: 'book_delta', exchange: 'x', symbol: 'S', ts: 0, recvTs: 0, firstSeq: U, seq: u, bids: bids.map(([price, qty]) => ({ price, qty })), asks: asks.map(([price, qty]) => ({ price, qty })) };
}

describe('BookSync with Binance rules', () => {
  const make = (extra: Partial<BookSyncOptions> = {}) => {
    const sink = new Collect();
    const asks: string[] = [];
    const sync = new BookSync({ exchange: 'x', symbol: 'S', rules: BINANCE_SPOT_RULES, sink: () => sink, requestSnapshot: (_s, why) => asks.push(why), now: () => 1, ...extra });
    return { sink, asks, sync };
  };
  it('buffers, applies the documented first-event rule and drops stale events', () => {
    const { sink, asks, sync } = make();
    sync.begin();
    sync.onDelta(delta(95, 99, [[10, 1]]));
    sync.onDelta(delta(100, 103, [[10, 2]]));
    sync.onDelta(delta(104, 105, [[11, 1]]));
    expect(asks).toHaveLength(1);
    sync.onSnapshot({ seq: 101, bids: [{ price: 10, qty: 5 }], asks: [{ price: 20, qty: 1 }], ts: 0 });
    expect(sync.state).toBe('synced');
    const types = sink.events.map((e) => (e.type === 'book_delta' ? `d${e.seq}` : e.type));
    expect(types).toEqual(['book_snapshot', 'd103', 'd105']);
    expect(sync.mirror.bids.levels()).toEqual([{ price: 11, qty: 1 }, { price: 10, qty: 2 }]);
    expect(sink.status.at(-1)?.state).toBe('synced');
  });
  it('refetches a snapshot older than the buffer and resyncs on a gap', () => {
    const { sink, asks, sync } = make();
    sync.begin();
    sync.onDelta(delta(200, 210));
    sync.onSnapshot({ seq: 150, bids: [], asks: [], ts: 0 });
    expect(asks).toHaveLength(2);
    sync.onSnapshot({ seq: 205, bids: [{ price: 1, qty: 1 }], asks: [{ price: 3, qty: 1 }], ts: 0 });
    expect(sync.state).toBe('synced');
    sync.onDelta(delta(213, 214));
    expect(sync.state).toBe('buffering');
    expect(sink.status.at(-1)).toMatchObject({ state: 'resyncing' });
    expect(sink.status.at(-1)!.reason).toMatch(/gap/);
    expect(sync.resyncs.gap).toBe(1);
    sync.onSnapshot({ seq: 214, bids: [{ price: 1, qty: 2 }], asks: [{ price: 3, qty: 1 }], ts: 0 });
    // nothing buffered is newer than the snapshot: the next update confirms it
    expect(sync.state).toBe('buffering');
    sync.onDelta(delta(215, 215));
    expect(sync.state).toBe('synced');
    const snaps = sink.events.filter((e) => e.type === 'book_snapshot');
    expect(snaps.map((s) => (s as { reason: string }).reason)).toEqual(['initial', 'resync']);
  });
  it('shows a fetched snapshot only once an update confirms it (U <= id + 1 <= u), and refetches one ahead of the stream', () => {
    const { sink, asks, sync } = make({ maxOlderAfterSnapshot: 3 });
    sync.begin();
    sync.onDelta(delta(100, 101));
    // the snapshot claims id 500 000 while the stream is at 101 (within the jump bound)
    sync.onSnapshot({ seq: 500_000, bids: [{ price: 1, qty: 1 }], asks: [{ price: 3, qty: 1 }], ts: 0 });
    expect(sync.state).toBe('buffering');
    expect(sink.events.filter((e) => e.type === 'book_snapshot')).toHaveLength(0);
    for (let u = 102; u <= 104; u++) sync.onDelta(delta(u, u));
    expect(sync.awaitingConfirmation).toBe(true);
    sync.onDelta(delta(105, 105)); // the fourth update older than the snapshot: fetch another
    expect(sync.awaitingConfirmation).toBe(false);
    expect(sink.status.at(-1)!.reason).toMatch(/snapshot 500000 not confirmed/);
    sync.onDelta(delta(106, 106));
    expect(asks.length).toBe(2);
    sync.onSnapshot({ seq: 107, bids: [{ price: 1, qty: 1 }], asks: [{ price: 3, qty: 1 }], ts: 0 });
    sync.onDelta(delta(107, 107)); // older: dropped
    expect(sync.state).toBe('buffering');
    sync.onDelta(delta(108, 109, [[2, 5]])); // covers 108: the book is shown with it
    expect(sync.state).toBe('synced');
    expect(sink.events.filter((e) => e.type === 'book_snapshot' || e.type === 'book_delta').map((e) => e.type)).toEqual(['book_snapshot', 'book_delta']);
    expect(sync.mirror.bids.best()).toBe(2);
    // a live update more than the jump bound behind the snapshot: the snapshot is refused at once
    const far = make({ maxSeqJump: 100 });
    far.sync.begin();
    far.sync.onDelta(delta(850, 851));
    far.sync.onSnapshot({ seq: 900, bids: [{ price: 1, qty: 1 }], asks: [{ price: 3, qty: 1 }], ts: 0 });
    expect(far.sync.awaitingConfirmation).toBe(true);
    far.sync.onDelta(delta(5, 6));
    expect(far.sync.awaitingConfirmation).toBe(false);
    expect(far.sink.status.at(-1)!.reason).toMatch(/ahead of the stream/);
  });

  it('while synced, a run of updates all older than the book (ids restarted below it, within the jump bound) resyncs, not freezes', () => {
    const { sink, asks, sync } = make({ maxOldInARow: 5 });
    sync.begin();
    sync.onDelta(delta(1000, 1000));
    sync.onSnapshot({ seq: 1000, bids: [{ price: 10, qty: 1 }], asks: [{ price: 12, qty: 1 }], ts: 0 });
    sync.onDelta(delta(1001, 1001, [[11, 1]]));
    expect(sync.state).toBe('synced');
    // a few redelivered old updates, then a new one: no resync, the count starts again
    for (let u = 995; u <= 999; u++) sync.onDelta(delta(u, u));
    sync.onDelta(delta(1002, 1002));
    for (let u = 996; u <= 1000; u++) sync.onDelta(delta(u, u));
    sync.onDelta(delta(1003, 1003));
    expect(sync.state).toBe('synced');
    // the venue restarted its ids at 1: every update looks old; the sixth in a row resyncs
    for (let u = 1; u <= 6; u++) sync.onDelta(delta(u, u, [[9, u]]));
    expect(sync.state).toBe('buffering');
    expect(sink.status.at(-1)!.reason).toMatch(/^6 updates in a row at or below the book's id 1003 \(last 6\.\.6\): the venue may have restarted its ids/);
    sync.onDelta(delta(7, 7));
    expect(asks).toHaveLength(2); // Binance: the snapshot is fetched once an update is buffered
    sync.onSnapshot({ seq: 7, bids: [{ price: 10, qty: 1 }], asks: [{ price: 12, qty: 1 }], ts: 0 });
    sync.onDelta(delta(8, 8, [[9, 1]]));
    expect(sync.state).toBe('synced');
    expect(sink.events.filter((e) => e.type === 'book_delta').map((e) => (e as BookDeltaEvent).seq)).toEqual([1001, 1002, 1003, 8]);
  });

  it('resyncs on a crossed book and on a checksum mismatch, never emitting the bad delta', () => {
    const { sink, sync } = make({ checksum: (book, expected) => book.bids.best() + book.asks.best() === expected });
    sync.begin();
    sync.onDelta(delta(1, 1));
    sync.onSnapshot({ seq: 1, bids: [{ price: 10, qty: 1 }], asks: [{ price: 12, qty: 1 }], ts: 0 });
    sync.onDelta(delta(2, 2, [[11, 1]]), 23);
    expect(sync.state).toBe('synced');
    sync.onDelta(delta(3, 3, [[12, 1]]), 24);
    expect(sink.status.at(-1)!.reason).toMatch(/crossed/);
    expect(sink.events.filter((e) => e.type === 'book_delta').map((e) => (e as BookDeltaEvent).seq)).toEqual([2]);
    sync.onSnapshot({ seq: 3, bids: [{ price: 10, qty: 1 }], asks: [{ price: 12, qty: 1 }], ts: 0 });
    sync.onDelta(delta(4, 4, [[9, 1]]), 999);
    expect(sink.status.at(-1)!.reason).toMatch(/checksum/);
    expect(sync.resyncs).toMatchObject({ crossed: 1, checksum: 1 });
  });
});

describe('ExponentialBackoff', () => {
  it('grows to the cap with bounded jitter', () => {
    let x = 0;
    const b = new ExponentialBackoff({ initialMs: 100, maxMs: 1000, random: () => (x = (x + 0.37) % 1) });
    const ds = Array.from({ length: 8 }, () => b.next());
    ds.forEach((d, n) => {
      const c = Math.min(1000, 100 * 2 ** n);
      expect(d).toBeGreaterThanOrEqual(c / 2);
      expect(d).toBeLessThan(c);
    });
    b.reset();
    expect(b.attempts).toBe(0);
  });
});

describe('RateLimiter', () => {
  it('enforces every bucket a request draws from, and server back-off', () => {
    let now = 0;
    const rl = new RateLimiter([{ name: 'ip', limit: 10, intervalMs: 1000 }, { name: 'orders', limit: 2, intervalMs: 1000 }], () => now);
    expect(rl.tryAcquire({ ip: 1, orders: 1 })).toBe(true);
    expect(rl.tryAcquire({ ip: 1, orders: 1 })).toBe(true);
    expect(rl.tryAcquire({ ip: 1, orders: 1 })).toBe(false);
    expect(rl.waitTime({ ip: 1, orders: 1 })).toBe(1001);
    expect(rl.tryAcquire({ ip: 5 })).toBe(true);
    expect(rl.tryAcquire({ ip: 5 })).toBe(false);
    now = 999;
    expect(rl.tryAcquire({ ip: 1, orders: 1 })).toBe(false);
    now = 1001;
    expect(rl.tryAcquire({ ip: 1, orders: 1 })).toBe(true);
    rl.noteUsed('ip', 9);
    expect(rl.available('ip')).toBe(1);
    rl.blockUntil(2500, ['ip']);
    now = 1500;
    expect(rl.waitTime({ ip: 1 })).toBe(1000);
    expect(rl.waitTime({ ip: 11 })).toBe(Infinity);
    rl.close();
  });
});

describe('TimerSet', () => {
  it('clears everything on close and schedules nothing after', async () => {
    const t = new TimerSet();
    let fired = 0;
    t.timeout(() => fired++, 10_000);
    t.interval(() => fired++, 10_000);
    const sleeping = t.sleep(10_000);
    expect(t.size).toBe(3);
    t.close();
    await sleeping;
    expect(t.size).toBe(0);
    expect(t.timeout(() => fired++, 1)).toBeUndefined();
    expect(fired).toBe(0);
  });

  it('forgets a sleep once it has ended: rate-limited waits over months do not grow memory', async () => {
    const t = new TimerSet();
    for (let k = 0; k < 50; k++) await t.sleep(0);
    expect((t as unknown as { sleepers: Set<unknown> }).sleepers.size).toBe(0);
    const pending = t.sleep(10_000);
    expect((t as unknown as { sleepers: Set<unknown> }).sleepers.size).toBe(1);
    t.close();
    await pending;
    expect((t as unknown as { sleepers: Set<unknown> }).sleepers.size).toBe(0);
  });
});

describe('error mapping', () => {
  it('maps by code and message and redacts credentials', () => {
    const m = new VenueErrorMap('binance', [
      { code: -2010, message: /insufficient balance/i, reason: 'INSUFFICIENT_BALANCE' },
      { code: -2010, reason: 'INVALID_ORDER' },
      { code: -1022, reason: 'AUTH_FAILED', text: 'check api_secret' },
    ]);
    expect(m.map(-2010, 'Account has insufficient balance for requested action.').reason).toBe('INSUFFICIENT_BALANCE');
    expect(m.map(-2010, 'Duplicate order sent.').reason).toBe('INVALID_ORDER');
    expect(m.map(-1022, 'Signature for this request is not valid.').text).toBe('binance -1022: Signature for this request is not valid. (check api_secret)');
    expect(m.map(-9, 'x').reason).toBe('VENUE_ERROR');
    expect(redactCredentials('GET /api/v3/order?symbol=X&signature=abcdef&timestamp=1')).toBe('GET /api/v3/order?symbol=X&signature=[redacted]&timestamp=1');
    expect(redactCredentials('{"X-MBX-APIKEY":"k123"}')).not.toContain('k123');
  });

  it('a venue word table finds only its own entries: "toString" or "__proto__" finds nothing', () => {
    const t = venueTable({ FILLED: 'filled', toString: 'x' as string });
    expect(t.FILLED).toBe('filled');
    expect(t.toString).toBe('x');
    const u = venueTable({ FILLED: 'filled' });
    for (const w of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) expect(u[w], w).toBeUndefined();
    expect(Object.isFrozen(u)).toBe(true);
  });

  it("tells the venue's refusal from an outcome that is unknown (the order may be working)", () => {
    const named = (name: string) => Object.assign(new Error('x'), { name });
    // the venue's own code, or ccxt's refusal classes: refused
    expect(refusedByVenue(new Error('anything'), -2010)).toBe(true);
    expect(refusedByVenue(new Error('anything'), 'EOrder:Insufficient funds')).toBe(true);
    for (const n of ['InsufficientFunds', 'InvalidOrder', 'AuthenticationError', 'OperationRejected', 'RateLimitExceeded', 'OrderNotFound']) expect(refusedByVenue(named(n), undefined), n).toBe(true);
    // a network failure, an unreadable answer, an error thrown while reading it: unknown
    for (const n of ['RequestTimeout', 'NetworkError', 'ExchangeNotAvailable', 'BadResponse', 'NullResponse', 'Error']) expect(refusedByVenue(named(n), undefined), n).toBe(false);
    // ccxt's generic ExchangeError, thrown for a code ccxt cannot class and for a venue's internal
    // error (Bybit 10016 "System error", Coinbase internal_server_error): the order may be working
    expect(refusedByVenue(named('ExchangeError'), undefined)).toBe(false);
    expect(refusedByVenue(Object.assign(new Error('bybit {"retCode":10016,"retMsg":"System error. Please try again later."}'), { name: 'ExchangeError' }), undefined)).toBe(false);
    expect(refusedByVenue(new TypeError("Cannot use 'in' operator"), undefined)).toBe(false);
    expect(refusedByVenue(new Error('order/create answered without an orderId'), undefined)).toBe(false);
    expect(refusedByVenue('a string', undefined)).toBe(false);
    expect(refusedByVenue(null, undefined)).toBe(false);
    // a refusal class whose words say the request timed out or the connection failed: unknown
    // (the rule every adapter uses, Binance's WebSocket API and REST paths included)
    for (const m of ['ECONNRESET', 'socket hang up', 'request timed out', 'fetch failed', 'connect ECONNREFUSED 127.0.0.1:1'])
      expect(refusedByVenue(Object.assign(new Error(m), { name: 'ExchangeError' }), undefined), m).toBe(false);
    expect(refusedByVenue(Object.assign(new Error('-1021 timed out'), { name: 'ExchangeError' }), -1021), 'a code decides').toBe(true);
  });

  it('a code the venue documents as "outcome unknown" is not a refusal; a hostile message of any type maps without throwing', () => {
    const m = new VenueErrorMap('binance', [
      { code: -1007, reason: 'VENUE_ERROR', outcomeUnknown: true, text: 'execution status unknown' },
      { code: -2010, reason: 'INSUFFICIENT_BALANCE' },
    ]);
    const unknown = m.map(-1007, 'Timeout waiting for response from backend server. Send status unknown; execution status unknown.');
    expect(unknown).toMatchObject({ reason: 'VENUE_ERROR', code: -1007, outcomeUnknown: true });
    expect(refusedByVenue(new Error('x'), unknown)).toBe(false);
    const refused = m.map(-2010, 'Account has insufficient balance');
    expect(refused.outcomeUnknown).toBeUndefined();
    expect(refusedByVenue(new Error('x'), refused)).toBe(true);
    expect(refusedByVenue(Object.assign(new Error('x'), { name: 'InvalidOrder' }), m.map(undefined, 'x'))).toBe(true);
    expect(refusedByVenue(Object.assign(new Error('x'), { name: 'RequestTimeout' }), m.map(undefined, 'x'))).toBe(false);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    for (const msg of [42, null, undefined, { a: 1 }, ['x'], 10n, cycle]) expect(() => m.map(-2010, msg)).not.toThrow();
    expect(m.map(-2010, { why: 'no' }).text).toBe('binance -2010: {"why":"no"}');
  });
});
