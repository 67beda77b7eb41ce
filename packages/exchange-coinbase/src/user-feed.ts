/**
 * The Advanced Trade `user` channel without I/O: frames of the private connection in, checked
 * order updates out. `CoinbaseUserStream` feeds it from the socket; `createCoinbaseUserFrameHarness`
 * feeds it directly for the malformed-input suite, so what is tested is exactly this path.
 *
 * Coinbase's docs (Advanced Trade WebSocket channels, "User channel"): every message is the
 * envelope `{channel, client_id, timestamp, sequence_num, events}`; on `user` each event is
 * `{type: "snapshot" | "update", orders: [...], positions?: {...}}`, the snapshot listing the
 * open orders (batched by 50) right after the subscribe, updates following every change. An
 * order carries its cumulative state (`status`, `cumulative_quantity`, `leaves_quantity`,
 * `avg_price`, `total_fees`, ...), not the single trade that changed it, and no trade id.
 *
 * Hostile input is counted (FeedErrorReporter: cwts_feed_errors_total, symbol '' or the
 * product) and never throws. Anything that may have hidden an update of ours (a sequence gap, a
 * rejected order, an unreadable frame) asks for one reconciliation poll: the update is not
 * guessed, it is read back from REST.
 */
import { lotsToQty, type FeedRejectReason, type Instrument, type MarketEventSink } from '@cwts/core';
import { FeedErrorReporter, instrumentScales, isoTimeMs, unitsOfString, venueTable, type InstrumentScales, type VenueOrderView } from '@cwts/core/adapter-kit';
import { z } from 'zod';

/** Coinbase order status -> our view (user channel and REST use the same names). */
const STATES = venueTable<VenueOrderView['state']>({
  PENDING: 'pending',
  QUEUED: 'pending',
  OPEN: 'open',
  // a cancel in flight: the order still works until the venue says otherwise
  CANCEL_QUEUED: 'open',
  FILLED: 'filled',
  CANCELLED: 'cancelled',
  EXPIRED: 'expired',
  FAILED: 'rejected',
});

const TIF = venueTable<VenueOrderView['tif']>({ IMMEDIATE_OR_CANCEL: 'IOC', FILL_OR_KILL: 'FOK', GOOD_UNTIL_CANCELLED: 'GTC', GOOD_UNTIL_DATE_TIME: 'GTC' });

const envelopeSchema = z.object({
  channel: z.string(),
  sequence_num: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  events: z.array(z.unknown()),
});

const userEventSchema = z.object({
  type: z.string(),
  orders: z.array(z.unknown()),
});

/** The fields we read; others (avg_price, total_fees, positions, ...) are ignored. */
const orderSchema = z.object({
  order_id: z.string().min(1).max(128),
  client_order_id: z.string().max(128).optional(),
  product_id: z.string().min(1).max(64),
  status: z.string(),
  cumulative_quantity: z.string(),
  leaves_quantity: z.string(),
  order_side: z.enum(['BUY', 'SELL']),
  order_type: z.string().optional(),
  time_in_force: z.string().optional(),
  creation_time: z.string().optional(),
  cancel_reason: z.string().optional(),
  reject_reason: z.string().optional(),
});

export interface CoinbaseUserFeedOptions {
  exchange: string;
  instrument(symbol: string): Instrument | undefined;
  /** One checked order update, in the venue's order. */
  onOrder(v: VenueOrderView): void;
  /** Updates may have been missed (gap, rejected content): one reconciliation poll. */
  onMissed(reason: string): void;
  /** The first snapshot of a connection arrived: the stream is live again. */
  onSnapshot(): void;
  /** Where rejections are counted (the venue's market-data sink: cwts_feed_errors_total). */
  sink: () => MarketEventSink | undefined;
  now: () => number;
  logEveryMs?: number;
}

export class CoinbaseUserFeed {
  readonly reporter: FeedErrorReporter;
  readonly stats = { frames: 0, orders: 0, snapshots: 0, heartbeats: 0, gaps: 0, errors: 0 };
  private lastSeq = -1;
  private snapshotSeen = false;
  private readonly scales = new Map<string, InstrumentScales>();

  constructor(private readonly opts: CoinbaseUserFeedOptions) {
    this.reporter = new FeedErrorReporter({ exchange: opts.exchange, component: `${opts.exchange}:user-stream`, sink: opts.sink, now: opts.now, logEveryMs: opts.logEveryMs });
  }

  /** Inputs rejected so far, all reasons. */
  get rejected(): number {
    return this.reporter.total;
  }

  /** A new connection: sequence_num starts again, and a snapshot is due. */
  connectionOpened(): void {
    this.lastSeq = -1;
    this.snapshotSeen = false;
  }

  onBinaryFrame(bytes: number): void {
    this.stats.frames++;
    this.reject('', 'binary_frame', `binary frame of ${bytes} bytes dropped`, true);
  }

  /** One ws text frame of the private connection. Never throws for anything the venue can send. */
  onFrame(text: string): void {
    this.stats.frames++;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      // an unreadable frame may have been an update of ours
      this.reject('', 'malformed', `not JSON (${text.length} bytes)`, true);
      return;
    }
    if (json !== null && typeof json === 'object' && !Array.isArray(json) && (json as Record<string, unknown>).type === 'error') {
      const m = (json as Record<string, unknown>).message;
      this.reject('', 'venue_error', typeof m === 'string' ? m.slice(0, 200) : 'error without a message', false);
      return;
    }
    const env = envelopeSchema.safeParse(json);
    if (!env.success) {
      this.reject('', 'malformed', `not a channel message: ${issueText(env.error)}`, true);
      return;
    }
    const { channel, sequence_num: seq, events } = env.data;
    const known = channel === 'user' || channel === 'heartbeats' || channel === 'subscriptions';
    if (!known) {
      // not ours to read, but it took a sequence number: keep the count straight
      this.checkSequence(seq);
      this.reject('', 'unknown_message', `channel ${JSON.stringify(channel.slice(0, 40))}`, false);
      return;
    }
    this.checkSequence(seq);
    if (channel === 'heartbeats') {
      this.stats.heartbeats++;
      return;
    }
    if (channel === 'subscriptions') return;
    this.onUserEvents(events);
  }

  /** A gap asks for a reconciliation poll; the frame itself (absolute order states) still applies. */
  private checkSequence(seq: number): void {
    const last = this.lastSeq;
    this.lastSeq = seq;
    if (last < 0 || seq === last + 1) return;
    this.stats.gaps++;
    this.stats.errors++;
    const why = `user channel sequence gap: expected sequence_num ${last + 1}, got ${seq}`;
    this.opts.sink()?.onFeedError(`${this.opts.exchange}:user-stream`, `${this.opts.exchange}: ${why}`);
    this.opts.onMissed(why);
  }

  private onUserEvents(events: unknown[]): void {
    if (events.length === 0) {
      this.reject('', 'malformed', 'user message without events', true);
      return;
    }
    for (const raw of events) {
      const ev = userEventSchema.safeParse(raw);
      if (!ev.success) {
        this.reject('', 'malformed', `user event: ${issueText(ev.error)}`, true);
        continue;
      }
      const type = ev.data.type;
      if (type !== 'snapshot' && type !== 'update') {
        this.reject('', 'unknown_message', `user event type ${JSON.stringify(type.slice(0, 40))}`, true);
        continue;
      }
      for (const o of ev.data.orders) this.onOrderJson(o);
      if (type === 'snapshot') {
        this.stats.snapshots++;
        if (!this.snapshotSeen) {
          this.snapshotSeen = true;
          this.opts.onSnapshot();
        }
      }
    }
  }

  private scalesOf(i: Instrument): InstrumentScales {
    let s = this.scales.get(i.symbol);
    if (s === undefined || s.instrument !== i) this.scales.set(i.symbol, (s = instrumentScales(i)));
    return s;
  }

  private onOrderJson(raw: unknown): void {
    const r = orderSchema.safeParse(raw);
    if (!r.success) {
      this.reject('', 'malformed', `user order: ${issueText(r.error)}`, true);
      return;
    }
    const o = r.data;
    const i = this.opts.instrument(o.product_id);
    if (!i) {
      // we subscribe to our products only: another product's order is none of ours
      this.reject('', 'unknown_symbol', `user order on ${JSON.stringify(o.product_id.slice(0, 40))}`, false);
      return;
    }
    const state = STATES[o.status];
    if (state === undefined) {
      this.reject(i.symbol, 'unknown_message', `user order status ${JSON.stringify(o.status.slice(0, 40))}`, true);
      return;
    }
    const sc = this.scalesOf(i).qty;
    const cum = this.quantity(i, o.cumulative_quantity, sc, 'cumulative_quantity');
    const leaves = cum === undefined ? undefined : this.quantity(i, o.leaves_quantity, sc, 'leaves_quantity');
    if (cum === undefined || leaves === undefined) return;
    if (cum + leaves > Number.MAX_SAFE_INTEGER) {
      this.reject(i.symbol, 'off_grid', 'cumulative_quantity + leaves_quantity is beyond 2^53 lots', true);
      return;
    }
    const v: VenueOrderView = {
      venueOrderId: o.order_id, symbol: i.symbol, side: o.order_side === 'SELL' ? 'sell' : 'buy',
      type: /^market$/i.test(o.order_type ?? '') ? 'market' : 'limit',
      qty: lotsToQty(i, cum + leaves), filledQty: lotsToQty(i, cum), state,
    };
    if (o.client_order_id) v.clientOrderId = o.client_order_id;
    const tif = TIF[o.time_in_force ?? ''];
    if (tif) v.tif = tif;
    const created = isoTimeMs(o.creation_time);
    if (created > 0) v.createdTs = created;
    const why = state === 'rejected' ? o.reject_reason : o.cancel_reason;
    if (why) v.text = `${this.opts.exchange}: ${why.slice(0, 200)}`;
    this.stats.orders++;
    this.opts.onOrder(v);
  }

  /** A quantity in whole lots, or undefined (counted, reconcile asked for). */
  private quantity(i: Instrument, text: string, sc: InstrumentScales['qty'], field: string): number | undefined {
    const lots = unitsOfString(text, sc);
    if (Number.isNaN(lots)) {
      this.reject(i.symbol, 'off_grid', `${field} ${JSON.stringify(text.slice(0, 40))} is not a plain decimal on the lot grid ${i.lotSize}`, true);
      return undefined;
    }
    if (lots < 0 || Object.is(lots, -0)) {
      this.reject(i.symbol, 'negative_qty', `${field} ${text.slice(0, 40)} is negative`, true);
      return undefined;
    }
    return lots;
  }

  private reject(symbol: string, reason: FeedRejectReason, detail: string, mayHideUpdate: boolean): void {
    this.stats.errors++;
    this.reporter.reject(symbol, reason, detail);
    if (mayHideUpdate) this.opts.onMissed(`rejected user channel input (${reason})`);
  }
}

function issueText(e: z.ZodError): string {
  const first = e.issues[0];
  return first ? `${first.path.join('.') || '(root)'}: ${first.message}`.slice(0, 160) : 'invalid';
}
