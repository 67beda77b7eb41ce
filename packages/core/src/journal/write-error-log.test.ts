import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';

import type { Order } from '../domain/orders.js';
import { JOURNAL_ERROR_LOG_EVERY_MS, JournalStore } from './store.js';

function order(n: number): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test',
    clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
  };
}

/** Waits for the writer thread's events, which arrive on this thread's event loop. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}

describe('journal write failures in the log', () => {
  it('a failure at every retry (a full disk: each with a larger pending count) is logged at once, then once per 10 s with the count held back; onError sees every one', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-journal-')), 'j.db');
    let now = 0;
    const seen: { message: string; log: string | undefined }[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, errorLogClock: () => now, onError: (e, log) => seen.push({ message: e.message, log }) });
    // While the flag is set every commit fails for the database's sake (SQLITE_ERROR, not a
    // record's fault: the records are kept and retried), at once, as SQLITE_FULL does.
    const other = new Database(path);
    other.exec("CREATE TABLE disk (full INTEGER); INSERT INTO disk VALUES (1); CREATE TRIGGER disk_full BEFORE INSERT ON orders WHEN (SELECT full FROM disk) = 1 BEGIN SELECT json('disk full'); END;");
    const failures = 25;
    for (let n = 1; n <= failures; n++) {
      now = (n - 1) * 1000;
      s.append({ t: 'order', order: order(n), ts: n });
      expect(() => s.flush()).toThrow(/malformed JSON/);
      await until(() => seen.length === n);
    }
    // Every failure reached onError: it halts, and cwts_journal_write_failures_total counts each.
    expect(seen).toHaveLength(failures);
    expect(seen[0]!.message).toBe(`journal ${path}: commit of 1 record(s) failed: malformed JSON`);
    expect(seen[24]!.message).toContain('commit of 25 record(s) failed');
    const logged = seen.flatMap((c, i) => (c.log === undefined ? [] : [[i * 1000, c.log] as const]));
    expect(logged).toEqual([
      [0, ''],
      [10_000, ' (and 9 more like it not logged)'],
      [20_000, ' (and 9 more like it not logged)'],
    ]);
    expect(JOURNAL_ERROR_LOG_EVERY_MS).toBe(10_000);
    // The disk has room again: everything held is committed.
    other.exec('UPDATE disk SET full = 0');
    other.close();
    expect(s.flush()).toBe(0);
    expect(s.database.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(failures);
    s.close();
  });
});
