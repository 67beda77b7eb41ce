import { BoundedIdMap, type ExecutionReport, type OrderStatus, type OrderStatusReport } from '@cwts/core';

/** Orders kept for queries; the one seen first is forgotten first. */
export const ORDER_HISTORY_MAX_ORDERS = 100_000;

interface Entry {
  symbol: string;
  status: OrderStatus;
  filledQty: number;
  venueOrderId?: string;
  fills: ExecutionReport[];
}

/**
 * What the paper venue remembers of every order it saw, so reconciliation after an engine
 * restart can ask it by client id (queryOrder) and for its fills since a time (tradesSince),
 * as it would ask a real venue.
 */
export class OrderHistory {
  private readonly orders: BoundedIdMap<string, Entry>;

  constructor(maxOrders = ORDER_HISTORY_MAX_ORDERS) {
    this.orders = new BoundedIdMap(maxOrders);
  }

  record(r: ExecutionReport): void {
    let e = this.orders.get(r.clientOrderId);
    if (!e) {
      e = { symbol: r.symbol, status: 'open', filledQty: 0, fills: [] };
      this.orders.set(r.clientOrderId, e);
    }
    if (r.venueOrderId !== undefined) e.venueOrderId = r.venueOrderId;
    switch (r.kind) {
      case 'fill':
        e.fills.push(r);
        e.filledQty = r.cumQty;
        e.status = r.leavesQty === 0 ? 'filled' : 'partially_filled';
        break;
      case 'cancelled':
      case 'expired':
        if (e.status !== 'filled') e.status = 'cancelled';
        break;
      case 'rejected':
        // A rejected cancel or a rejected duplicate says nothing about the order itself.
        if (e.status === 'open' && e.fills.length === 0 && r.rejectReason !== 'UNKNOWN_ORDER' && r.rejectReason !== 'DUPLICATE_ORDER') e.status = 'rejected';
        break;
      case 'ack':
        break;
    }
  }

  query(clientOrderId: string): OrderStatusReport | undefined {
    const e = this.orders.get(clientOrderId);
    if (!e) return undefined;
    return { clientOrderId, venueOrderId: e.venueOrderId, status: e.status, filledQty: e.filledQty, fills: [...e.fills] };
  }

  fillsSince(symbols: readonly string[], sinceTs: number): ExecutionReport[] {
    const want = new Set(symbols);
    const out: ExecutionReport[] = [];
    for (const e of this.orders.values()) {
      if (!want.has(e.symbol)) continue;
      for (const f of e.fills) if (f.ts >= sinceTs) out.push(f);
    }
    return out.sort((a, b) => a.ts - b.ts);
  }
}
