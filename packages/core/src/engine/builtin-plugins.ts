/**
 * Core's own plugins, loaded through the same manifest path as a third party's (validateOptions,
 * then register): the `direct` order router and the built-in pre-trade checks. The built-in
 * detectors' manifests live beside them in detectors/builtins.ts. Their single-slot
 * registrations are defaults, which a plugin replaces by listing the token in its `overrides`.
 */
import type { RiskCheck, RiskContext, RiskDecision } from '../contracts/trading.js';
import type { OrderIntent } from '../domain/orders.js';
import { TOKENS } from '../di/tokens.js';
import { CORE_API_VERSION, type PluginManifest } from '../plugins/manifest.js';
import { REFUND_ORDER, refundChecks, runChain, type RefundingCheck } from '../risk/checks.js';
import { DirectRouter } from '../routing/direct.js';
import { SmartOrderRouter } from '../routing/smart-order-router.js';
import type { CwtsConfig } from '../config/types.js';
import { SERVICE_TOKENS } from '../services/tokens.js';

/**
 * Core's router: `direct` (each intent goes where it says, routing/direct.ts), or the smart order
 * router (routing/smart-order-router.ts) when `[routing] enabled`. A plugin replaces either by
 * declaring TOKENS.OrderRouter in its manifest's `overrides`.
 */
export const directRouterPlugin: PluginManifest = {
  name: '@cwts/core/routing/direct',
  kind: 'router',
  coreApi: CORE_API_VERSION,
  register({ registrar }) {
    registrar.factory(TOKENS.OrderRouter, (c) => {
      const cfg = c.resolve(TOKENS.Config) as CwtsConfig;
      if (!cfg.routing?.enabled) return new DirectRouter();
      // monotonic time for its rate window and latencies: a wall clock stepped back does not hold venues out
      return new SmartOrderRouter({ config: cfg.routing, venues: cfg.exchanges.enabled, logger: c.resolve(TOKENS.Logger), clock: c.resolve(TOKENS.Clock) });
    });
  },
};

/**
 * The built-in chain from `[risk]` (risk/checks.ts), owned by the risk manager, as one check. A
 * routed parent goes through its parent checks (instrument_rules, max_order_notional, max_position and max_total_position) as a whole:
 * without checkParent the engine would skip the chain for the parent, and a parent split into
 * children each under max_order_notional would get around it. Plugin checks run after it: when
 * one refuses an order the chain passed (or the order is not sent), the engine hands back what the
 * chain spent on it (REFUND_ORDER: order_rate's token), so a refused order spends no token.
 */
export class BuiltinCheckChain implements RiskCheck, RefundingCheck {
  readonly name = 'builtin';
  private readonly parents: readonly RiskCheck[];
  constructor(private readonly chain: readonly RiskCheck[]) {
    this.parents = chain.filter((c) => c.parent === true);
  }
  check(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    return runChain(this.chain, intent, ctx);
  }
  /** The whole chain passed `intent`: each of its checks that spends gets it back. */
  [REFUND_ORDER](intent: Readonly<OrderIntent>, ctx: RiskContext): void {
    refundChecks(this.chain, this.chain.length, intent, ctx);
  }
  checkParent(intent: Readonly<OrderIntent>, ctx: RiskContext): RiskDecision {
    return runChain(this.parents, intent, ctx);
  }
}

/** Core's pre-trade checks; `[risk_checks.<name>]` plugins run after them. */
export const builtinRiskChecksPlugin: PluginManifest = {
  name: '@cwts/core/risk',
  kind: 'risk',
  coreApi: CORE_API_VERSION,
  register({ registrar }) {
    // The checks read the risk manager's state (equity, positions, rate windows): built from
    // whichever risk manager the container provides, after the compute backend is chosen.
    registrar.factory(TOKENS.RiskCheck, (c) => new BuiltinCheckChain(c.resolve(SERVICE_TOKENS.RiskManager).checks));
  },
};

/** Loaded before any configured plugin, in this order. */
export const CORE_PLUGINS: readonly PluginManifest[] = [directRouterPlugin, builtinRiskChecksPlugin];
