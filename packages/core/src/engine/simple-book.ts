import type { BookLevel } from '../domain/events.js';
import type { BookView } from '../contracts/trading.js';

/**
 * A plain L2 book on Maps: correct and small. The microstructure engine's book replaces it on
 * the hot path; this one stays as the readable reference the fast one is tested against.
 */
export class SimpleL2Book implements BookView {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private best: { bid: number | undefined; ask: number | undefined } | undefined;
  synced = false;

  constructor(
    readonly exchange: string,
    readonly symbol: string,
  ) {}

  clear(): void {
    this.bids.clear();
    this.asks.clear();
    this.best = undefined;
  }

  applyLevels(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    for (const l of bids) setLevel(this.bids, l);
    for (const l of asks) setLevel(this.asks, l);
    this.best = undefined;
  }

  bestBid(): number | undefined {
    return this.bests().bid;
  }
  bestAsk(): number | undefined {
    return this.bests().ask;
  }

  isCrossed(): boolean {
    const { bid, ask } = this.bests();
    return bid !== undefined && ask !== undefined && bid >= ask;
  }

  qtyAt(side: 'bid' | 'ask', price: number): number {
    return (side === 'bid' ? this.bids : this.asks).get(price) ?? 0;
  }

  topLevels(side: 'bid' | 'ask', n: number, out: { price: number; qty: number }[]): number {
    const m = side === 'bid' ? this.bids : this.asks;
    const prices = [...m.keys()].sort(side === 'bid' ? (a, b) => b - a : (a, b) => a - b);
    const count = Math.min(n, prices.length);
    for (let i = 0; i < count; i++) {
      const p = prices[i]!;
      if (out[i]) {
        out[i]!.price = p;
        out[i]!.qty = m.get(p)!;
      } else out[i] = { price: p, qty: m.get(p)! };
    }
    return count;
  }

  levelCount(side: 'bid' | 'ask'): number {
    return (side === 'bid' ? this.bids : this.asks).size;
  }

  private bests(): { bid: number | undefined; ask: number | undefined } {
    if (!this.best) {
      let bid: number | undefined;
      let ask: number | undefined;
      for (const p of this.bids.keys()) if (bid === undefined || p > bid) bid = p;
      for (const p of this.asks.keys()) if (ask === undefined || p < ask) ask = p;
      this.best = { bid, ask };
    }
    return this.best;
  }
}

function setLevel(m: Map<number, number>, l: BookLevel): void {
  if (l.qty === 0) m.delete(l.price);
  else m.set(l.price, l.qty);
}
