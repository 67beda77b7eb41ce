/**
 * Test fixture for the polled-execution suites (polled-execution*.test.ts): the in-memory venue
 * they drive the client against, its stream, and the order, view and trade they build. Not part
 * of the adapter kit's API (no index exports it) and free of vitest, so that its copy in dist/
 * is inert: nothing here runs on import.
 */
import { ManualClock } from '../contracts/clock.js';
import type { VenueBalance } from '../contracts/exchange.js';
import { defineInstrument, priceToTicks, qtyToLots } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import { VenueErrorMap, type MappedVenueError } from './errors.js';
import {
  PolledExecutionClient,
  type OrderRef,
  type OrderUpdateSink,
  type OrderUpdateStream,
  type PolledExecutionDeps,
  type PolledOrderDriver,
  type VenueFill,
  type VenueOrderView,
  type VenuePositionView,
} from './polled-execution.js';

/** The suites' instrument: BTC/USD on venue 'v', tick 0.1, lot 0.001. */
export const I = defineInstrument({ exchange: 'v', symbol: 'BTC/USD', base: 'BTC', quote: 'USD', tickSize: '0.1', lotSize: '0.001' });

/**
 * A venue that knows nothing: every read answers empty, every request is accepted. The base of
 * each suite's venue model, which overrides the calls its model answers.
 */
export class StubVenue implements PolledOrderDriver {
  /** What fetchBalances answers. */
  balances: VenueBalance[] = [];
  /** Derivatives venues only: left undefined, a position is the base asset's balance. */
  fetchPositions?: (symbols: readonly string[]) => Promise<VenuePositionView[]>;
  /** Maps a thrown error's numeric `code` (if any) and message, as a driver built on VenueErrorMap does. */
  constructor(readonly errors = new VenueErrorMap('v', [])) {}
  async connect(): Promise<void> {}
  close(): void {}
  async place(_o: Readonly<Order>): Promise<string> {
    return 'V1';
  }
  async cancel(_o: Readonly<Order>): Promise<void> {}
  async fetchOrder(_ref: OrderRef): Promise<VenueOrderView | undefined> {
    return undefined;
  }
  async fetchFills(_view: VenueOrderView): Promise<VenueFill[]> {
    return [];
  }
  async fetchOpenOrders(_symbols: readonly string[]): Promise<VenueOrderView[]> {
    return [];
  }
  async fetchFillsSince(_symbols: readonly string[], _sinceTs: number): Promise<VenueFill[]> {
    return [];
  }
  async fetchBalances(): Promise<VenueBalance[]> {
    return this.balances.map((b) => ({ ...b }));
  }
  mapError(err: unknown): MappedVenueError {
    const code = (err as { code?: unknown } | null)?.code;
    return this.errors.map(typeof code === 'number' ? code : undefined, String((err as Error)?.message ?? err));
  }
}

/**
 * One order at the venue (`view`; undefined: the venue does not answer for it) and the trades
 * (`fills`: the order's, and the account's for tradesSince), set by the test as the venue moves
 * on. Every answer is a copy. Override `place`/`cancel`/`fetchOrder` on the instance for a venue
 * that answers otherwise.
 */
export class MemoryVenue extends StubVenue {
  view: VenueOrderView | undefined;
  fills: VenueFill[];
  /** The order's trade list (not the account's) reads empty this many more times (it lags the order). */
  lagReads = 0;
  /** Every order read's ref, as asked. */
  readonly refs: OrderRef[] = [];
  readonly calls = { fetchOrder: 0, fetchFills: 0 };
  constructor(opts: { view?: VenueOrderView; fills?: VenueFill[]; errors?: VenueErrorMap } = {}) {
    super(opts.errors);
    this.view = opts.view;
    this.fills = opts.fills ?? [];
  }
  override async fetchOrder(ref: OrderRef): Promise<VenueOrderView | undefined> {
    this.calls.fetchOrder++;
    this.refs.push({ ...ref });
    return this.view && { ...this.view };
  }
  override async fetchFills(): Promise<VenueFill[]> {
    this.calls.fetchFills++;
    if (this.lagReads > 0) {
      this.lagReads--;
      return [];
    }
    return this.fills.map((f) => ({ ...f }));
  }
  override async fetchOpenOrders(): Promise<VenueOrderView[]> {
    return this.view?.state === 'open' ? [{ ...this.view }] : [];
  }
  override async fetchFillsSince(_symbols: readonly string[], sinceTs: number): Promise<VenueFill[]> {
    return this.fills.filter((f) => f.ts >= sinceTs).map((f) => ({ ...f }));
  }
}

/** A private order stream that only hands its sink to the test. */
export class MemoryStream implements OrderUpdateStream {
  sink!: OrderUpdateSink;
  stopped = false;
  start(sink: OrderUpdateSink): void {
    this.sink = sink;
  }
  stop(): void {
    this.stopped = true;
  }
}

/** Order V1 (client id c1): buy 0.010 at 100.0, open, nothing filled. */
export function view(over: Partial<VenueOrderView> = {}): VenueOrderView {
  return { venueOrderId: 'V1', clientOrderId: 'c1', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: '100.0', qty: '0.010', filledQty: '0', state: 'open', ...over };
}

/** A maker trade of order V1 at 100.0, fee 0.01 USD, at venue time 1000. */
export function fill(tradeId: string, qty: string, over: Partial<VenueFill> = {}): VenueFill {
  return { tradeId, venueOrderId: 'V1', symbol: 'BTC/USD', price: '100.0', qty, fee: '0.01', feeAsset: 'USD', ts: 1000, liquidity: 'maker', ...over };
}

/** Our order c1 as the engine submits it: buy 10 lots at 100.0 GTC. */
export function order(over: Partial<Order> = {}): Order {
  return {
    exchange: 'v', symbol: 'BTC/USD', side: 'buy', type: 'limit', price: priceToTicks(I, '100.0'), qty: qtyToLots(I, '0.010'), tif: 'GTC', source: 't',
    clientOrderId: 'c1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 0, updatedTs: 0, ...over,
  };
}

/**
 * A client of `driver` on I at a ManualClock(1000), 100 orders a second; the poll timer does not
 * fire (an hour) unless `over` says otherwise: polls are the reconcile() calls a test makes.
 */
export function polledClient(driver: PolledOrderDriver, over: Partial<PolledExecutionDeps> = {}): PolledExecutionClient {
  return new PolledExecutionClient({
    exchange: 'v', clock: new ManualClock(1000), hasCredentials: true, driver, orderLimit: { limit: 100, intervalMs: 1000 }, pollIntervalMs: 3_600_000,
    unknownOrderGraceMs: 10_000, instrument: (s) => (s === I.symbol ? I : undefined), symbols: () => [I.symbol], ...over,
  });
}

/** polledClient, started, with the reports it makes. */
export async function startPolled(driver: PolledOrderDriver, over: Partial<PolledExecutionDeps> = {}): Promise<{ client: PolledExecutionClient; reports: ExecutionReport[] }> {
  const client = polledClient(driver, over);
  const reports: ExecutionReport[] = [];
  await client.start((r) => reports.push(r));
  return { client, reports };
}

/** Runs what is queued behind a few rounds of promises (the client's reads of an in-memory venue). */
export async function flush(): Promise<void> {
  for (let k = 0; k < 20; k++) await new Promise((r) => setImmediate(r));
}

/** Waits (2 s at most, in 5 ms steps of real time) until `cond` holds; throws when it never does. */
export async function until(cond: () => boolean): Promise<void> {
  for (let k = 0; k < 400 && !cond(); k++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`never came true: ${cond.toString()}`);
}
