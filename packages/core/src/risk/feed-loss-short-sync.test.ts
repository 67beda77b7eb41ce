/**
 * The feed-loss trigger counts a book seen synced on any market event, not only at an
 * evaluation: evaluations on market events run at most every evaluateEveryMs (250 ms), and a
 * book that synced and was lost between two of them was once "never had a feed: nothing was
 * lost" for ever (no REDUCING, the order placed on it kept working).
 */
import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import { BTC, riskTestEngine } from '../engine/risk-test-engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import type { RiskManager } from './manager.js';

const ETH = defineInstrument({ exchange: 'v', symbol: 'ETHUSDT', base: 'ETH', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

describe('feed loss of a book synced only between two evaluations', () => {
  it('a book synced for 100 ms (an order placed on it) and then lost for good moves the state to REDUCING after the grace', async () => {
    const venue = new ScriptedVenue('v', [BTC, ETH]);
    const { clock, engine, risk } = await riskTestEngine({ feedLossGraceMs: 3000 }, { venue });
    // riskTestEngine's BTC snapshot evaluated the state just now; 100 ms later ETH's first snapshot
    clock.advance(100);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'ETHUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 300_000, qty: 1000 }], asks: [{ price: 300_100, qty: 1000 }] });
    expect(engine.books.get('v', 'ETHUSDT')!.state).toBe('synced');
    const r = engine.submit({ exchange: 'v', symbol: 'ETHUSDT', side: 'buy', type: 'limit', price: 299_000, qty: 10, tif: 'GTC', source: 'test' });
    expect(r.accepted, r.message).toBe(true);
    const bid = venue.submitted.at(-1)!;
    venue.report(bid, { kind: 'ack', leavesQty: 10 });
    // 50 ms later the ETH feed drops and never comes back
    clock.advance(50);
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'ETHUSDT', state: 'disconnected', reason: 'socket closed', ts: 0 });
    expect(engine.books.get('v', 'ETHUSDT')!.state).not.toBe('synced');
    for (let k = 0; k < 20; k++) {
      clock.advance(1000);
      (risk as RiskManager).tick();
    }
    // what a book synced for longer gets (manager.test.ts 'feed loss: ...'): REDUCING, and the bid cancelled
    expect(engine.riskState.state).toBe('REDUCING');
    expect(venue.cancelled.map((o) => o.clientOrderId)).toContain(bid.clientOrderId);
  });

  it('control: the same book synced across an evaluation does trigger the feed loss', async () => {
    const venue = new ScriptedVenue('v', [BTC, ETH]);
    const { clock, engine, risk } = await riskTestEngine({ feedLossGraceMs: 3000 }, { venue });
    clock.advance(300);
    venue.sink!.onMarketEvent({ type: 'book_snapshot', exchange: 'v', symbol: 'ETHUSDT', ts: 1, recvTs: 1, seq: 1, reason: 'initial', bids: [{ price: 300_000, qty: 1000 }], asks: [{ price: 300_100, qty: 1000 }] });
    clock.advance(50);
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'ETHUSDT', state: 'disconnected', reason: 'socket closed', ts: 0 });
    for (let k = 0; k < 20; k++) {
      clock.advance(1000);
      (risk as RiskManager).tick();
    }
    expect(engine.riskState.state).toBe('REDUCING');
  });
});
