import type { ExecutionReport, OrderStatus, OrderStatusReport, Side } from '@cwts/core';

/** Orders kept for queries; the one seen first is forgotten first. */
export const ORDER_HISTORY_MAX_ORDERS = 100_000;

/** Numbers kept per fill, in this order, in its order's fill column. */
const PRICE = 0;
const QTY = 1;
const LEAVES = 2;
const CUM = 3;
const TS = 4;
/** The fee in quote atoms when it is a safe integer, else NaN (the bigint is in `hugeFees`). */
const FEE = 5;
/** 0: no liquidity flag, 1: maker, 2: taker. */
const LIQUIDITY = 6;
/** The fill's place among every fill recorded (fills of one time are answered in this order). */
const SEQ = 7;
const STRIDE = 8;

const LIQUIDITY_CODE = { maker: 1, taker: 2 } as const;
const LIQUIDITY_OF = [undefined, 'maker', 'taker'] as const;

/**
 * What the paper venue remembers of every order it saw, so reconciliation after an engine
 * restart can ask it by client id (queryOrder) and for its fills since a time (tradesSince),
 * as it would ask a real venue.
 *
 * Kept in columns, one slot per order in a ring, not as the reports themselves: a history that
 * holds 100,000 orders' report objects keeps every one alive past the young generation, and
 * copying them there made the paper venue's orders about twice as expensive (docs/performance.md,
 * "The paper venue's order history"). A fill is 8 numbers in its order's array plus its trade id;
 * queries build the reports again. A fill keeps what the paper venue's fills carry (price,
 * quantities, fee, time, liquidity, trade id; the order's venue id); other report fields
 * (feeAsset, text) are not kept.
 */
export class OrderHistory {
  /** Slot of the newest order held under each client id. */
  private readonly slotOf = new Map<string, number>();
  private readonly capacity: number;
  /** Orders ever added; the newest is in slot (added - 1) % capacity. */
  private added = 0;
  private idAt: string[] = [];
  private exchangeAt: string[] = [];
  private symbolAt: string[] = [];
  private sideAt: Side[] = [];
  private statusAt: OrderStatus[] = [];
  private filledAt: number[] = [];
  private venueIdAt: (string | undefined)[] = [];
  private fillsAt: (number[] | undefined)[] = [];
  private tradeIdsAt: (string | undefined)[][] = [];
  /** Fees that are not safe integers, by slot and fill index (rare: 18-decimal assets). */
  private readonly hugeFees = new Map<number, Map<number, bigint>>();
  /** Fills ever recorded. */
  private fillSeq = 0;

  constructor(maxOrders = ORDER_HISTORY_MAX_ORDERS) {
    if (!Number.isSafeInteger(maxOrders) || maxOrders < 1) throw new RangeError(`order history capacity must be a positive integer, got ${maxOrders}`);
    this.capacity = maxOrders;
  }

  /**
   * A new order under `clientOrderId` has arrived at the venue: the reports that follow describe
   * it, in a slot of its own, and `query` answers with it. An id may be used again once its
   * order has ended (as at Binance); the earlier order keeps its slot until the ring forgets it,
   * so its fills stay among `fillsSince`'s (with its own venue order id: they are the account's
   * trades), but it is no longer what the id names.
   */
  startOrder(clientOrderId: string): void {
    this.slotOf.delete(clientOrderId);
  }

  record(r: ExecutionReport): void {
    let slot = this.slotOf.get(r.clientOrderId);
    if (slot === undefined) {
      // A rejected cancel or duplicate of an order the venue does not hold is not an order.
      if (answersAnotherRequest(r)) return;
      slot = this.add(r);
    }
    if (r.venueOrderId !== undefined) this.venueIdAt[slot] = r.venueOrderId;
    switch (r.kind) {
      case 'fill':
        this.addFill(slot, r);
        this.filledAt[slot] = r.cumQty;
        this.statusAt[slot] = r.leavesQty === 0 ? 'filled' : 'partially_filled';
        break;
      case 'cancelled':
      case 'expired':
        if (this.statusAt[slot] !== 'filled') this.statusAt[slot] = 'cancelled';
        break;
      case 'rejected':
        // A rejected cancel or a rejected duplicate says nothing about the order itself.
        if (this.statusAt[slot] === 'open' && this.fillsAt[slot] === undefined && !answersAnotherRequest(r)) this.statusAt[slot] = 'rejected';
        break;
      case 'ack':
        break;
    }
  }

  query(clientOrderId: string): OrderStatusReport | undefined {
    const slot = this.slotOf.get(clientOrderId);
    if (slot === undefined) return undefined;
    const fills: ExecutionReport[] = [];
    const n = this.fillCount(slot);
    for (let k = 0; k < n; k++) fills.push(this.fillReport(slot, k));
    return { clientOrderId, venueOrderId: this.venueIdAt[slot], status: this.statusAt[slot]!, filledQty: this.filledAt[slot]!, fills };
  }

  /** Fills on these symbols at or after `sinceTs`, by time, fills of one time in the order recorded (as a venue's trade ids go). */
  fillsSince(symbols: readonly string[], sinceTs: number): ExecutionReport[] {
    const want = new Set(symbols);
    const found: { slot: number; k: number; ts: number; seq: number }[] = [];
    // every slot taken so far, not slotOf.size: an id used again names only its newest slot
    const held = Math.min(this.added, this.capacity);
    for (let i = 0; i < held; i++) {
      const slot = (this.added - held + i) % this.capacity;
      if (!want.has(this.symbolAt[slot]!)) continue;
      const nums = this.fillsAt[slot];
      if (nums === undefined) continue;
      for (let k = 0; k * STRIDE < nums.length; k++) {
        const ts = nums[k * STRIDE + TS]!;
        if (ts >= sinceTs) found.push({ slot, k, ts, seq: nums[k * STRIDE + SEQ]! });
      }
    }
    found.sort((a, b) => a.ts - b.ts || a.seq - b.seq);
    return found.map((f) => this.fillReport(f.slot, f.k));
  }

  /** Takes the next slot for a new order, forgetting the order that held it. */
  private add(r: ExecutionReport): number {
    const slot = this.added % this.capacity;
    if (this.added >= this.capacity) {
      // the id may name a newer order by now (startOrder): that one stays found
      const forgotten = this.idAt[slot]!;
      if (this.slotOf.get(forgotten) === slot) this.slotOf.delete(forgotten);
      this.hugeFees.delete(slot);
    }
    this.added++;
    this.slotOf.set(r.clientOrderId, slot);
    this.idAt[slot] = r.clientOrderId;
    this.exchangeAt[slot] = r.exchange;
    this.symbolAt[slot] = r.symbol;
    this.sideAt[slot] = r.side;
    this.statusAt[slot] = 'open';
    this.filledAt[slot] = 0;
    this.venueIdAt[slot] = undefined;
    this.fillsAt[slot] = undefined;
    this.tradeIdsAt[slot] = EMPTY;
    return slot;
  }

  private addFill(slot: number, r: ExecutionReport): void {
    let nums = this.fillsAt[slot];
    const k = nums === undefined ? 0 : nums.length / STRIDE;
    const fee = Number(r.feeAtoms);
    const exact = Number.isSafeInteger(fee);
    const liquidity = r.liquidity === undefined ? 0 : LIQUIDITY_CODE[r.liquidity];
    if (nums === undefined) {
      this.fillsAt[slot] = [r.lastPrice, r.lastQty, r.leavesQty, r.cumQty, r.ts, exact ? fee : NaN, liquidity, this.fillSeq++];
      this.tradeIdsAt[slot] = [r.tradeId];
    } else {
      nums.push(r.lastPrice, r.lastQty, r.leavesQty, r.cumQty, r.ts, exact ? fee : NaN, liquidity, this.fillSeq++);
      this.tradeIdsAt[slot]!.push(r.tradeId);
    }
    if (!exact) {
      let m = this.hugeFees.get(slot);
      if (m === undefined) this.hugeFees.set(slot, (m = new Map()));
      m.set(k, r.feeAtoms);
    }
  }

  private fillCount(slot: number): number {
    const nums = this.fillsAt[slot];
    return nums === undefined ? 0 : nums.length / STRIDE;
  }

  /** The slot's k-th fill as the report it was recorded from. */
  private fillReport(slot: number, k: number): ExecutionReport {
    const nums = this.fillsAt[slot]!;
    const at = k * STRIDE;
    const fee = nums[at + FEE]!;
    const r: ExecutionReport = {
      kind: 'fill',
      exchange: this.exchangeAt[slot]!,
      symbol: this.symbolAt[slot]!,
      clientOrderId: this.idAt[slot]!,
      side: this.sideAt[slot]!,
      lastPrice: nums[at + PRICE]!,
      lastQty: nums[at + QTY]!,
      leavesQty: nums[at + LEAVES]!,
      cumQty: nums[at + CUM]!,
      feeAtoms: fee === fee ? BigInt(fee) : this.hugeFees.get(slot)!.get(k)!,
      ts: nums[at + TS]!,
    };
    const liquidity = LIQUIDITY_OF[nums[at + LIQUIDITY]!];
    if (liquidity !== undefined) r.liquidity = liquidity;
    const tradeId = this.tradeIdsAt[slot]![k];
    if (tradeId !== undefined) r.tradeId = tradeId;
    const venueOrderId = this.venueIdAt[slot];
    if (venueOrderId !== undefined) r.venueOrderId = venueOrderId;
    return r;
  }
}

/**
 * A refused request about an order (a cancel, a second order under a working id), not a refusal
 * of the order of that id: what the report says (`rejects`), or for a report without the field,
 * its reason (`UNKNOWN_ORDER`, `DUPLICATE_ORDER`).
 */
function answersAnotherRequest(r: ExecutionReport): boolean {
  if (r.kind !== 'rejected') return false;
  if (r.rejects !== undefined) return r.rejects === 'request';
  return r.rejectReason === 'UNKNOWN_ORDER' || r.rejectReason === 'DUPLICATE_ORDER';
}

/** The trade ids of an order without fills (shared, never written: addFill replaces it). */
const EMPTY: (string | undefined)[] = [];
