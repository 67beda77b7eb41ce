import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';

import type { Worker } from 'node:worker_threads';

import type { ExecutionReport, Order } from '../domain/orders.js';
import { restoreJournal } from './backup.js';
import { JournalError } from './errors.js';
import { resolveJournalPath } from './location.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { TRADES_WATERMARK_SCOPE, type TradesWatermark } from './trades-watermark.js';
import { JournalStore, lockHolderAlive, PID_REUSE_MARGIN_MS, processStartMs, type ProcReader } from './store.js';
import { resolveDataDir } from '../config/data-dir.js';

const here = dirname(fileURLToPath(import.meta.url));
const DIST_STORE = resolve(here, '../../dist/journal/store.js');
const DEAD_PID = 2 ** 22 + 12345; // above Linux's pid_max default: never a live process

const dirs: string[] = [];
const children: ChildProcess[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'cwts-journal-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function order(n: number, over: Partial<Order> = {}): Order {
  return {
    exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test',
    clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n, ...over,
  };
}
function fill(n: number, tradeId: string, qty = 5, fee = 7n): ExecutionReport {
  return { kind: 'fill', exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: `cw-${n}`, side: 'buy', lastPrice: 100, lastQty: qty, leavesQty: 10 - qty, cumQty: qty, feeAtoms: fee, liquidity: 'maker', tradeId, ts: 1000 + n };
}

/** Runs a writer in another process; resolves with it once it printed `ready`. */
function childWriter(path: string, script: string): Promise<{ child: ChildProcess; lines: string[] }> {
  const code = `import { JournalStore } from ${JSON.stringify(DIST_STORE)};\nconst path = ${JSON.stringify(path)};\n${script}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const lines: string[] = [];
  return new Promise((res, rej) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) {
        lines.push(p);
        if (p === 'ready') res({ child, lines });
      }
    });
    child.once('exit', (code) => rej(new Error(`child exited ${code} before ready`)));
  });
}

describe('JournalStore', () => {
  it('creates the schema at the current version in WAL mode, with synchronous per fsync policy', () => {
    const path = join(tmp(), 'a', 'j.db');
    for (const [fsync, level] of [['always', 2], ['batch', 1], ['never', 0]] as const) {
      const s = JournalStore.open(path, { fsync });
      expect(s.database.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(s.database.pragma('synchronous', { simple: true })).toBe(level);
      expect(s.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      s.close();
    }
  });

  it('queues appends and commits them in one batch; a fill is booked once per trade id', () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    s.append({ t: 'order', order: order(1), ts: 1 });
    const status = { status: 'partially_filled' as const, filledQty: 5, feeAtoms: 7n, venueOrderId: 'v1', symbol: 'BTCUSDT' };
    s.append({ t: 'report', report: fill(1, 't1'), order: status, feeAsset: 'USDT', ts: 2 });
    s.append({ t: 'report', report: fill(1, 't1'), order: status, feeAsset: 'USDT', ts: 3 });
    expect(s.pending).toBe(3);
    expect(s.database.prepare('SELECT count(*) FROM orders').pluck().get()).toBe(0);
    expect(s.flush()).toBe(3);
    expect(s.database.prepare('SELECT count(*) FROM fills').pluck().get()).toBe(1);
    expect(s.database.prepare('SELECT fee_atoms, fee_asset, liquidity FROM fills').get()).toEqual({ fee_atoms: '7', fee_asset: 'USDT', liquidity: 'maker' });
    expect(s.database.prepare('SELECT status, filled_qty, fee_atoms FROM orders').get()).toEqual({ status: 'partially_filled', filled_qty: 5, fee_atoms: '7' });
    const c = s.load();
    expect(c.events.map((e) => e.t)).toEqual(['order', 'report', 'report']);
    expect(c.lastFillTs).toEqual({ sim: 1001 });
    s.close();
  });

  it("a venue's trade watermark counts only fills journaled while it was reconciled", () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    const status = { status: 'partially_filled' as const, filledQty: 5, feeAtoms: 7n, venueOrderId: 'v1', symbol: 'BTCUSDT' };
    const book = (n: number, tradeId: string) => {
      s.append({ t: 'order', order: order(n), ts: 1 });
      s.append({ t: 'report', report: fill(n, tradeId), order: status, feeAsset: 'USDT', ts: 2 });
    };
    const mark = (ts: number | null, reconciled: boolean) => s.append({ t: 'state', scope: TRADES_WATERMARK_SCOPE, key: 'sim', value: { ts, reconciled } satisfies TradesWatermark, ts: 3 });
    const watermark = () => {
      s.flush();
      return s.load().lastFillTs.sim;
    };
    // a journal written before watermarks: the last fill's time
    book(5, 't5');
    expect(watermark()).toBe(1005);
    // not reconciled: fills booked meanwhile (a later one among them) do not move it
    mark(1005, false);
    book(9, 't9');
    expect(watermark()).toBe(1005);
    // reconciled: fills journaled after it do (and only those: t9 came before)
    mark(1005, true);
    expect(watermark()).toBe(1005);
    book(7, 't7');
    expect(watermark()).toBe(1007);
    // no journaled fill was the watermark yet: none (reconciliation reads from when the journal began)
    mark(null, false);
    book(11, 't11');
    expect(watermark()).toBeUndefined();
    s.close();
  });

  it('under fsync "always" a record is committed before append returns', () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'always' });
    expect(s.append({ t: 'order', order: order(1), ts: 1 })).toBe(true);
    const reader = new Database(path, { readonly: true });
    expect(reader.prepare('SELECT client_id FROM orders').pluck().all()).toEqual(['cw-1']);
    reader.close();
    s.close();
  });

  it('a second writer is refused with a message naming the first (same process)', () => {
    const path = join(tmp(), 'j.db');
    const first = JournalStore.open(path);
    let err: unknown;
    try {
      JournalStore.open(path);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe('LOCKED');
    expect((err as Error).message).toContain(`journal ${path}: in use by another cwts-ultra process: pid ${process.pid} on this host (${hostname()})`);
    first.close();
    JournalStore.open(path).close();
  });

  it('a second writer is refused while another process holds the journal, naming that process', async () => {
    const path = join(tmp(), 'j.db');
    const { child } = await childWriter(path, `const s = JournalStore.open(path); console.log('ready'); setInterval(() => {}, 1000);`);
    expect(() => JournalStore.open(path)).toThrow(`in use by another cwts-ultra process: pid ${child.pid} on this host`);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The killed process left its lock: stale on this host, taken over and reported.
    const s = JournalStore.open(path);
    expect(s.opened.staleLock).toMatchObject({ pid: child.pid, host: hostname() });
    expect(s.opened.uncleanPrevious).toMatchObject({ pid: child.pid, cleanExit: false });
    s.close();
  });

  it('a lock from another host is never taken over', () => {
    const path = join(tmp(), 'j.db');
    JournalStore.open(path, { owner: { pid: DEAD_PID, host: 'other-host' } }).close({ clean: false });
    expect(() => JournalStore.open(path)).toThrow(/pid \d+ on host other-host.*journal unlock --force/);
    expect(JournalStore.forceUnlock(path)).toEqual({ pid: DEAD_PID, host: 'other-host' });
    JournalStore.open(path).close();
  });

  describe('a same-host lock whose pid names a process started after the lock (pid reused: a reboot, a pid wrap)', () => {
    const BOOT_S = 1_700_000_000;
    /** A /proc where `pid` (comm with a space and a parenthesis) started `startS` seconds after boot. */
    const fakeProc = (pid: number, startS: number): ProcReader => (file) => {
      if (file === '/proc/stat') return `cpu  1 2 3 4\nintr 5\nctxt 6\nbtime ${BOOT_S}\nprocesses 7\n`;
      if (file === `/proc/${pid}/stat`) return `${pid} (sleep) x) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 ${startS * 100} 8192 100 18446744073709551615\n`;
      return undefined;
    };
    const lockAt = (BOOT_S + 3_600) * 1_000; // an hour after boot
    const probe = (readProc: ProcReader) => ({ exists: () => true, readProc });

    it('reads a process start from /proc/stat btime and field 22 of /proc/<pid>/stat (100 ticks a second)', () => {
      expect(processStartMs(4321, fakeProc(4321, 12))).toBe((BOOT_S + 12) * 1_000);
      expect(processStartMs(4321, () => undefined)).toBeUndefined();
    });

    it('is stale once the process started more than the margin after the lock; one started before it, or within the margin, or unreadable (no /proc) is live', () => {
      const started = (afterLockS: number) => lockHolderAlive(4321, lockAt, probe(fakeProc(4321, 3_600 + afterLockS)));
      expect(started(-600)).toBe(true);
      expect(started(PID_REUSE_MARGIN_MS / 1_000)).toBe(true);
      expect(started(PID_REUSE_MARGIN_MS / 1_000 + 1)).toBe(false);
      expect(lockHolderAlive(4321, lockAt, probe(() => undefined))).toBe(true);
      expect(lockHolderAlive(4321, lockAt, { exists: () => false, readProc: fakeProc(4321, 0) })).toBe(false);
    });

    it('the start takes the lock over (reported stale); the writer still running keeps its lock', () => {
      const path = join(tmp(), 'j.db');
      JournalStore.open(path, { owner: { pid: 4321, host: hostname() }, now: () => lockAt }).close({ clean: false });
      // The lock's pid belongs to a process started after a reboot, a day later.
      const reused = (pid: number, since: number) => lockHolderAlive(pid, since, probe(fakeProc(4321, 86_400)));
      const s = JournalStore.open(path, { isAlive: reused });
      expect(s.opened.staleLock).toEqual({ pid: 4321, host: hostname(), startedAt: lockAt });
      s.close();
      // The same lock with its writer (started before the lock) still running is refused.
      JournalStore.open(path, { owner: { pid: 4321, host: hostname() }, now: () => lockAt }).close({ clean: false });
      const writer = (pid: number, since: number) => lockHolderAlive(pid, since, probe(fakeProc(4321, 3_599)));
      expect(() => JournalStore.open(path, { isAlive: writer })).toThrow('in use by another cwts-ultra process: pid 4321 on this host');
      expect(() => JournalStore.forceUnlock(path, { isAlive: writer })).toThrow('--force removes only a lock whose process is gone');
      expect(JournalStore.forceUnlock(path, { isAlive: reused })).toEqual({ pid: 4321, host: hostname() });
    });
  });

  it('forceUnlock checks the holder inside its write transaction: no other writer can take the lock between the check and the delete', () => {
    const path = join(tmp(), 'j.db');
    JournalStore.open(path, { owner: { pid: DEAD_PID, host: hostname() } }).close({ clean: false });
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    let takeOver: string | undefined;
    const removed = JournalStore.forceUnlock(path, {
      isAlive: () => {
        // An engine starting now takes its lock in an immediate transaction: it cannot begin one.
        try {
          other.exec('BEGIN IMMEDIATE');
          other.exec('ROLLBACK');
          takeOver = 'began';
        } catch (err) {
          takeOver = (err as { code?: string }).code;
        }
        return false;
      },
    });
    other.close();
    expect({ removed, takeOver }).toEqual({ removed: { pid: DEAD_PID, host: hostname() }, takeOver: 'SQLITE_BUSY' });
  });

  it('a lock naming this process\'s own pid that no store here holds is stale (a container restarted after kill -9 / OOM)', () => {
    const path = join(tmp(), 'j.db');
    // The container's previous incarnation: same hostname (pod name) and, in a fresh pid
    // namespace, the same pid as this process. It was killed: its lock row stays behind.
    JournalStore.open(path, { owner: { pid: process.pid, host: hostname() }, now: () => 1_000 }).close({ clean: false });
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT pid, host FROM writer_lock').get()).toEqual({ pid: process.pid, host: hostname() });
    db.close();
    // Signal 0 to that pid reaches ourselves; the restart must not be refused for it.
    const s = JournalStore.open(path);
    expect(s.opened.staleLock).toEqual({ pid: process.pid, host: hostname(), startedAt: 1_000 });
    // The lock it took is held here: a second store in this process is still refused.
    expect(() => JournalStore.open(path)).toThrow(`in use by another cwts-ultra process: pid ${process.pid} on this host`);
    s.close();
  });

  it('a process refused by the lock changes nothing: it does not migrate the journal an older build is writing', () => {
    const path = join(tmp(), 'j.db');
    // A journal written by the running previous release (schema v3), which holds the lock.
    const v3 = new Database(path);
    v3.pragma('journal_mode = WAL');
    for (let v = 0; v < 3; v++) v3.exec(MIGRATIONS[v]!);
    v3.pragma('user_version = 3');
    v3.prepare('INSERT INTO runs (started_at, pid, host) VALUES (1, 4242, ?)').run('trader-1');
    v3.prepare('INSERT INTO writer_lock (id, pid, host, started_at, run_id) VALUES (1, 4242, ?, 1, 1)').run('trader-1');
    v3.close();
    // This build is started against it by mistake: refused, and the journal is left as the
    // running writer knows it (a migrated one it would refuse at its next restart as newer).
    expect(() => JournalStore.open(path)).toThrow(/in use by another cwts-ultra process: pid 4242 on host trader-1/);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(3);
    expect(db.prepare('SELECT count(*) FROM runs').pluck().get()).toBe(1);
    db.close();
    // Once that writer is gone, the journal is migrated as usual.
    JournalStore.forceUnlock(path);
    const s = JournalStore.open(path);
    expect(s.opened.schemaFrom).toBe(3);
    expect(s.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    s.close();
  });

  it('a writer thread that cannot start fails the open and leaves no lock behind', () => {
    const path = join(tmp(), 'j.db');
    // A flag workers refuse: the thread is never started (as when its module is missing).
    expect(() => JournalStore.open(path, { writerExecArgv: ['--no-such-flag'] })).toThrow(/journal .*j\.db: cannot open: .*--no-such-flag/);
    const db = new Database(path, { readonly: true });
    expect(db.prepare('SELECT count(*) FROM writer_lock').pluck().get()).toBe(0);
    db.close();
  });

  it('close() reports a final write that fails and still closes (shutdown goes on); the next start takes the lock over', () => {
    const path = join(tmp(), 'j.db');
    const errors: JournalError[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e) });
    s.database.pragma('busy_timeout = 0');
    // Another connection holds SQLite's write lock at shutdown (as a full disk would fail the
    // write): the run's end stamp and the lock release cannot be written.
    const other = new Database(path);
    other.pragma('busy_timeout = 0');
    other.prepare('BEGIN IMMEDIATE').run();
    try {
      expect(() => s.close()).not.toThrow();
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect(errors.map((e) => e.message)).toContainEqual(expect.stringMatching(/cannot mark the run ended and release the writer lock: database is locked/));
    expect(s.database.open).toBe(false);
    const r = JournalStore.open(path);
    expect(r.opened.staleLock).toMatchObject({ pid: process.pid, host: hostname() });
    expect(r.opened.uncleanPrevious).toMatchObject({ runId: s.runId, cleanExit: false });
    r.close();
  });

  it('kill -9 in the middle of writing loses nothing committed and the restart reports it', async () => {
    const path = join(tmp(), 'j.db');
    // The child commits batches as fast as it can and reports each committed count.
    const { child, lines } = await childWriter(
      path,
      `const s = JournalStore.open(path, { fsync: 'batch', batchMs: 1 });
       console.log('ready');
       let n = 0;
       const o = (i) => ({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't', clientOrderId: 'cw-' + i, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: i, updatedTs: i });
       setInterval(() => { for (let k = 0; k < 200; k++) s.append({ t: 'order', order: o(++n), ts: n }); s.flush(); console.log('committed ' + n); }, 1);`,
    );
    while (lines.filter((l) => l.startsWith('committed')).length < 20) await new Promise((r) => setTimeout(r, 5));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const acked = Math.max(...lines.filter((l) => l.startsWith('committed')).map((l) => Number(l.split(' ')[1])));
    const s = JournalStore.open(path);
    const ids = s.database.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all() as string[];
    expect(ids.length).toBeGreaterThanOrEqual(acked);
    expect(ids.length % 200).toBe(0); // whole transactions only, never half a batch
    expect(ids.slice(0, acked)).toEqual(Array.from({ length: acked }, (_, i) => `cw-${i + 1}`));
    expect(s.database.pragma('quick_check', { simple: true })).toBe('ok');
    expect(s.opened.uncleanPrevious).toMatchObject({ pid: child.pid });
    s.close();
  });

  it('a torn tail (a commit cut off mid-write) loses only that commit', () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    const s = JournalStore.open(path, { fsync: 'always', owner: { pid: DEAD_PID, host: hostname() } });
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.append({ t: 'order', order: order(2), ts: 2 });
    const walBefore = statSync(`${path}-wal`).size;
    s.append({ t: 'order', order: order(3, { source: 'x'.repeat(20_000) }), ts: 3 });
    // Copy the files as a crash would leave them: the last commit's WAL frames cut in half.
    const crash = join(dir, 'crash.db');
    copyFileSync(path, crash);
    copyFileSync(`${path}-wal`, `${crash}-wal`);
    truncateSync(`${crash}-wal`, walBefore + Math.floor((statSync(`${path}-wal`).size - walBefore) / 2));
    s.close({ clean: false });
    const r = JournalStore.open(crash);
    expect(r.database.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all()).toEqual(['cw-1', 'cw-2']);
    expect(r.opened.uncleanPrevious).toBeDefined();
    expect(r.opened.staleLock?.pid).toBe(DEAD_PID);
    r.close();
  });

  it('bad paths give a message naming the journal and the path, not a raw EEXIST', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    const underFile = join(dir, 'file', 'sub', 'j.db');
    expect(() => JournalStore.open(underFile)).toThrow(`journal ${underFile}: cannot create its directory ${join(dir, 'file', 'sub')}: a file is in the way where a directory is needed`);
    expect(() => JournalStore.open(dir)).toThrow(`journal ${dir}: is a directory`);
    writeFileSync(join(dir, 'old.jsonl'), '{"t":"order"}\n');
    expect(() => JournalStore.open(join(dir, 'old.jsonl'))).toThrow(/journal .*old\.jsonl: .*not an SQLite journal.*journal import/);
  });

  it('migrates a version 1 journal forward, keeping its rows', () => {
    const path = join(tmp(), 'j.db');
    const v1 = new Database(path);
    v1.exec(MIGRATIONS[0]!);
    v1.pragma('user_version = 1');
    v1.prepare("INSERT INTO meta (key, value) VALUES ('client_ids_reserved', '2000')").run();
    v1.close();
    const s = JournalStore.open(path);
    expect(s.opened.schemaFrom).toBe(1);
    expect(s.database.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(s.database.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'orders_open'").pluck().get()).toBe(0);
    expect(s.load().reservedClientIds).toBe(2000);
    s.close();
  });

  it('refuses a journal written by a newer schema', () => {
    const path = join(tmp(), 'j.db');
    JournalStore.open(path).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => JournalStore.open(path)).toThrow(/schema version \d+ is newer than this build understands/);
  });

  it('client id reservations are committed at once', () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, owner: { pid: DEAD_PID, host: hostname() } });
    s.reserveClientIds(1000);
    s.close({ clean: false });
    const r = JournalStore.open(path);
    expect(r.load().reservedClientIds).toBe(1000);
    r.close();
  });

  it('a reservation taken ahead is committed by the writer thread (FULL under batch) without a wait, published once durable, and survives a crash', () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, owner: { pid: DEAD_PID, host: hostname() } });
    expect(s.durableClientIds).toBe(0);
    const full0 = s.writerStats.fullSyncCommits;
    s.reserveClientIds(1000);
    expect(s.durableClientIds).toBe(1000);
    s.reserveClientIdsAhead(2000);
    expect(s.reservationStats).toMatchObject({ waits: 1, blocking: 1, ahead: 1 });
    // waiting for the writer: the reservation ahead is committed and published by then
    expect(s.awaitClientIds()).toBe(2000);
    expect(s.durableClientIds).toBe(2000);
    expect(s.reservationStats).toMatchObject({ waits: 2, blocking: 1, ahead: 1 });
    expect(s.writerStats.fullSyncCommits - full0).toBe(2);
    s.close({ clean: false });
    const r = JournalStore.open(path);
    expect(r.load().reservedClientIds).toBe(2000);
    r.close();
  });

  it('once closed, a reservation taken ahead is dropped: nothing is posted or published', () => {
    const s = JournalStore.open(join(tmp(), 'j.db'), { fsync: 'batch', batchMs: 60_000 });
    s.reserveClientIds(1000);
    s.close();
    s.reserveClientIdsAhead(2000);
    expect(s.durableClientIds).toBe(1000);
    expect(s.reservationStats.ahead).toBe(0);
  });
});

describe('JournalStore writer thread', () => {
  it('commits on its own thread: rows appear while the appending thread never yields', async () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
    // Enough records for an early hand-over (no 60 s timer), handed over at the end of this turn.
    for (let i = 1; i <= 1500; i++) s.append({ t: 'order', order: order(i), ts: i });
    await new Promise((r) => setImmediate(r));
    expect(s.handoverStats.posts).toBe(1);
    // From here this thread spins without returning to the event loop: only another thread can commit.
    const reader = new Database(path, { readonly: true });
    const count = reader.prepare('SELECT count(*) FROM orders').pluck();
    const until = Date.now() + 30_000;
    let seen = 0;
    // the writer bumps its shared counters just after the commit is visible: wait for both
    while ((seen < 1500 || s.writerStats.committed < 1500) && Date.now() < until) seen = count.get() as number;
    reader.close();
    expect(seen).toBe(1500);
    expect(s.writerStats).toMatchObject({ committed: 1500, commits: 1 });
    expect(s.pending).toBe(0);
    s.close();
  });

  it('checkpoints the WAL once commits stop, not inside a burst of commits', async () => {
    const s = JournalStore.open(join(tmp(), 'j.db'), { fsync: 'batch', batchMs: 60_000 });
    // One commit of ~2,000 WAL pages (SQLite's own checkpoint would run inside it at 1,000).
    for (let n = 1; n <= 30_000; n++) s.append({ t: 'order', order: order(n, { text: 'x'.repeat(200) }), ts: n });
    s.flush();
    const walPages = () => (s.database.pragma('wal_checkpoint(PASSIVE)') as { log: number; checkpointed: number }[])[0]!;
    // A bound on waiting, not on speed: a loaded 2-core host took over 10 s for the commit and the
    // idle checkpoint after it (the test's own timeout is wider still).
    const until = Date.now() + 45_000;
    while (s.writerStats.checkpoints === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(s.writerStats.checkpoints).toBeGreaterThan(0);
    // Everything the commit wrote reached the database file: nothing left for this checkpoint to copy.
    const w = walPages();
    expect(w.log).toBeGreaterThan(1000);
    expect(w.checkpointed).toBe(w.log);
    s.close();
  }, 90_000);

  it('batch: appends are committed by the timer, in order, without a flush', async () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 5 });
    for (let i = 1; i <= 10; i++) s.append({ t: 'order', order: order(i), ts: i });
    const until = Date.now() + 30_000;
    while (s.committed < 10 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(s.database.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all()).toEqual(Array.from({ length: 10 }, (_, i) => `cw-${i + 1}`));
    s.close();
  });

  it('always: a commit that cannot finish in time refuses the record (append false, onError), and is retried', () => {
    const path = join(tmp(), 'j.db');
    const errors: string[] = [];
    // 2 s, not less: on a starved host (CI beside other work) an unblocked commit took over 300 ms;
    // the writer's busy timeout (5 s) still keeps the blocked one waiting past it.
    const s = JournalStore.open(path, { fsync: 'always', commitTimeoutMs: 2000, onError: (e) => errors.push(e.message) });
    expect(s.append({ t: 'order', order: order(1), ts: 1 })).toBe(true);
    // Another connection holds the write lock: the writer waits on it (busy timeout) past our bound.
    const blocker = new Database(path);
    blocker.prepare('BEGIN IMMEDIATE').run();
    expect(s.append({ t: 'order', order: order(2), ts: 2 })).toBe(false);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^journal ${path}: the journal writer thread did not answer within 2000 ms`));
    blocker.prepare('ROLLBACK').run();
    blocker.close();
    // The refused record stays with the writer and commits once the lock is gone (an order
    // journaled but never sent: reconciliation closes it as unknown to the venue).
    expect(s.append({ t: 'order', order: order(3), ts: 3 })).toBe(true);
    expect(s.database.prepare('SELECT client_id FROM orders ORDER BY seq').pluck().all()).toEqual(['cw-1', 'cw-2', 'cw-3']);
    s.close();
  });
});

describe('journal file removed or replaced under the running engine', () => {
  const LOST = /journal file removed or replaced under the running engine \(it was (removed|replaced by another file)\)/;

  it('removed: the next commit fails (halts) instead of succeeding into the unlinked file; close writes what the run wrote back at the path, HALT included', () => {
    const dir = tmp();
    const path = join(dir, 'data', 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, now: () => Date.UTC(2026, 0, 2), onError: (e) => errors.push(e.message) });
    s.reserveClientIds(1000);
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.flush();
    // An operator or a cleanup job removes the data directory while the engine runs.
    rmSync(join(dir, 'data'), { recursive: true, force: true });
    for (let n = 2; n <= 5; n++) s.append({ t: 'order', order: order(n), ts: n });
    expect(() => s.flush()).toThrow(LOST);
    // Every later barrier fails too, with nothing new to commit: no flush reads as success again.
    expect(() => s.flush()).toThrow(LOST);
    s.close();
    expect(errors.at(-1)).toBe(`journal ${path}: its file was removed while this run wrote it; what the run wrote is written back at the path, and the next start restores the run from it HALTED by the journal (its last records were lost) until \`cwts-ultra risk resume\``);
    // Nothing left beside it: the journal at the path is the run's.
    expect(readdirSync(join(dir, 'data')).filter((f) => f.includes('.rescued-'))).toEqual([]);
    // The supervisor's restart: the run and its HALT, not an empty journal with ids from cw-1.
    const next = JournalStore.open(path);
    const c = next.load();
    expect(c.events.filter((e) => e.t === 'order').map((e) => (e.t === 'order' ? e.order.clientOrderId : ''))).toEqual(['cw-1', 'cw-2', 'cw-3', 'cw-4', 'cw-5']);
    expect(c.reservedClientIds).toBe(1000);
    expect(c.lastRisk).toMatchObject({ to: 'HALTED', who: 'journal' });
    expect(next.opened.uncleanPrevious).toMatchObject({ runId: s.runId, cleanExit: false });
    next.close();
  });

  it('the file alone removed (its directory, -wal and -shm names kept): written back at the path all the same', () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: () => {} });
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.flush();
    rmSync(path);
    s.append({ t: 'order', order: order(2), ts: 2 });
    expect(() => s.flush()).toThrow(LOST);
    s.close();
    const next = JournalStore.open(path);
    expect(next.load().events.filter((e) => e.t === 'order')).toHaveLength(2);
    next.close();
  });

  it('the start after a journal removed and saved only beside the path (not put back) refuses to open an empty journal', () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, now: () => Date.UTC(2026, 0, 2), onError: () => {} });
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.flush();
    s.close();
    // what a shutdown that could not put the journal back (or a crash just after saving it) leaves
    const rescued = join(dir, 'j.db.rescued-2026-01-02T00-00-00-000Z');
    renameSync(path, rescued);
    let refused: unknown;
    try {
      JournalStore.open(path).close();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(JournalError);
    expect((refused as Error).message).toContain(`${rescued} beside it holds a run this journal does not`);
    expect((refused as Error).message).toContain(`\`cwts-ultra journal restore --from ${rescued}\``);
    // nothing was created at the path
    expect(existsSync(path)).toBe(false);
    restoreJournal(rescued, path);
    const next = JournalStore.open(path);
    expect(next.load().events.filter((e) => e.t === 'order')).toHaveLength(1);
    next.close();
  });

  it('replaced by another file (a restore or a copy put over it): fails the commit under `always`, so the order is not sent; the next open refuses the file put there until the saved journal is restored or moved away', () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'always', now: () => Date.UTC(2026, 0, 2), onError: (e) => errors.push(e.message) });
    expect(s.append({ t: 'order', order: order(1), ts: 1 })).toBe(true);
    writeFileSync(join(dir, 'other.db'), '');
    renameSync(join(dir, 'other.db'), path);
    expect(s.append({ t: 'order', order: order(2), ts: 2 })).toBe(false);
    expect(errors[0]).toMatch(LOST);
    expect(errors[0]).toMatch(/replaced by another file/);
    s.close();
    // The file put there is left alone; the run's journal is saved beside it.
    expect(statSync(path).size).toBe(0);
    const rescued = join(dir, 'j.db.rescued-2026-01-02T00-00-00-000Z');
    expect(readdirSync(dir).filter((f) => f.startsWith('j.db.rescued-'))).toEqual([basename(rescued)]);
    expect(errors.at(-1)).toBe(`journal ${path}: its file was replaced by another file while this run wrote it; what the run wrote is saved as ${rescued}: restore it before the next start (\`cwts-ultra journal restore --from ${rescued}\`); the next start refuses the journal at the path until then (or until ${rescued} is moved away)`);
    expect(() => JournalStore.open(path).close()).toThrow(/beside it holds a run this journal does not/);
    expect(statSync(path).size).toBe(0);
    // once restored from it, the journal holds its run: the open goes ahead (the file stays)
    restoreJournal(rescued, path);
    const next = JournalStore.open(path);
    // cw-2 was refused (not sent) but committed into the file as it was: reconciliation closes it
    expect(next.load().events.filter((e) => e.t === 'order').map((e) => (e.t === 'order' ? e.order.clientOrderId : ''))).toEqual(['cw-1', 'cw-2']);
    next.close();
    expect(existsSync(rescued)).toBe(true);
    // moved away instead: the journal at the path is the operator's choice
    const other = join(tmp(), 'j.db');
    const again = JournalStore.open(other);
    again.close();
    renameSync(rescued, `${other}.elsewhere`);
    JournalStore.open(path).close();
  });

  it('a saved journal that cannot be read refuses the open too: it may be the only record of a run', () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    JournalStore.open(path).close();
    writeFileSync(join(dir, 'j.db.rescued-2026-01-02T00-00-00-000Z'), 'not a database, but long enough to be read as one: '.repeat(100));
    expect(() => JournalStore.open(path).close()).toThrow(/j\.db\.rescued-2026-01-02T00-00-00-000Z beside it cannot be read/);
  });

  it('noticed while idle too (no commit): reported before the next order, not after it', async () => {
    const dir = tmp();
    const path = join(dir, 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: (e) => errors.push(e.message) });
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.flush();
    rmSync(path);
    const until = Date.now() + 20_000;
    while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(errors[0]).toMatch(LOST);
    s.close();
  });
});

describe('a run whose last records were lost at shutdown', () => {
  async function killWriter(s: JournalStore): Promise<void> {
    // The writer thread dies (an uncaught error, a worker killed for memory): what was posted to it is lost.
    await (s as unknown as { writer: { worker: Worker } }).writer.worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
  }

  it('is reported unclean at the next start, which comes up HALTED by the journal until risk resume', async () => {
    const path = join(tmp(), 'j.db');
    const errors: string[] = [];
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, now: () => 5000, onError: (e) => errors.push(e.message) });
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.flush();
    s.append({ t: 'order', order: order(2), ts: 2 });
    await killWriter(s);
    expect(errors).toHaveLength(1);
    // The engine halts on that error; its own HALTED record is refused (the writer is gone).
    expect(s.append({ t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'journal write failed', who: 'risk', ts: 3 })).toBe(false);
    s.close();
    const next = JournalStore.open(path);
    const c = next.load();
    next.close();
    expect(c.events.filter((e) => e.t === 'order')).toHaveLength(1); // cw-2 was lost
    expect(next.opened.uncleanPrevious).toMatchObject({ runId: s.runId, cleanExit: false, endedAt: 5000 });
    expect(c.lastRisk).toMatchObject({ to: 'HALTED', who: 'journal', ts: 5000 });
    expect(c.lastRisk!.reason).toMatch(new RegExp(`^journal: the last records of run ${s.runId} were not committed at shutdown \\(the journal writer thread exited \\(code 1\\)\\); .*\`cwts-ultra risk resume\`$`));
  });

  it('keeps the state it was in before (a HALT of its own) in the reason', async () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000, onError: () => {} });
    s.append({ t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'drawdown 16%', who: 'risk', ts: 1 });
    s.flush();
    await killWriter(s);
    s.close();
    const next = JournalStore.open(path);
    const c = next.load();
    next.close();
    expect(c.lastRisk!.reason).toMatch(/; before: HALTED \(drawdown 16%\)$/);
  });

  it('a clean close is not reported, and leaves no HALT of the journal', () => {
    const path = join(tmp(), 'j.db');
    const s = JournalStore.open(path);
    s.append({ t: 'order', order: order(1), ts: 1 });
    s.close();
    const next = JournalStore.open(path);
    expect(next.opened.uncleanPrevious).toBeUndefined();
    expect(next.load().lastRisk).toBeUndefined();
    next.close();
  });
});

describe('journal location', () => {
  it('data dir: CWTS_DATA_DIR, else STATE_DIRECTORY, else ./data', () => {
    expect(resolveDataDir({ CWTS_DATA_DIR: '/var/lib/cwts-ultra', STATE_DIRECTORY: '/x' }, '/w')).toBe('/var/lib/cwts-ultra');
    expect(resolveDataDir({ STATE_DIRECTORY: '/var/lib/a:/var/lib/b' }, '/w')).toBe('/var/lib/a');
    expect(resolveDataDir({}, '/w')).toBe('/w/data');
  });
  it('default file is <data dir>/<system.name>.db; a relative path resolves against the data dir', () => {
    expect(resolveJournalPath({ path: undefined }, 'cwts-sim', '/d')).toBe('/d/cwts-sim.db');
    expect(resolveJournalPath({ path: undefined }, 'a/../b c', '/d')).toBe('/d/a_.._b_c.db');
    expect(resolveJournalPath({ path: 'j/x.db' }, 'n', '/d')).toBe('/d/j/x.db');
    expect(resolveJournalPath({ path: '/abs/x.db' }, 'n', '/d')).toBe('/abs/x.db');
  });
  it('the dist build the cross-process tests use exists', () => {
    expect(existsSync(DIST_STORE)).toBe(true);
  });
});
