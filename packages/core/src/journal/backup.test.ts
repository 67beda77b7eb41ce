import { closeSync, existsSync, mkdtempSync, openSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import type { Order } from '../domain/orders.js';
import { backupJournal, RESTORE_CLIENT_ID_GAP, restoreJournal } from './backup.js';
import { JournalError } from './errors.js';
import { JournalStore } from './store.js';

function order(n: number): Order {
  return { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test', clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n };
}

describe('journal restore', () => {
  it('restoring the same backup a second time never hands out the client ids the first restored run sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-restore-'));
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    let s = JournalStore.open(path);
    s.reserveClientIds(1000);
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.close();
    await backupJournal(path, backup);

    let t = 1_000_000;
    const first = restoreJournal(backup, path, () => t++);
    expect(first.clientIdsFrom).toBe(1000 + RESTORE_CLIENT_ID_GAP + 1);
    // The restored journal runs: it reserves a block and sends orders with those ids.
    s = JournalStore.open(path);
    const from = s.load().reservedClientIds + 1;
    expect(from).toBe(first.clientIdsFrom);
    s.reserveClientIds(from + 999);
    for (let k = 0; k < 5; k++) s.append({ t: 'order', order: order(from + k), ts: 2 + k });
    s.close();

    // The operator restores the same backup once more: the replaced journal's reservation
    // (cw-<from> .. cw-<from + 999>, five of them sent) still holds.
    const second = restoreJournal(backup, path, () => t++);
    expect(second.clientIdsFrom).toBe(from + 1000);
    s = JournalStore.open(path);
    expect(s.load().reservedClientIds).toBe(from + 999);
    s.close();
  });
});

describe('journal restore: which ids move the client id sequence', () => {
  it("an adopted venue trade's id (adopted-<venue>-<trade id>) or another program's id does not move the sequence", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-restore-ids-'));
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    const s = JournalStore.open(path);
    s.reserveClientIds(1000);
    s.append({ t: 'order', order: order(7), ts: 1 });
    // Venue trade ids are large (Binance's pass 4e9; snowflake ids have 19 digits): read as
    // client id numbers they move the sequence by billions, or past 2^53 where every later id
    // is the same number.
    s.append({ t: 'order', order: { ...order(0), clientOrderId: 'adopted-binance-4123456789' }, ts: 2 });
    s.append({ t: 'order', order: { ...order(0), clientOrderId: 'adopted-okx-1234567890123456789012' }, ts: 3 });
    s.append({ t: 'order', order: { ...order(0), clientOrderId: 'web-77777777777' }, ts: 4 });
    s.close();
    return backupJournal(path, backup).then(() => {
      const r = restoreJournal(backup, path, () => 5);
      expect(r.clientIdsFrom).toBe(1000 + RESTORE_CLIENT_ID_GAP + 1);
    });
  });
});

describe('journal restore over a damaged journal', () => {
  it('replaces a journal whose writer lock cannot be read because it is damaged (what restore is for), saying so; the damaged one is kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-journal-restore-damaged-'));
    const path = join(dir, 'prod.db');
    const s = JournalStore.open(path, { fsync: 'batch' });
    for (let n = 1; n <= 50; n++) s.append({ t: 'order', order: order(n), ts: n });
    s.flush();
    const backup = join(dir, 'b.db');
    await backupJournal(path, backup);
    s.close();
    // The disk damages the journal: garbage over the schema page (sqlite_master) past its header.
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(3000, 0xa5), 0, 3000, 100);
    closeSync(fd);
    // No engine can start on it (the open's check refuses it), so none can hold it since.
    expect(() => JournalStore.open(path)).toThrow(JournalError);
    const r = restoreJournal(backup, path, () => 1_700_000_000_000);
    expect(r.lockUnreadable).toBe('the database file is corrupt');
    expect(r.keptAside).toBe(`${path}.before-restore-2023-11-14T22-13-20-000Z`);
    expect(existsSync(r.keptAside!)).toBe(true);
    const t = JournalStore.open(path);
    expect(t.load().events).toHaveLength(50);
    // What the damaged journal cannot say counts as nothing: the gap past the backup stands alone.
    expect(t.load().reservedClientIds).toBe(50 + RESTORE_CLIENT_ID_GAP);
    t.close();
  });
});
