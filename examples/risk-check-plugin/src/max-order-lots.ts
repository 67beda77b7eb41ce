import type { OrderIntent, RiskCheck, RiskContext, RiskDecision } from '@cwts/core';

export interface MaxOrderLotsSettings {
  /** The largest order, in lots of the instrument, this check lets through. */
  maxLots: number;
  /** Only these symbols (`exchange:symbol` or `symbol`); every symbol when empty. */
  symbols: readonly string[];
}

const OK: RiskDecision = Object.freeze({ ok: true }) as RiskDecision;

/**
 * Rejects any order larger than `maxLots` lots: a fat-finger guard in instrument units, beside
 * core's notional limits. Synchronous and allocation-free on the accept path (it runs on the
 * engine thread for every order).
 */
export class MaxOrderLotsCheck implements RiskCheck {
  readonly name: string;
  /**
   * A cap on the whole order: with `[routing] enabled` it is checked on the parent before the
   * router splits it (core API 1.3), or a 100-lot order would go out as two children of 50.
   */
  readonly parent = true;
  private readonly only: ReadonlySet<string>;

  constructor(
    instanceName: string,
    private readonly settings: MaxOrderLotsSettings,
  ) {
    this.name = `max_order_lots:${instanceName}`;
    this.only = new Set(settings.symbols);
  }

  check(intent: Readonly<OrderIntent>, _ctx: RiskContext): RiskDecision {
    if (intent.qty <= this.settings.maxLots) return OK;
    if (this.only.size > 0 && !this.only.has(intent.symbol) && !this.only.has(`${intent.exchange}:${intent.symbol}`)) return OK;
    return { ok: false, reason: 'RISK_CUSTOM', message: `${this.name}: ${intent.qty} lots of ${intent.exchange}:${intent.symbol} is above the cap of ${this.settings.maxLots} lots` };
  }
}
