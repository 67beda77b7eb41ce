import { describe, expect, it } from 'vitest';
import { defineInstrument, type BookView, type OrderIntent, type Signal, type StrategyContext, type SubmitResult } from '@cwts/core';
import { silentLogger } from '@cwts/core/observability';
import { parseFollowerSettings, WhaleFollower } from './whale-follower.js';

const I = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });

function ctx(position = 0) {
  const sent: OrderIntent[] = [];
  const book = { synced: true, bestBid: () => 5_999_900, bestAsk: () => 6_000_000 } as unknown as BookView;
  const c = {
    now: 0,
    instrument: () => I,
    book: () => book,
    positions: { qty: () => position },
    openOrders: () => [],
    submit: (i: OrderIntent): SubmitResult => (sent.push(i), { accepted: true, clientOrderId: `cw-${sent.length}` }),
  } as unknown as StrategyContext;
  return { c, sent, setPosition: (p: number) => (position = p) };
}

const whale = (ts: number, direction: 1 | -1): Signal => ({ id: `w${ts}`, detector: 'whale', kind: 'whale_trade', exchange: 'sim', symbol: 'BTCUSDT', ts, direction, strength: 5, evidence: {} });

describe('WhaleFollower', () => {
  const settings = parseFollowerSettings({ order_notional: 1200, cooldown_ms: 5000, hold_ms: 20000, slippage_bps: 10 });

  it('buys a fixed notional just through the ask on a buy whale, sized in whole lots', () => {
    const { c, sent } = ctx();
    new WhaleFollower(settings, silentLogger()).onSignal(whale(1000, 1), c);
    // 1200 USDT / 60,000 = 0.02 BTC = 2000 lots; limit = ask + 10 bps of 60,000.00 = 60,060.00.
    expect(sent).toEqual([expect.objectContaining({ side: 'buy', type: 'limit', tif: 'IOC', qty: 2000, price: 6_006_000, reason: 'w1000' })]);
  });

  it('respects the cooldown per symbol, then flattens after the hold time with a reduce-only order', () => {
    const { c, sent, setPosition } = ctx();
    const s = new WhaleFollower(settings, silentLogger());
    s.onSignal(whale(1000, -1), c);
    s.onSignal(whale(3000, -1), c);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ side: 'sell', price: 5_999_900 - 5999 });
    setPosition(-2000);
    s.onMarketEvent!({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 20_999, recvTs: 0, tradeId: 'a', price: 1, qty: 1, side: 'buy' }, c);
    expect(sent).toHaveLength(1);
    s.onMarketEvent!({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: 21_000, recvTs: 0, tradeId: 'b', price: 1, qty: 1, side: 'buy' }, c);
    expect(sent[1]).toMatchObject({ side: 'buy', qty: 2000, reduceOnly: true });
    s.onSignal(whale(7000, 1), c);
    expect(sent).toHaveLength(3);
  });
});
