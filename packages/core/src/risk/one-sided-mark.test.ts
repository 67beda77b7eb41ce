/**
 * A synced book with one side empty (every bid pulled in a sell-off, every ask in a squeeze) has
 * no mid. The position was valued at the last two-sided mid for as long as it stayed so, and the
 * book being SYNCED, no feed-loss trigger fired either: a long whose market offered 20 % below
 * that mid read no drawdown. A long is now valued at no more than the remaining side's price, a
 * short at no less (docs/risk.md, "Mark").
 */
import { describe, expect, it } from 'vitest';
import { riskTestEngine } from '../engine/risk-test-engine.js';

const oneSided = (seq: number, bids: number[], asks: number[]) => ({
  type: 'book_snapshot' as const, exchange: 'v', symbol: 'BTCUSDT', ts: 2, recvTs: 2, seq, reason: 'initial',
  bids: bids.map((price) => ({ price, qty: 1000 })), asks: asks.map((price) => ({ price, qty: 1000 })),
});

describe('the mark of a synced book with one side empty', () => {
  it('a long is valued at no more than the best ask once every bid is gone (and the drawdown HALT fires)', async () => {
    // capital 1000; max_drawdown 10 %
    const t = await riskTestEngine({ feedLossGraceMs: 1000 });
    const { venue, clock, engine, risk, trade } = t;
    trade('buy', 10, 5_000_100); // 0.01 BTC at 50 001: 500 USDT
    expect(engine.riskState.state).toBe('ACTIVE');
    for (let k = 0; k < 10; k++) {
      clock.advance(1000);
      venue.sink!.onMarketEvent(oneSided(100 + k, [], [4_000_000]));
      risk.tick();
    }
    expect(engine.books.get('v', 'BTCUSDT')!.state).toBe('synced');
    // anyone can buy its 0.01 BTC at 40 000: worth at most 400, a 10 % loss of the capital
    expect(risk.markHalfTicks([...engine.portfolio.all()][0]!)).toBe(8_000_000);
    const s = risk.status() as { state: string; drawdownRatio: number };
    expect(s.drawdownRatio).toBeGreaterThanOrEqual(0.09);
    expect(s.state).toBe('HALTED');
  });

  it('a short is valued at no less than the best bid once every ask is gone', async () => {
    const t = await riskTestEngine();
    const { venue, clock, engine, risk, trade } = t;
    trade('sell', 10, 5_000_000);
    clock.advance(1000);
    venue.sink!.onMarketEvent(oneSided(100, [6_100_000], []));
    const p = [...engine.portfolio.all()][0]!;
    expect(risk.markHalfTicks(p)).toBe(12_200_000);
    expect((risk.status() as { state: string }).state).toBe('HALTED');
  });

  it('the remaining side never values a position above the last mid (a long whose asks are gone), and a two-sided book is its mid again', async () => {
    const t = await riskTestEngine();
    const { venue, clock, engine, risk, trade, book } = t;
    trade('buy', 10, 5_000_100);
    clock.advance(1000);
    // bids at 60 000 and no offers: a long is not valued at the squeeze's bid, only at the last mid
    venue.sink!.onMarketEvent(oneSided(100, [6_000_000], []));
    const p = [...engine.portfolio.all()][0]!;
    expect(risk.markHalfTicks(p)).toBe(10_000_100);
    // bids falling below the last mid, still no offers: the bid it sells for
    clock.advance(1000);
    venue.sink!.onMarketEvent(oneSided(101, [4_900_000], []));
    expect(risk.markHalfTicks(p)).toBe(9_800_000);
    book(4_950_000, 4_950_100);
    expect(risk.markHalfTicks(p)).toBe(9_900_100);
  });
});
