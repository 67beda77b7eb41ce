// An imported line is a journaled record: booked as the restore books it, so export -> import
// restores the position the original journal does (a fill past its order's quantity included).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { journalStringify } from '../journal/json.js';
import { JournalStore } from '../journal/store.js';
import { journalCommand } from './journal.js';

const order = {
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't',
  clientOrderId: 'cw-1', status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1,
};
const fill = (tradeId: string, lastQty: number, ts: number) => ({
  kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: 'cw-1', side: 'buy', lastPrice: 100, lastQty, leavesQty: 0, cumQty: 10, feeAtoms: 1n, tradeId, ts,
});

describe('journal import of a journal written before overfills were refused', () => {
  it('keeps every journaled fill, as the restore of the same journal books them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-import-overfill-'));
    const old = join(dir, 'journal.jsonl');
    // An older engine booked the same fill twice under two trade ids (docs/journal.md names this case):
    // the run's position was 20 lots, and restoring this journal gives 20 lots.
    const lines = [
      { t: 'order', order, ts: 1 },
      { t: 'report', report: fill('a1', 10, 2), ts: 2 },
      { t: 'report', report: fill('a1-dup', 10, 3), ts: 3 },
    ].map((l) => journalStringify(l));
    writeFileSync(old, lines.join('\n') + '\n');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    const rc = await journalCommand('import', { from: old, journal: db }, (l) => out.push(l));
    const s = JournalStore.open(db);
    const fills = s.database.prepare('SELECT trade_id FROM fills ORDER BY seq').all();
    s.close();
    expect(out.filter((l) => l.startsWith('skipped'))).toEqual([]);
    expect(rc).toBe(0);
    expect(fills).toEqual([{ trade_id: 'a1' }, { trade_id: 'a1-dup' }]);
  });
});
