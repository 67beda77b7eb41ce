/**
 * `journal backup --out` once took the journal's own files as the target: with the engine stopped
 * there is no `-wal` beside the journal, so `--out <journal>-wal` (or `-shm`, `-journal`) passed the
 * "exists" check and the backup, a whole database, was renamed into the place SQLite reads as the
 * journal's write-ahead log at the next open. Any target that is one of the journal's files,
 * however spelled (a symbolic link to a directory, a link to the journal), is refused by name.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';

import type { Order } from '../domain/orders.js';
import { main } from '../cli/main.js';
import { backupJournal } from './backup.js';
import { JournalStore } from './store.js';

function order(n: number): Order {
  return { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test', clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n };
}

/** A stopped engine's journal (closed cleanly: no -wal or -shm beside it). */
function stoppedJournal(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-backup-out-'));
  const path = join(dir, 'prod.db');
  const s = JournalStore.open(path);
  s.append({ t: 'order', order: order(1), ts: 1 });
  s.close();
  return { dir, path };
}

describe('journal backup: --out is never one of the journal\'s own files', () => {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    it(`--out <journal>${suffix} is refused, naming it, and nothing is written beside the journal`, async () => {
      const { dir, path } = stoppedJournal();
      const before = readdirSync(dir).sort();
      await expect(backupJournal(path, path + suffix)).rejects.toThrow(`backup refused: ${path + suffix} is the journal's ${suffix} file`);
      expect(readdirSync(dir).sort()).toEqual(before);
    });
  }

  it('the journal itself is refused as the journal, not only as an existing file', async () => {
    const { path } = stoppedJournal();
    await expect(backupJournal(path, path)).rejects.toThrow(`backup refused: ${path} is the journal itself`);
  });

  it('however spelled: through a symbolic link to its directory, with .., through a link to the journal', async () => {
    const { dir, path } = stoppedJournal();
    const alias = join(tmpdir(), `cwts-backup-alias-${process.pid}-${Math.random().toString(36).slice(2)}`);
    symlinkSync(dir, alias);
    await expect(backupJournal(path, join(alias, 'prod.db-wal'))).rejects.toThrow(/backup refused: .* is the journal's -wal file/);
    mkdirSync(join(dir, 'sub'));
    await expect(backupJournal(path, join(dir, 'sub', '..', 'prod.db-shm'))).rejects.toThrow(/backup refused: .* is the journal's -shm file/);
    // the journal named through a link: SQLite keeps -wal beside the real file
    const linked = join(dir, 'linked.db');
    symlinkSync(path, linked);
    await expect(backupJournal(linked, path + '-wal')).rejects.toThrow(/backup refused: .* is the journal's -wal file/);
    // a dangling link whose target is the -wal
    const pointer = join(dir, 'sub', 'out.db');
    symlinkSync(path + '-wal', pointer);
    await expect(backupJournal(path, pointer)).rejects.toThrow(/backup refused: .* is the journal's -wal file/);
    expect(existsSync(path + '-wal')).toBe(false);
  });

  it('cwts-ultra journal backup --out <journal>-wal exits non-zero with the message', async () => {
    const { path } = stoppedJournal();
    const written: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true));
    let code: number;
    try {
      code = await main(['node', 'cwts-ultra', 'journal', 'backup', '--journal', path, '--out', path + '-wal']);
    } finally {
      err.mockRestore();
    }
    expect(code).toBe(2);
    expect(written.join('')).toContain(`backup refused: ${path}-wal is the journal's -wal file`);
    expect(existsSync(path + '-wal')).toBe(false);
    // still a good journal
    const s = JournalStore.open(path);
    expect(s.load().events.length).toBeGreaterThan(0);
    s.close();
  });

  it('a backup beside the journal under another name is still fine', async () => {
    const { dir, path } = stoppedJournal();
    expect((await backupJournal(path, join(dir, 'prod.db.bak'))).orders).toBe(1);
  });
});
