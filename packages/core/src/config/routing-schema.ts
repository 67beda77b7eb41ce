/**
 * `[routing]`: the smart order router's settings (docs/routing.md). Its own zod schema, hooked
 * into the config validation by one call (readRoutingSection). It lives in config/ because
 * config may not import routing/ (scripts/import-graph.mjs); the router is in routing/.
 */
import { z } from 'zod';
import { checkOptions } from './zod-options.js';
import type { ConfigIssue } from './errors.js';

/** Basis points on a 0.01 bp grid, as an integer number of millionths of notional (1 bp = 100). */
const bpsToRate = (min: number, max: number) =>
  z
    .number()
    .min(min)
    .max(max)
    .refine((x) => Math.abs(x * 100 - Math.round(x * 100)) < 1e-9, { error: 'must be a multiple of 0.01 bp' })
    .transform((x) => Math.round(x * 100));

const venueSchema = z.strictObject({
  /** Taker fee of this venue (your tier), basis points; negative = rebate. Default: default_taker_fee_bps. */
  taker_fee_bps: bpsToRate(-100, 1000).optional(),
  /** A fixed penalty for this venue's latency, basis points of notional, added to its fee. */
  latency_penalty_bps: bpsToRate(0, 1000).prefault(0),
  /** Child orders per second the venue's rate limit leaves to the router; none = no cap. */
  max_orders_per_second: z.int().min(1).max(1_000_000).optional(),
  /** Our symbol -> this venue's symbol for the same instrument (e.g. BTCUSDT = "BTC-USDT"). */
  symbols: z.record(z.string().min(1), z.string().min(1)).default({}),
});

export const routingSchema = z.strictObject({
  /** Off by default: orders go where the intent says. */
  enabled: z.boolean().default(false),
  /** Venues routed over, each once (default: every enabled venue). */
  venues: z.array(z.string().min(1)).min(1).optional(),
  /** Child orders per parent, at most (one per venue). */
  max_children: z.int().min(1).max(16).default(4),
  /** Book levels per venue the decision looks at. */
  depth_levels: z.int().min(1).max(200).default(20),
  /** Re-route the unfilled part of an IOC child once, to the next best venues. */
  reroute_unfilled_ioc: z.boolean().default(true),
  /**
   * A child that ends more than this many ms after it was sent is not re-routed: an unknown
   * outcome resolved minutes later is no IOC miss, and its price is the market of then.
   */
  reroute_max_age_ms: z.int().min(1).max(60_000).default(1000),
  /** Taker fee of a venue without its own taker_fee_bps. */
  default_taker_fee_bps: bpsToRate(-100, 1000).prefault(10), // prefault: the default goes through the bps -> millionths transform
  /**
   * Measured latency as a penalty: each venue's ack latency (an exponentially weighted mean over
   * its child orders, milliseconds) times this many bps is added to its penalty. 0 = off.
   */
  latency_bps_per_ms: z.number().min(0).max(100).default(0),
  /** Weight of the newest ack in that mean (0 < x <= 1). */
  latency_ewma_alpha: z.number().gt(0).max(1).default(0.2),
  /** States of the mixed-lot dynamic program; past it the decision is a flagged heuristic. */
  max_program_cells: z.int().min(1).max(1 << 22).default(16_384),
  /** Per-venue settings: [routing.venue.<name>]. */
  venue: z.record(z.string().min(1), venueSchema).default({}),
});

/** `[routing]` after validation: fees and penalties in millionths of notional (1 bp = 100). */
export type RoutingConfig = z.output<typeof routingSchema>;

/** Defaults for a deployment without `[routing]`. */
export function defaultRoutingConfig(): RoutingConfig {
  return routingSchema.parse({});
}

/** Validates `[routing]` (absent = defaults) against the enabled venues; issues carry key paths. */
export function readRoutingSection(value: unknown, enabledVenues: readonly string[]): { value?: RoutingConfig; issues: ConfigIssue[] } {
  const r = checkOptions(routingSchema, value ?? {}, 'routing');
  if (!r.ok) return { issues: r.issues };
  const issues: ConfigIssue[] = [];
  r.value.venues?.forEach((v, i, all) => {
    // Listed twice, its book would be counted twice: two children for liquidity it has once.
    if (all.indexOf(v) !== i) issues.push({ path: `routing.venues[${i}]`, message: `duplicate venue "${v}"` });
    else if (!enabledVenues.includes(v)) issues.push({ path: `routing.venues[${i}]`, message: `"${v}" is not in exchanges.enabled` });
  });
  for (const v of Object.keys(r.value.venue)) {
    if (!enabledVenues.includes(v)) issues.push({ path: `routing.venue.${v}`, message: `"${v}" is not in exchanges.enabled` });
  }
  return issues.length > 0 ? { issues } : { value: r.value, issues };
}
