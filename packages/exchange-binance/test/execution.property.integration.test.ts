/**
 * Binance execution against the local venue as a hostile one would behave, in any order: trades
 * whose stream event is lost or corrupted, stream outages (with trades made during them), a trade
 * list that lags the order's state, cancels from us and from the venue. Once the venue goes
 * quiet, every order must show exactly the venue's trades, once each, and its end once, after them.
 */
import { SystemClock, lotsToQty, priceToTicks, qtyToLots, type ExecutionReport, type Instrument, type Order } from '@cwts/core';
import { Secret } from '@cwts/core/config';
import { silentLogger } from '@cwts/core/observability';
import { conformanceOrder, waitUntil } from '@cwts/core/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBinanceVenue } from '../src/plugin.js';
import type { BinanceExecution } from '../src/execution.js';
import { FakeBinance } from './fake-binance.js';

const KEY = 'test-api-key-not-real';
const SECRET = 'test-api-secret-not-real-4242';

type Corruption = 'price0' | 'negative' | 'noClientId' | 'overfill';
type Step =
  | { t: 'submit'; lots: number }
  | { t: 'fill'; pick: number; lots: number; event: 'sent' | 'lost' | Corruption }
  | { t: 'cancel'; pick: number }
  | { t: 'venueCancel'; pick: number }
  | { t: 'streamDown' }
  | { t: 'streamUp' }
  | { t: 'lag'; on: boolean }
  | { t: 'wait' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constant('submit' as const), lots: fc.integer({ min: 2, max: 8 }) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('fill' as const), pick: fc.nat(), lots: fc.integer({ min: 1, max: 4 }), event: fc.constantFrom('sent' as const, 'sent' as const, 'lost' as const, 'price0' as const, 'negative' as const, 'noClientId' as const, 'overfill' as const) }), weight: 5 },
  { arbitrary: fc.record({ t: fc.constant('cancel' as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('venueCancel' as const), pick: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('streamDown' as const) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('streamUp' as const) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant('lag' as const), on: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('wait' as const) }), weight: 2 },
);

/** Long enough for the client's REST reads on the local server to come back (a few ms each). */
const settle = () => new Promise((r) => setTimeout(r, 60));

const corrupt: Record<Corruption, (ev: Record<string, unknown>) => void> = {
  price0: (ev) => (ev.L = '0.00000000'),
  negative: (ev) => (ev.l = `-${String(ev.l)}`),
  noClientId: (ev) => (ev.c = 42),
  overfill: (ev) => (ev.z = '1000.00000000'),
};

describe('Binance execution against a hostile venue (property)', () => {
  it('reports exactly the venue\'s trades, once each, and each order\'s end once after them, whatever is lost, corrupted or late', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('rest' as const, 'ws' as const), fc.array(step, { minLength: 1, maxLength: 14 }), async (entry, steps) => {
        const fake = await FakeBinance.start({ apiKey: KEY, apiSecret: SECRET });
        const v = createBinanceVenue(
          { api_url: fake.wsUrl, rest_url: fake.restUrl, api_key: new Secret(KEY), api_secret: new Secret(SECRET), options: { poll_interval_ms: 50, audit_interval_ms: 300, reconnect_initial_ms: 20, reconnect_max_ms: 50, order_entry: entry } },
          { exchange: 'binance', clock: new SystemClock(), logger: silentLogger() },
        );
        const ex = v.execution as BinanceExecution;
        const reports: ExecutionReport[] = [];
        try {
          const [i] = (await v.marketData.loadInstruments(['BTCUSDT'])) as Instrument[];
          await ex.start((r) => reports.push(r));
          await waitUntil(() => ex.userStream?.up === true, 'stream subscribed');
          const orders: { o: Order; id: number }[] = [];
          const working = () => orders.filter(({ id }) => ['NEW', 'PARTIALLY_FILLED'].includes(fake.orders.get(id)!.status));
          for (const s of steps) {
            if (s.t === 'submit') {
              const o = conformanceOrder(i!, { side: 'buy', price: '64000.5', qty: lotsToQty(i!, s.lots * 100) });
              ex.submit(o);
              await waitUntil(() => reports.some((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack'), 'an ack');
              orders.push({ o, id: Number(reports.find((r) => r.clientOrderId === o.clientOrderId && r.kind === 'ack')!.venueOrderId) });
            } else if (s.t === 'fill') {
              const w = working();
              if (w.length === 0) continue;
              const { id } = w[s.pick % w.length]!;
              const fo = fake.orders.get(id)!;
              const left = qtyToLots(i!, fo.origQty) - qtyToLots(i!, fo.executedQty);
              const lots = Math.min(left, s.lots * 100);
              if (s.event === 'lost') fake.wsApi.dropEvents = 1;
              else if (s.event !== 'sent') fake.wsApi.editNextEvent = corrupt[s.event];
              fake.fill(id, lotsToQty(i!, lots));
              fake.wsApi.dropEvents = 0;
              fake.wsApi.editNextEvent = undefined;
            } else if (s.t === 'cancel') {
              const w = working();
              if (w.length === 0) continue;
              const { o, id } = w[s.pick % w.length]!;
              ex.cancel({ ...o, venueOrderId: String(id), status: 'pending_cancel' });
            } else if (s.t === 'venueCancel') {
              const w = working();
              if (w.length === 0) continue;
              fake.cancelOrder(new URLSearchParams({ symbol: 'BTCUSDT', orderId: String(w[s.pick % w.length]!.id) }), () => undefined, () => undefined);
            } else if (s.t === 'streamDown') {
              fake.wsApi.refuse = true;
              fake.wsApi.dropSessions();
              await waitUntil(() => ex.userStream?.up === false, 'stream seen down');
            } else if (s.t === 'streamUp') fake.wsApi.refuse = false;
            else if (s.t === 'lag') fake.wsApi.tradeListLag = s.on ? 1 : 0;
            // the client's reads in flight finish under the venue's present faults
            else await settle();
          }
          await settle();
          // the venue goes quiet and whole again: the client must catch up with it
          fake.wsApi.refuse = false;
          fake.wsApi.tradeListLag = 0;
          await waitUntil(() => ex.userStream?.up === true, 'stream back');
          const settled = () =>
            orders.every(({ o, id }) => {
              const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
              const fills = mine.filter((r) => r.kind === 'fill').length;
              const ended = fake.orders.get(id)!.status === 'CANCELED';
              return fills === fake.wsApi.trades.filter((t) => t.orderId === id).length && (!ended || mine.some((r) => r.kind === 'cancelled'));
            });
          await waitUntil(settled, 'every trade and end reported', 8000).catch(() => undefined);
          await new Promise((r) => setTimeout(r, 100)); // a late duplicate would show now
          for (const { o, id } of orders) {
            const mine = reports.filter((r) => r.clientOrderId === o.clientOrderId);
            const trades = fake.wsApi.trades.filter((t) => t.orderId === id);
            const fills = mine.filter((r) => r.kind === 'fill');
            // every venue trade once, at its price and quantity, cumulative quantities adding up
            expect([...fills.map((f) => f.tradeId)].sort()).toEqual(trades.map((t) => String(t.id)).sort());
            for (const f of fills) {
              const t = trades.find((x) => String(x.id) === f.tradeId)!;
              expect([f.lastPrice, f.lastQty]).toEqual([priceToTicks(i!, t.price), qtyToLots(i!, t.qty)]);
            }
            expect(fills.at(-1)?.cumQty ?? 0).toBe(qtyToLots(i!, fake.orders.get(id)!.executedQty));
            expect(mine.filter((r) => r.kind === 'ack')).toHaveLength(1);
            expect(mine.filter((r) => r.kind === 'rejected' && r.rejects === 'order')).toEqual([]);
            const ends = mine.filter((r) => r.kind === 'cancelled' || r.kind === 'expired');
            if (fake.orders.get(id)!.status === 'CANCELED') {
              expect(ends).toHaveLength(1);
              expect(ends[0]!.cumQty).toBe(qtyToLots(i!, fake.orders.get(id)!.executedQty));
              expect(mine.indexOf(ends[0]!)).toBeGreaterThan(fills.length === 0 ? -1 : mine.indexOf(fills.at(-1)!));
            } else expect(ends).toEqual([]);
          }
          // nothing reported that is not a price and quantity the venue traded
          for (const f of reports.filter((r) => r.kind === 'fill')) expect(f.lastPrice > 0 && f.lastQty > 0).toBe(true);
        } finally {
          await ex.stop();
          await fake.close();
        }
      }),
      {
        numRuns: 40,
        // paths a random run reaches only now and then, always tried: a trade lost while the trade
        // list lags, then the order's end; a corrupted trade, then our cancel; a trade lost on a
        // live connection; trades during an outage
        examples: (['rest', 'ws'] as const).flatMap((entry): [typeof entry, Step[]][] => [
          [entry, [{ t: 'submit', lots: 4 }, { t: 'lag', on: true }, { t: 'fill', pick: 0, lots: 1, event: 'lost' }, { t: 'venueCancel', pick: 0 }, { t: 'wait' }]],
          [entry, [{ t: 'submit', lots: 4 }, { t: 'fill', pick: 0, lots: 1, event: 'price0' }, { t: 'cancel', pick: 0 }]],
          // an event lost on a live connection, and nothing more about that order: only the audit tells
          [entry, [{ t: 'submit', lots: 2 }, { t: 'fill', pick: 0, lots: 1, event: 'lost' }]],
          [entry, [{ t: 'submit', lots: 4 }, { t: 'streamDown' }, { t: 'fill', pick: 0, lots: 2, event: 'sent' }, { t: 'streamUp' }, { t: 'fill', pick: 0, lots: 1, event: 'sent' }]],
        ]),
      },
    );
  }, 240_000);
});
