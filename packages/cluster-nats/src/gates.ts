import { formatScaled, type OrderIntent, type RiskCheck, type RiskContext, type RiskDecision } from '@cwts/core';
import { type Engine } from '@cwts/core/engine';
import { COMMON_EXPONENT, reducesExposure } from '@cwts/core/risk';
import type { BudgetLedger } from './budget.js';
import { worstGrossExposure } from './exposure.js';

const OK: RiskDecision = { ok: true };

/** The `halt` key: the global kill switch (written by `risk-aggregator --halt` or the aggregator itself). */
export interface HaltDoc {
  reason: string;
  by: string;
  ts: number;
}

/**
 * Reads a `halt` record. Anything that is not `{ reason: string, by?: string, ts?: number }`
 * (JSON `null`, a number, bad JSON) is still a HALT: the key is set, so the cluster is halted,
 * and the record says "unreadable HALT record".
 */
export function readHaltDoc(json: () => unknown): HaltDoc {
  let raw: unknown;
  try {
    raw = json();
  } catch (err) {
    return { reason: `unreadable HALT record (${(err as Error)?.message ?? String(err)})`, by: '?', ts: 0 };
  }
  const m = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  if (!m || typeof m.reason !== 'string') return { reason: `unreadable HALT record (${JSON.stringify(raw) ?? String(raw)})`.slice(0, 300), by: '?', ts: 0 };
  return { reason: m.reason, by: typeof m.by === 'string' ? m.by : '?', ts: typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : 0 };
}

/**
 * The global HALT, at the front of the shard's checks: while the `halt` key is set (or a HALT
 * this shard observed has not reached its engine yet) every order is refused with KILL_SWITCH.
 * It is a synchronous flag set by the HALT watch, so it holds from the moment the shard sees the
 * key, even before the engine started (and could apply its own HALTED state).
 */
export class ClusterHaltGate implements RiskCheck {
  readonly name = 'cluster_halt';
  constructor(private readonly halted: () => HaltDoc | undefined) {}
  check(): RiskDecision {
    const h = this.halted();
    if (h === undefined) return OK;
    return { ok: false, reason: 'KILL_SWITCH', message: `cluster HALT by ${h.by}: ${h.reason}` };
  }
}

/**
 * Only the shard holding a symbol's lease trades it. While the shard hands a symbol over to
 * another shard it still holds the lease, and only orders that reduce its position pass (the
 * rule of `reducesExposure`: opposite the position and, with our resting orders on that side,
 * not past flat), so the position cannot flip during the handover.
 */
export class LeaseGate implements RiskCheck {
  readonly name = 'cluster_lease';
  constructor(private readonly state: (exchange: string, symbol: string) => 'held' | 'releasing' | 'none') {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const s = this.state(intent.exchange, intent.symbol);
    if (s === 'held') return OK;
    if (s === 'releasing') {
      if (reducesExposure(intent, ctx)) return OK;
      return { ok: false, reason: 'NOT_LEASED', message: `${intent.exchange}:${intent.symbol} is being handed over to another shard: only orders that reduce the position` };
    }
    return { ok: false, reason: 'NOT_LEASED', message: `${intent.exchange}:${intent.symbol} is not leased to this shard (another shard trades it, or the lease is not renewed)` };
  }
}

/**
 * The shard's reserved share of `[cluster] max_total_position`. An order whose worst-case gross
 * exposure exceeds what the shard holds (or its share, whichever is less) is refused, and a
 * refill is requested in the background when the share allows it.
 * Orders that only reduce exposure always pass (`reducesExposure`: opposite the position and,
 * with our resting orders on that side, not past flat; such an order cannot raise the worst-case
 * exposure): a limit never blocks an exit, resting exits or not.
 */
export class BudgetGate implements RiskCheck {
  readonly name = 'cluster_budget';
  constructor(private readonly attached: () => { engine: Engine; ledger: BudgetLedger } | undefined) {}

  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const a = this.attached();
    if (!a) return { ok: false, reason: 'CLUSTER_BUDGET', message: 'cluster shard not started' };
    const { engine: e, ledger } = a;
    if (reducesExposure(intent, ctx)) return OK;
    const need = worstGrossExposure(e, intent);
    if (need === undefined) return { ok: false, reason: 'NO_LIQUIDITY', message: `no price to value the exposure of ${intent.symbol} against the cluster budget` };
    // Budget held beyond this shard's share (left from when it had more symbols) is not used:
    // it goes back as exposure falls, so the other shards get theirs.
    const cap = ledger.cap();
    const usable = ledger.held < cap ? ledger.held : cap;
    if (need <= usable) return OK;
    const text = (x: bigint) => formatScaled(x, COMMON_EXPONENT);
    if (need > cap) return { ok: false, reason: 'CLUSTER_BUDGET', message: `needs ${text(need)} of cluster.max_total_position, above this shard's share ${text(cap)} (its symbols' part of the limit)` };
    ledger.request(need);
    return { ok: false, reason: 'CLUSTER_BUDGET', message: `needs ${text(need)} of cluster.max_total_position, this shard holds ${text(ledger.held)}; more requested` };
  }
}

/** The `reduce` key: the aggregator put the whole cluster in REDUCING (portfolio VaR above cluster.max_var). */
export interface ReduceDoc {
  reason: string;
  by: string;
  ts: number;
  var?: number;
  limit?: number;
}

/**
 * Reads a `reduce` record for its writer; undefined when it is not `{ reason: string, by: string }`
 * (bad JSON, JSON `null`, a hand-written one). Never throws: shards count such a record as
 * REDUCING all the same, and the aggregator leaves it alone (it writes none of that kind).
 */
export function readReduceDoc(json: () => unknown): ReduceDoc | undefined {
  let raw: unknown;
  try {
    raw = json();
  } catch {
    return undefined;
  }
  const m = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : undefined;
  if (!m || typeof m.reason !== 'string' || typeof m.by !== 'string') return undefined;
  return { reason: m.reason, by: m.by, ts: typeof m.ts === 'number' && Number.isFinite(m.ts) ? m.ts : 0 };
}

/**
 * The cluster-wide REDUCING of docs/risk.md: while the aggregator's `reduce` key is set, only
 * orders that reduce a position pass (the same rule as the local REDUCING state: opposite the
 * position, not past flat with our resting orders). It clears by itself when the key goes.
 */
export class ClusterReduceGate implements RiskCheck {
  readonly name = 'cluster_reducing';
  constructor(private readonly reducing: () => ReduceDoc | undefined) {}
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    const r = this.reducing();
    if (r === undefined || reducesExposure(intent, ctx)) return OK;
    return { ok: false, reason: 'RISK_STATE', message: `cluster REDUCING (${r.reason}): only orders that reduce a position` };
  }
}
