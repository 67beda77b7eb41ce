import { fileURLToPath } from 'node:url';
import type { VenueOrderView } from '@cwts/core/adapter-kit';
import { describeMalformedInput, hostileCases } from '@cwts/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coinbaseHarnessInstrument } from '../src/frame-harness.js';
import { CoinbaseUserFeed } from '../src/user-feed.js';
import { createCoinbaseUserFrameHarness, userFrame, userOrderJson } from '../src/user-frame-harness.js';

function feed() {
  const orders: VenueOrderView[] = [];
  const missed: string[] = [];
  let snapshots = 0;
  const f = new CoinbaseUserFeed({
    exchange: 'coinbase',
    instrument: (s) => (s === 'BTC-USD' ? coinbaseHarnessInstrument() : undefined),
    onOrder: (v) => orders.push(v),
    onMissed: (why) => missed.push(why),
    onSnapshot: () => snapshots++,
    sink: () => undefined,
    now: () => 0,
  });
  f.connectionOpened();
  return { f, orders, missed, snapshots: () => snapshots };
}

const hb = (seq: number) => JSON.stringify({ channel: 'heartbeats', client_id: '', timestamp: '2026-12-05T06:00:00Z', sequence_num: seq, events: [{ current_time: 'x', heartbeat_counter: seq }] });

describe('CoinbaseUserFeed (user channel, no I/O)', () => {
  it('reads an order update into the venue order view: exact quantities, state, ids, side', () => {
    const { f, orders, missed } = feed();
    f.onFrame(userFrame(0, 'update', [userOrderJson({ cumulative_quantity: '0.00400000', leaves_quantity: '0.006', status: 'OPEN' })]));
    f.onFrame(userFrame(1, 'update', [userOrderJson({ cumulative_quantity: '0.01', leaves_quantity: '0', status: 'FILLED', order_side: 'SELL', order_type: 'Market', time_in_force: 'IMMEDIATE_OR_CANCEL' })]));
    expect(missed).toEqual([]);
    expect(f.rejected).toBe(0);
    expect(orders[0]).toMatchObject({ venueOrderId: '11111111-0000-4000-8000-000000000001', clientOrderId: 'cwts-1', symbol: 'BTC-USD', side: 'buy', type: 'limit', filledQty: '0.004', qty: '0.01', state: 'open', tif: 'GTC' });
    expect(orders[0]!.createdTs).toBe(Date.parse('2026-12-05T06:00:00.000Z'));
    expect(orders[1]).toMatchObject({ side: 'sell', type: 'market', filledQty: '0.01', qty: '0.01', state: 'filled', tif: 'IOC' });
  });

  it('maps every documented status; FAILED is a reject with its reason, CANCEL_QUEUED still works', () => {
    const { f, orders } = feed();
    const statuses = ['PENDING', 'QUEUED', 'OPEN', 'CANCEL_QUEUED', 'FILLED', 'CANCELLED', 'EXPIRED', 'FAILED'];
    statuses.forEach((status, k) => f.onFrame(userFrame(k, 'update', [userOrderJson({ status, reject_reason: status === 'FAILED' ? 'INSUFFICIENT_FUND' : '' })])));
    expect(orders.map((o) => o.state)).toEqual(['pending', 'pending', 'open', 'open', 'filled', 'cancelled', 'expired', 'rejected']);
    expect(orders[7]!.text).toBe('coinbase: INSUFFICIENT_FUND');
  });

  it('first snapshot of a connection says the stream is live (once, even when batched by 50)', () => {
    const { f, orders, snapshots } = feed();
    f.onFrame(userFrame(0, 'snapshot', [userOrderJson()]));
    f.onFrame(userFrame(1, 'snapshot', [userOrderJson({ order_id: 'b' })]));
    expect(snapshots()).toBe(1);
    expect(orders).toHaveLength(2);
    f.connectionOpened();
    f.onFrame(userFrame(0, 'snapshot', []));
    expect(snapshots()).toBe(2);
  });

  it('a sequence gap (across channels, per connection) asks for a reconciliation poll; the frame still applies', () => {
    const { f, orders, missed } = feed();
    f.onFrame(hb(0));
    f.onFrame(userFrame(1, 'update', [userOrderJson()]));
    expect(missed).toEqual([]);
    f.onFrame(hb(5));
    expect(missed).toEqual(['user channel sequence gap: expected sequence_num 2, got 5']);
    f.onFrame(userFrame(6, 'update', [userOrderJson({ status: 'FILLED', cumulative_quantity: '0.01', leaves_quantity: '0' })]));
    expect(orders.at(-1)!.state).toBe('filled');
    expect(f.stats.gaps).toBe(1);
    // a new connection starts counting again: no gap
    f.connectionOpened();
    f.onFrame(hb(0));
    expect(f.stats.gaps).toBe(1);
  });

  it('rejects bad values (counted by reason), never emits them, and asks for a poll where an update may hide', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ cumulative_quantity: '-0.001' }, 'negative_qty'],
      [{ cumulative_quantity: '0.000000001' }, 'off_grid'],
      [{ leaves_quantity: '1e5' }, 'off_grid'],
      [{ cumulative_quantity: 'NaN' }, 'off_grid'],
      [{ cumulative_quantity: '99999999999999999999' }, 'off_grid'],
      [{ cumulative_quantity: 0.004 }, 'malformed'],
      [{ status: 'SOMETHING_NEW' }, 'unknown_message'],
      [{ order_side: 'SIDEWAYS' }, 'malformed'],
      [{ order_id: '' }, 'malformed'],
    ];
    for (const [extra, reason] of cases) {
      const { f, orders, missed } = feed();
      f.onFrame(userFrame(0, 'update', [userOrderJson(extra)]));
      expect(orders, JSON.stringify(extra)).toEqual([]);
      expect(f.reporter.counts[reason], JSON.stringify(extra)).toBe(1);
      expect(missed.length, JSON.stringify(extra)).toBe(1);
    }
  });

  it("counts another product's order without a poll (we subscribe to ours only), and the venue's error messages", () => {
    const { f, orders, missed } = feed();
    f.onFrame(userFrame(0, 'update', [userOrderJson({ product_id: 'DOGE-USD' })]));
    f.onFrame(JSON.stringify({ type: 'error', message: 'authentication failure' }));
    expect(orders).toEqual([]);
    expect(missed).toEqual([]);
    expect(f.reporter.counts).toEqual({ unknown_symbol: 1, venue_error: 1 });
  });

  it('survives every hostile case derived from its samples: counted, never throws, bad ones never emitted', () => {
    const h = createCoinbaseUserFrameHarness();
    let cases = 0;
    for (const s of h.samples()) {
      h.reset();
      h.feed(s.text);
      const clean = h.orders.map((o) => JSON.stringify(o));
      for (const c of hostileCases(s)) {
        h.reset();
        const before = h.state();
        const after = h.feed(c.input);
        cases++;
        expect(after.frames, c.name).toBe(before.frames + 1);
        if (c.expect === 'reject') {
          expect(after.rejected, c.name).toBeGreaterThan(before.rejected);
          // a bad order is dropped alone: what is emitted is only its clean neighbours, unchanged
          expect(h.orders.length, c.name).toBeLessThan(Math.max(1, clean.length));
          for (const o of h.orders) expect(clean, c.name).toContain(JSON.stringify(o));
        }
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });
});

describe('CoinbaseUserFeed properties', () => {
  const lotsText = (lots: bigint) => {
    const s = lots.toString().padStart(9, '0');
    return `${s.slice(0, -8)}.${s.slice(-8)}`;
  };

  it('any quantities on the lot grid come out exact (no float on the way); qty = filled + leaves', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 52n }), fc.bigInt({ min: 0n, max: 2n ** 52n }), fc.boolean(), (cum, leaves, padded) => {
        const { f, orders } = feed();
        const t = (x: bigint) => (padded ? lotsText(x) : lotsText(x).replace(/\.?0+$/, '') || '0');
        f.onFrame(userFrame(0, 'update', [userOrderJson({ cumulative_quantity: t(cum), leaves_quantity: t(leaves) })]));
        if (cum + leaves > BigInt(Number.MAX_SAFE_INTEGER)) {
          expect(orders).toEqual([]);
          return;
        }
        expect(f.rejected).toBe(0);
        const lots = (text: string) => {
          const [a, b = ''] = text.split('.');
          return BigInt(a!) * 10n ** 8n + BigInt(b.padEnd(8, '0'));
        };
        expect(lots(orders[0]!.filledQty)).toBe(cum);
        expect(lots(orders[0]!.qty)).toBe(cum + leaves);
      }),
      { numRuns: 500 },
    );
  });

  it('a status or time in force named like an Object member ("toString", "__proto__") is no state: never a view with a function in it', () => {
    // found by the property below with seed 1993807173: STATES["toString"] was Object.prototype.toString
    for (const word of ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf']) {
      const { f, orders } = feed();
      f.onFrame(userFrame(0, 'update', [userOrderJson({ status: word })]));
      f.onFrame(userFrame(1, 'update', [userOrderJson({ time_in_force: word })]));
      for (const v of orders) {
        expect(['pending', 'open', 'filled', 'cancelled', 'expired', 'rejected'], word).toContain(v.state);
        expect(typeof v.tif === 'string' || v.tif === undefined, word).toBe(true);
      }
      expect(orders.some((v) => typeof v.state !== 'string')).toBe(false);
    }
  });

  it('random frames and random field values: never throws, every frame counted, only well-formed views out', () => {
    const anyValue = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }));
    const field = fc.constantFrom('order_id', 'client_order_id', 'product_id', 'status', 'cumulative_quantity', 'leaves_quantity', 'order_side', 'order_type', 'creation_time', 'time_in_force', 'reject_reason');
    const mutated = fc.tuple(fc.array(fc.tuple(field, anyValue), { maxLength: 4 }), fc.nat(6)).map(([edits, seq]) => userFrame(seq, 'update', [userOrderJson(Object.fromEntries(edits))]));
    const frame = fc.oneof(mutated, fc.json(), fc.string(), mutated.map((t) => t.slice(0, t.length >> 1)));
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), (frames) => {
        const { f, orders } = feed();
        for (const t of frames) f.onFrame(t);
        expect(f.stats.frames).toBe(frames.length);
        for (const v of orders) {
          expect(v.filledQty).toMatch(/^\d+(\.\d{1,8})?$/);
          expect(v.qty).toMatch(/^\d+(\.\d{1,8})?$/);
          expect(['pending', 'open', 'filled', 'cancelled', 'expired', 'rejected']).toContain(v.state);
          expect(v.symbol).toBe('BTC-USD');
          expect(v.venueOrderId.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

// the exchange conformance suite's malformed-input section, on the user channel's harness
describeMalformedInput({
  venue: 'coinbase user channel',
  frameHarness: { module: fileURLToPath(new URL('../src/user-frame-harness.ts', import.meta.url)), export: 'createCoinbaseUserFrameHarness' },
});
