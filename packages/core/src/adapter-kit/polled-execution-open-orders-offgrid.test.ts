/**
 * The adapter kit's openOrders with one working order off the instrument's tick or lot grid
 * today (placed before the venue changed the pair's grid, or by hand: docs/venues.md "A pair whose
 * grid changes"). Converting it threw for the whole listing: every other working order went
 * unlisted and each restart's reconciliation of the venue failed (venue_unreachable, the venue
 * refused) until someone cancelled that order by hand. Now, as the ccxt adapter does, it is
 * listed at qty 0 (nothing filled), not followed, counted as a refused order read, and the
 * engine's check of a listed order reports it and leaves it alone; the others are listed as
 * before. The driver is in memory; time is a ManualClock.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from '../engine/engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import type { OrderRef, VenueOrderView } from './polled-execution.js';
import { I, StubVenue, polledClient, startPolled, view } from './polled-execution.fixture.js';

const NOW = 100_000_000;

/** A venue with several working orders (I: tick 0.1, lot 0.001), each read back by its venue id. */
class ListingVenue extends StubVenue {
  readonly reads: string[] = [];
  constructor(readonly views: VenueOrderView[]) {
    super();
  }
  override async fetchOpenOrders(): Promise<VenueOrderView[]> {
    return this.views.map((v) => ({ ...v }));
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.reads.push(ref.venueOrderId ?? ref.clientOrderId);
    const v = this.views.find((x) => x.venueOrderId === ref.venueOrderId || (!ref.venueOrderId && x.clientOrderId === ref.clientOrderId));
    return v && { ...v };
  }
}

const GOOD = view({ venueOrderId: 'V1', clientOrderId: 'cw-1', price: '100.0', qty: '0.010' });
/** Placed when the tick was 0.05: its price is off today's 0.1. */
const OFF_TICK = view({ venueOrderId: 'V2', clientOrderId: 'cw-2', price: '100.05', qty: '0.010' });
/** Placed when the lot was 0.0005: its size is off today's 0.001, partly filled on it. */
const OFF_LOT = view({ venueOrderId: 'V3', clientOrderId: 'manual-3', price: '99.0', qty: '0.0105', filledQty: '0.002' });

describe('polled client: openOrders with working orders off the grid', () => {
  it('lists the others as before; each off-grid one at qty 0 with nothing filled (its price where on the grid), not followed, counted', async () => {
    const venue = new ListingVenue([OFF_TICK, GOOD, OFF_LOT]);
    const { client } = await startPolled(venue);
    try {
      const listed = await client.openOrders();
      expect(listed.map((o) => o.clientOrderId)).toEqual(['cw-2', 'cw-1', 'manual-3']);
      expect(listed[1]).toMatchObject({ venueOrderId: 'V1', qty: 10, price: 1000, filledQty: 0, status: 'open' });
      expect(listed[0]).toMatchObject({ venueOrderId: 'V2', qty: 0, filledQty: 0, status: 'open', side: 'buy', source: 'venue' });
      expect(listed[0]!.price).toBeUndefined();
      expect(listed[2]).toMatchObject({ venueOrderId: 'V3', qty: 0, filledQty: 0, price: 990, status: 'open' });
      // only the good one is followed: a poll reads it alone
      expect(client.workingOrders).toBe(1);
      await client.reconcile('test');
      expect(venue.reads).toEqual(['V1']);
      expect(new Map(client.inputRejections())).toEqual(new Map([['order_read', 2]]));
    } finally {
      await client.stop();
    }
  });

  it('a listing with nothing but an off-grid order is no failed read either', async () => {
    const client = polledClient(new ListingVenue([OFF_LOT]));
    await client.start(() => {});
    try {
      await expect(client.openOrders()).resolves.toMatchObject([{ clientOrderId: 'manual-3', qty: 0 }]);
    } finally {
      await client.stop();
    }
  });
});

describe('reconciliation over the polled client with a working order off the grid', () => {
  let engine: Engine | undefined;
  let clock: ManualClock;

  beforeEach(() => {
    vi.useFakeTimers();
    clock = new ManualClock(NOW);
  });
  afterEach(async () => {
    await engine?.stop('test');
    engine = undefined;
    vi.useRealTimers();
  });

  it('succeeds: the off-grid order is reported and left alone (never adopted), the other one of our ids adopted', async () => {
    const execution = polledClient(new ListingVenue([OFF_TICK, GOOD]), { clock, pollIntervalMs: 1000 });
    const md = new ScriptedVenue('v', [I], { canTrade: true }, false);
    engine = new Engine({ clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, onShutdown: 'keep', venues: [{ name: 'v', symbols: ['BTC/USD'], marketData: md, execution }] });
    await engine.start();
    const r = engine.reconcileResult!;
    expect(r.mismatches.filter((m) => m.kind === 'venue_unreachable')).toEqual([]);
    const orders = r.mismatches.filter((m) => m.kind === 'unknown_order').map((m) => [m.clientOrderId, /(adopted|left alone)$/.exec(m.detail)?.[1], /not a valid one/.test(m.detail)]);
    expect(orders).toEqual([
      ['cw-2', 'left alone', true],
      ['cw-1', 'adopted', false],
    ]);
    expect(engine.orders.get('cw-1')).toMatchObject({ status: 'open', qty: 10, price: 1000 });
    expect(engine.orders.get('cw-2')).toBeUndefined();
  });
});
