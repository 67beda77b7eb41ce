import type { Order } from '../domain/orders.js';
import type { Logger } from '../observability/logger.js';
import type { Engine } from './engine.js';
import { Journal } from './journal.js';

/**
 * Rebuilds the order book of record from the journal of earlier runs: the last state of every
 * order, so open ones are known before trading and get reconciled with the venue at start.
 */
export function rebuildFromJournal(engine: Engine, path: string, logger: Logger): { orders: number; open: number } {
  const { entries, errors } = Journal.read(path);
  for (const e of errors) logger.warn(`journal: skipped damaged line ${e}`);
  const latest = new Map<string, Order>();
  for (const raw of entries) {
    const e = raw as { t?: string; order?: Order; report?: { clientOrderId: string; kind: string; lastQty: number; lastPrice: number; feeAtoms: bigint }; clientOrderId?: string; status?: string };
    if (e.t === 'order' && e.order) latest.set(e.order.clientOrderId, { ...e.order });
    else if (e.t === 'report' && e.report) {
      const o = latest.get(e.report.clientOrderId);
      if (!o) continue;
      if (e.report.kind === 'fill') {
        o.filledQty += e.report.lastQty;
        o.filledNotionalTicksLots += BigInt(e.report.lastPrice) * BigInt(e.report.lastQty);
        o.feeAtoms += e.report.feeAtoms;
        o.status = o.filledQty >= o.qty ? 'filled' : 'partially_filled';
      } else if (e.report.kind === 'cancelled' || e.report.kind === 'expired') o.status = 'cancelled';
      else if (e.report.kind === 'rejected' && o.status === 'pending_new') o.status = 'rejected';
      else if (e.report.kind === 'ack' && o.status === 'pending_new') o.status = 'open';
    } else if (e.t === 'reconcile' && e.clientOrderId) {
      const o = latest.get(e.clientOrderId);
      if (o) o.status = 'cancelled';
    }
  }
  let open = 0;
  for (const o of latest.values()) {
    engine.orders.restore(o);
    if (!['filled', 'cancelled', 'rejected'].includes(o.status)) open++;
  }
  if (latest.size > 0) logger.info({ orders: latest.size, open }, `journal: restored ${latest.size} orders, ${open} open (to reconcile with the venues)`);
  return { orders: latest.size, open };
}
