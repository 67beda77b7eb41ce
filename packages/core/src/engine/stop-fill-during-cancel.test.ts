/**
 * The stop's cancel line once counted every order that ended while the stop waited as
 * "cancelled", a fill that crossed the shutdown's cancel included: the operator read "cancelled 2
 * open order(s)" while one of them had filled and left a position. Each order is now counted by how
 * it ended: cancelled, filled during the stop, or rejected.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { defineInstrument } from '../domain/instrument.js';
import type { Order } from '../domain/orders.js';
import { createLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { Engine } from './engine.js';
import { ScriptedVenue } from './test-venue.js';

const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

async function engineWithThreeResting() {
  const venue = new ScriptedVenue('v', [BTC]);
  const lines: { msg: string; [k: string]: unknown }[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  const engine = new Engine({
    clock: new ManualClock(1_000),
    logger: createLogger({ level: 'info', destination, pretty: false }),
    metrics: new MetricsRegistry({ processMetrics: false }),
    watchdog: false,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
  });
  await engine.start();
  venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });
  const ids: string[] = [];
  for (const price of [4_990_000, 4_980_000, 4_970_000]) {
    const r = engine.submit({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price, qty: 5, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    venue.report(venue.submitted.at(-1)!, { kind: 'ack', leavesQty: 5 });
    ids.push(r.clientOrderId!);
  }
  return { venue, engine, lines, ids };
}

describe('the stop\'s cancel line', () => {
  it('counts an order that filled while its shutdown cancel was in flight as filled, never as cancelled', async () => {
    const { venue, engine, lines, ids } = await engineWithThreeResting();
    // the first order's cancel crosses a fill of its whole quantity; the second is refused as
    // filled (the venue's reject of a cancel for an order it no longer has) after a fill; the third is cancelled
    venue.autoCancel = false;
    venue.cancel = (o: Readonly<Order>) => {
      venue.cancelled.push({ ...o });
      if (o.clientOrderId === ids[0]) venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 5, cumQty: 5, leavesQty: 0, tradeId: 'f1' });
      else if (o.clientOrderId === ids[1]) {
        venue.report(o, { kind: 'fill', lastPrice: o.price!, lastQty: 2, cumQty: 2, leavesQty: 3, tradeId: 'f2' });
        venue.report(o, { kind: 'cancelled', leavesQty: 0, cumQty: 2 });
      } else venue.report(o, { kind: 'cancelled' });
    };
    await engine.stop('SIGTERM');
    const line = lines.find((l) => /open order\(s\) \(shutdown\)/.test(l.msg));
    expect(line?.msg).toBe('cancelled 2 of 3 open order(s) (shutdown): 1 filled before its cancel took effect, 1 of the cancelled partly filled first');
    expect({ cancelled: line?.cancelled, filled: line?.filled, partlyFilled: line?.partlyFilled, rejected: line?.rejected, stillOpen: line?.stillOpen }).toEqual({ cancelled: 2, filled: 1, partlyFilled: 1, rejected: 0, stillOpen: 0 });
  });

  it('an order every cancel reached says only that', async () => {
    const { engine, lines } = await engineWithThreeResting();
    await engine.stop('SIGTERM');
    const line = lines.find((l) => /open order\(s\) \(shutdown\)/.test(l.msg));
    expect(line?.msg).toBe('cancelled 3 open order(s) (shutdown)');
    expect({ cancelled: line?.cancelled, filled: line?.filled, stillOpen: line?.stillOpen }).toEqual({ cancelled: 3, filled: 0, stillOpen: 0 });
  });
});
