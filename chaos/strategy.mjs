/**
 * The chaos harness's strategy: a steady stream of small orders so that a SIGKILL at a random
 * moment lands between submit and ack, between fill and journal flush, mid-flush, ... .
 * Alternates sides (and leans against its position) so exposure stays small. Limit orders at the
 * touch: IOC on the sim (it matches them), GTC on the local Binance server (which fills resting
 * orders itself); a GTC order older than `cancel_after_ms` is cancelled. With `sent_log`, every
 * accepted order's client id is appended to that file before the call returns; with `fills_log`,
 * every fill the app reports (onExecution) is appended to that one.
 */
import { appendFileSync } from 'node:fs';
import { CORE_API_VERSION, definePlugin, TOKENS } from '@cwts/core';

class ChaosTrader {
  name = 'chaos-trader';
  last = 0;
  n = 0;
  constructor(s) {
    this.s = s;
  }
  onSignal() {}
  /**
   * With `fills_log`, every fill the app reports is appended (synchronously) as
   * clientOrderId, tradeId, cumQty, lastQty, time (ms): the sim's witness of fills, compared
   * with the journal at the end (chaos/harness.mjs).
   */
  onExecution(r) {
    if (r.kind !== 'fill' || !this.s.fills_log) return;
    appendFileSync(this.s.fills_log, `${r.clientOrderId}\t${r.tradeId ?? ''}\t${r.cumQty}\t${r.lastQty}\t${Date.now()}\n`);
  }
  onMarketEvent(ev, ctx) {
    if (ctx.now - this.last < this.s.interval_ms) return;
    const book = ctx.book(ev.exchange, ev.symbol);
    if (!book || !book.synced) return;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (bid === undefined || ask === undefined) return;
    this.last = ctx.now;
    const open = ctx.openOrders(ev.exchange, ev.symbol);
    for (const o of open) if (ctx.now - o.createdTs > this.s.cancel_after_ms && o.status !== 'pending_cancel') ctx.cancel(o.clientOrderId);
    if (open.length >= this.s.max_open) return;
    const pos = ctx.positions.qty(ev.exchange, ev.symbol);
    const side = pos > this.s.max_lots ? 'sell' : pos < -this.s.max_lots ? 'buy' : this.n++ % 2 === 0 ? 'buy' : 'sell';
    const ioc = this.s.tif === 'IOC';
    const price = ioc ? (side === 'buy' ? ask : bid) : side === 'buy' ? bid : ask;
    const r = ctx.submit({ exchange: ev.exchange, symbol: ev.symbol, side, type: 'limit', price, qty: this.s.qty_lots, tif: this.s.tif, source: 'chaos' });
    // the in-process sim has no log that outlives a kill: this synchronous append is its order log
    if (r.accepted && r.clientOrderId && this.s.sent_log) appendFileSync(this.s.sent_log, `${r.clientOrderId}\n`);
  }
}

export const plugin = definePlugin({
  name: 'cwts-chaos/strategy',
  kind: 'strategy',
  coreApi: CORE_API_VERSION,
  register({ registrar, config }) {
    const s = { interval_ms: 40, qty_lots: 100, max_lots: 500, max_open: 3, cancel_after_ms: 1500, tif: 'IOC', ...config };
    delete s.plugin;
    registrar.factory(TOKENS.Strategy, () => new ChaosTrader(s));
  },
});
export default plugin;
