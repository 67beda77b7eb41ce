import { lotsToQty, ticksToPrice } from '../domain/instrument.js';
import type { ComponentHealth } from '../observability/http.js';
import type { Engine } from './engine.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { RESTORING_REASON } from '../risk/manager.js';

/**
 * `/status`: each book with its top 10 levels as decimal strings, the risk state, positions, PnL
 * (`pnl.net`: realized + unrealized - fees; `pnl.equity`: starting capital + net, as `risk.equity`).
 *
 * Each section is built on its own, so one that throws shows its `error` (`booksError`,
 * `positionsError` beside the arrays) while the rest still answers: the state in which positions cannot be valued (a fail-safe HALT, `risk evaluation
 * failed`) is the one the operator opens /status for. Figures that need a mark are then null.
 */
export function engineStatus(engine: Engine, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const levels: { price: number; qty: number }[] = [];
  // arrays stay arrays (the live page iterates them); their failure is a sibling field
  let booksError: string | undefined;
  let positionsError: string | undefined;
  const books = section(
    () => {
      const out = [];
      for (const rec of engine.books.all()) {
        const i = engine.instrument(rec.book.exchange, rec.book.symbol);
        const side = (s: 'bid' | 'ask') => {
          const n = rec.book.topLevels(s, 10, levels);
          const sideOut: [string, string][] = [];
          for (let k = 0; k < n; k++) sideOut.push(i ? [ticksToPrice(i, levels[k]!.price), lotsToQty(i, levels[k]!.qty)] : [String(levels[k]!.price), String(levels[k]!.qty)]);
          return sideOut;
        };
        out.push({ exchange: rec.book.exchange, symbol: rec.book.symbol, state: rec.state.toUpperCase(), reason: rec.reason, resyncs: rec.resyncs, seq: rec.lastSeq, bids: side('bid'), asks: side('ask') });
      }
      return out;
    },
    (error) => {
      booksError = error;
      return [];
    },
  );
  // Before the journal restore the state is the default ACTIVE, whatever the journal holds (a
  // HALT among others): RESTORING, unless HALTED already (no state the journal holds is stronger).
  const restoring = engine.restorePending && engine.riskState.state !== 'HALTED';
  const state = restoring
    ? { state: 'RESTORING', reason: RESTORING_REASON, since: engine.riskState.since }
    : { state: engine.riskState.state, reason: engine.riskState.reason, since: engine.riskState.since };
  const risk = section(
    () => ({ ...state, ...(engine.risk?.status() ?? {}), ...(restoring ? state : {}) }),
    (error) => ({ ...state, error }),
  );
  const positions = section(
    () => engine.portfolio.snapshot(engine.markHalfTicks),
    (error) => {
      positionsError = error;
      // unmarked, quantities and realized PnL still hold; an unrealized PnL of 0 would not
      return section(
        () => engine.portfolio.snapshot(() => undefined).map((p) => ({ ...p, unrealizedPnl: null })),
        () => [],
      );
    },
  );
  // the portfolio is empty and equity the starting capital until the restore: no figures
  const pnl = engine.restorePending
    ? { realized: null, unrealized: null, fees: null, net: null, equity: null, note: RESTORING_REASON }
    : section(
        () => {
          const t = engine.totals();
          // `equity` is the risk layer's (starting capital + net, one valuation, as the journal's
          // snapshots take it): the same figure as risk.equity and cwts_equity. Without a risk layer
          // there is no starting capital, and equity is the net PnL.
          const equity = engine.risk?.equitySnapshot?.(t.equity).equity ?? t.equity;
          return { realized: commonToDecimal(t.realized), unrealized: commonToDecimal(t.unrealized), fees: commonToDecimal(t.fees), net: commonToDecimal(t.equity), equity: commonToDecimal(equity) };
        },
        (error) =>
          section(
            () => {
              const t = engine.portfolio.totals(() => undefined);
              return { realized: commonToDecimal(t.realized), unrealized: null, fees: commonToDecimal(t.fees), net: null, equity: null, error };
            },
            () => ({ realized: null, unrealized: null, fees: null, net: null, equity: null, error }),
          ),
      );
  return {
    books,
    ...(booksError !== undefined ? { booksError } : {}),
    risk,
    positions,
    ...(positionsError !== undefined ? { positionsError } : {}),
    pnl,
    openOrders: engine.orders.openCount(),
    restoredFrom: engine.restoredFrom ?? null,
    // `unreconciled`: venues not reconciled yet (reconciliation could not complete), retried until they are
    reconcile: section(
      () => (engine.reconcileResult ? { ...engine.reconcileResult, unreconciled: engine.unreconciledVenues() } : { pending: !engine.reconciled }),
      (error) => ({ error }),
    ),
    journal: engine.journalStore ? { path: engine.journalStore.path, fsync: engine.journalStore.policy, pending: engine.journalStore.pending } : null,
    ...extra,
  };
}

/** `build()`, or what `fallback` makes of its error's message. */
function section<T, F>(build: () => T, fallback: (error: string) => F): T | F {
  try {
    return build();
  } catch (err) {
    return fallback(err instanceof Error ? err.message : String(err));
  }
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
