import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { journalStringify } from '../journal/json.js';
import { JournalStore } from '../journal/store.js';
import { journalCommand } from './journal.js';

const order = (n: number) => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 't',
  clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
});
const report = (n: number, kind: string, extra: object = {}) => ({
  kind, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'buy', lastPrice: 0, lastQty: 0, leavesQty: 10, cumQty: 0, feeAtoms: 0n, ts: 10 + n, ...extra,
});

describe('cwts-ultra journal import / export', () => {
  it('imports a JSON-lines journal of earlier versions (torn last line reported), exports it back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-cli-'));
    const old = join(dir, 'journal.jsonl');
    const lines = [
      { t: 'order', order: order(1), ts: 1 },
      { t: 'report', report: report(1, 'ack'), ts: 2 },
      { t: 'report', report: report(1, 'fill', { lastPrice: 100, lastQty: 10, leavesQty: 0, cumQty: 10, feeAtoms: 42n, tradeId: 'x1', liquidity: 'taker' }), ts: 3 },
      { t: 'order', order: order(2), ts: 4 },
      { t: 'reconcile', clientOrderId: 'cw-2', status: 'cancelled', ts: 5 },
    ].map((l) => journalStringify(l));
    writeFileSync(old, lines.join('\n') + '\n{"t":"order","order":{"clientOr');
    const db = join(dir, 'j.db');
    const out: string[] = [];
    expect(await journalCommand('import', { from: old, journal: db }, (l) => out.push(l))).toBe(1);
    expect(out[0]).toBe(`journal ${db}: imported 5 records from ${old}`);
    expect(out[1]).toMatch(new RegExp(`^skipped damaged line ${old}:6: `));

    const s = JournalStore.open(db);
    expect(s.database.prepare('SELECT client_id, status, filled_qty, fee_atoms FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', status: 'filled', filled_qty: 10, fee_atoms: '42' },
      { client_id: 'cw-2', status: 'cancelled', filled_qty: 0, fee_atoms: '0' },
    ]);
    expect(s.database.prepare('SELECT trade_id, fee_atoms, liquidity FROM fills').all()).toEqual([{ trade_id: 'x1', fee_atoms: '42', liquidity: 'taker' }]);
    s.close();
    // Importing twice would mix two histories: refused.
    await expect(journalCommand('import', { from: old, journal: db }, () => {})).rejects.toThrow(/already holds 2 orders; import only into a new journal/);

    const exported = join(dir, 'out.jsonl');
    const o2: string[] = [];
    expect(await journalCommand('export', { journal: db, out: exported }, (l) => o2.push(l))).toBe(0);
    const recs = readFileSync(exported, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { t: string; seq?: number });
    expect(recs.filter((r) => r.t !== 'run').map((r) => r.t)).toEqual(['order', 'report', 'report', 'order', 'reconcile']);
    // The export imports again into a fresh journal.
    const again = join(dir, 'again.db');
    expect(await journalCommand('import', { from: exported, journal: again }, () => {})).toBe(0);
    const a = JournalStore.open(again);
    expect(a.database.prepare('SELECT client_id, status FROM orders ORDER BY seq').all()).toEqual([
      { client_id: 'cw-1', status: 'filled' },
      { client_id: 'cw-2', status: 'cancelled' },
    ]);
    a.close();
  });

  it('unlock needs --force', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'cwts-journal-cli-')), 'j.db');
    JournalStore.open(db, { owner: { pid: 1, host: 'elsewhere' } }).close({ clean: false });
    await expect(journalCommand('unlock', { journal: db }, () => {})).rejects.toThrow(/--force/);
    const out: string[] = [];
    expect(await journalCommand('unlock', { journal: db, force: true }, (l) => out.push(l))).toBe(0);
    expect(out).toEqual([`journal ${db}: removed the lock of pid 1 on elsewhere`]);
  });
});
