import { lotsToQty, ticksToPrice } from '../domain/instrument.js';
import type { ComponentHealth } from '../observability/http.js';
import type { Engine } from './engine.js';
import { commonToDecimal } from '../risk/portfolio.js';

/** `/status`: each book with its top 10 levels as decimal strings, the risk state, positions, PnL. */
export function engineStatus(engine: Engine, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const levels: { price: number; qty: number }[] = [];
  const books = [];
  for (const rec of engine.books.all()) {
    const i = engine.instrument(rec.book.exchange, rec.book.symbol);
    const side = (s: 'bid' | 'ask') => {
      const n = rec.book.topLevels(s, 10, levels);
      const out: [string, string][] = [];
      for (let k = 0; k < n; k++) out.push(i ? [ticksToPrice(i, levels[k]!.price), lotsToQty(i, levels[k]!.qty)] : [String(levels[k]!.price), String(levels[k]!.qty)]);
      return out;
    };
    books.push({ exchange: rec.book.exchange, symbol: rec.book.symbol, state: rec.state.toUpperCase(), reason: rec.reason, resyncs: rec.resyncs, seq: rec.lastSeq, bids: side('bid'), asks: side('ask') });
  }
  const t = engine.totals();
  return {
    books,
    risk: { state: engine.riskState.state, reason: engine.riskState.reason, since: engine.riskState.since, ...(engine.risk?.status() ?? {}) },
    positions: engine.portfolio.snapshot(engine.markHalfTicks),
    pnl: { realized: commonToDecimal(t.realized), unrealized: commonToDecimal(t.unrealized), fees: commonToDecimal(t.fees), equity: commonToDecimal(t.equity) },
    openOrders: engine.orders.openCount(),
    restoredFrom: engine.restoredFrom ?? null,
    // `unreconciled`: venues not reconciled yet (reconciliation could not complete), retried until they are
    reconcile: engine.reconcileResult ? { ...engine.reconcileResult, unreconciled: engine.unreconciledVenues() } : { pending: !engine.reconciled },
    journal: engine.journalStore ? { path: engine.journalStore.path, fsync: engine.journalStore.policy, pending: engine.journalStore.pending } : null,
    ...extra,
  };
}

/** Readiness: feeds fresh and books synced, reconciliation done, plus whatever else is passed. */
export function engineHealth(engine: Engine, others: () => ComponentHealth[]): ComponentHealth[] {
  const out: ComponentHealth[] = [];
  for (const rec of engine.books.all()) {
    out.push({ name: `book:${rec.book.exchange}:${rec.book.symbol}`, ready: rec.state === 'synced', detail: `${rec.state}: ${rec.reason}` });
  }
  if (out.length === 0) out.push({ name: 'books', ready: false, detail: 'no books yet' });
  const mismatches = engine.reconcileResult?.mismatches.length ?? 0;
  // Done only when every venue is: one that could not be reconciled (venue_unreachable) is
  // retried, and until then its orders and positions are the journal's guess.
  const unreconciled = engine.reconcileResult ? engine.unreconciledVenues() : [];
  const detail = engine.reconciled
    ? `done${mismatches ? `, ${mismatches} mismatch(es) (see /status)` : ''}`
    : unreconciled.length > 0
      ? `not reconciled: ${unreconciled.map((u) => `${u.exchange} (${u.reason}; ${u.failedAttempts} failed attempt(s), ${u.nextAttemptTs === undefined ? 'trying again now' : `next in ${Math.max(0, Math.ceil((u.nextAttemptTs - engine.now) / 1000))} s`})`).join('; ')}`
      : 'pending';
  out.push({ name: 'reconciliation', ready: engine.reconciled, detail });
  // Once stop() began every order is refused (SHUTTING_DOWN) while it waits for its cancels and
  // its venues: a load balancer or an orchestrator must not count this process as serving.
  const stopping = engine.isStopping;
  out.push({ name: 'engine', ready: engine.started && !stopping, detail: stopping ? 'stopping' : engine.started ? 'running' : 'starting' });
  return [...out, ...others()];
}
