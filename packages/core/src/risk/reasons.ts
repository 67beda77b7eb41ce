import type { RejectReason } from '../domain/orders.js';

/** Self-trade prevention's reason (the `reason` label of cwts_risk_rejections_total). */
export const RISK_SELF_TRADE: RejectReason = 'RISK_SELF_TRADE';

/** Every reason code the pre-trade chain can return, with the check that returns it (docs/risk.md). */
export const RISK_REASON_CODES: Readonly<Record<string, string>> = Object.freeze({
  KILL_SWITCH: 'risk_state: state is HALTED (kill switch); nothing new is accepted',
  BACKPRESSURE: 'engine: intake outpaces the engine (event-loop lag over max_latency_ms, or a feed ring over its high-water mark); orders that reduce exposure still pass',
  VENUE_NOT_TRADING: 'engine: the venue does not allow this order on the pair now (halted, delisted, cancel-only, post-only, limit-only or reduce-only; docs/venues.md, "Pair trading status"), or the venue is not reconciled yet (docs/journal.md)',
  RISK_STATE: 'risk_state: state is REDUCING and the order does not reduce exposure',
  OFF_GRID: 'instrument_rules: price or quantity is not a whole number of ticks / lots',
  INVALID_ORDER: 'instrument_rules: non-positive quantity or price; unknown instrument. reduce_only: a reduce-only order that is not opposite the position, or that with our resting orders on its side is larger than the position',
  MIN_NOTIONAL: 'instrument_rules: order notional below the instrument minimum',
  BOOK_NOT_SYNCED: 'book_health: book not SYNCED, or no update for longer than stale_after',
  RISK_PRICE_BAND: 'price_band: limit price further from the mid than price_band_bps',
  NO_LIQUIDITY: 'price_band / max_order_notional / max_position: no price to value the order',
  RISK_MAX_ORDER_NOTIONAL: 'max_order_notional: one order above max_order_notional',
  RISK_MAX_POSITION: 'max_position: per-symbol (max_position) or total (max_total_position) notional',
  RISK_MAX_OPEN_ORDERS: 'max_open_orders: open orders across all venues at the limit',
  RISK_SELF_TRADE: 'self_trade: would cross one of our own resting orders',
  RISK_RATE_LIMIT: 'order_rate: the venue\'s token bucket (orders_per_second) is empty',
  RISK_CUSTOM: 'a [risk_checks.<name>] plugin: its message names the check',
});
