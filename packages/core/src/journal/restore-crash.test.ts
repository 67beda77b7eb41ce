/**
 * `journal restore` killed midway (SIGKILL, power loss). The kill points are deterministic: a
 * child process wraps node:fs (syncBuiltinESMExports) and SIGKILLs itself right after a chosen
 * file operation of the restore. Runs against dist (the child imports the built backup.js).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import type { Order } from '../domain/orders.js';
import { backupJournal, RESTORE_CLIENT_ID_GAP, restoreJournal } from './backup.js';
import { restoreMarkerPath } from './restore-marker.js';
import { JournalStore } from './store.js';

const here = dirname(fileURLToPath(import.meta.url));
const DIST = resolve(here, '../../dist/journal/');
const BETTER_SQLITE3 = resolve(here, '../../node_modules/better-sqlite3/lib/index.js');
const children: ChildProcess[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'cwts-restore-crash-'));
  dirs.push(d);
  return d;
}

function order(n: number): Order {
  return { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test', clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n };
}

/** Runs restoreJournal in a child that SIGKILLs itself right after renaming the journal away (what the first version did first). */
function restoreKilledAfterMoveAside(backup: string, path: string): { signal: NodeJS.Signals | null; stdout: string } {
  const code = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
const real = fs.renameSync;
fs.renameSync = (a, b) => { real(a, b); if (a === ${JSON.stringify(path)}) process.kill(process.pid, 'SIGKILL'); };
syncBuiltinESMExports();
const { restoreJournal } = await import(${JSON.stringify(join(DIST, 'backup.js'))});
restoreJournal(${JSON.stringify(backup)}, ${JSON.stringify(path)});
console.log('completed');
`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
  return { signal: r.signal, stdout: r.stdout };
}

/**
 * Runs restoreJournal in a child that SIGKILLs itself right after its `killAt`-th file operation
 * that changes something (a rename, link, copy, write, or the removal of a file that was there);
 * prints `completed` and the first client id where it got through.
 */
function restoreKilledAt(backup: string, path: string, killAt: number, noLinks: boolean): Promise<NodeRun> {
  const code = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
let n = 0;
// a filesystem without hard links: the kept copy is a copy
if (${noLinks}) fs.linkSync = () => { throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }); };
for (const name of ['renameSync', 'linkSync', 'rmSync', 'copyFileSync', 'writeFileSync']) {
  const real = fs[name];
  fs[name] = (...a) => {
    const changes = name !== 'rmSync' || fs.existsSync(a[0]);
    const r = real(...a);
    if (changes) {
      n += 1;
      process.stdout.write('step ' + n + ' ' + name + ' ' + a.filter((x) => typeof x === 'string').join(' -> ') + '\\n');
      if (n === ${killAt}) process.kill(process.pid, 'SIGKILL');
    }
    return r;
  };
}
syncBuiltinESMExports();
const { restoreJournal } = await import(${JSON.stringify(join(DIST, 'backup.js'))});
const r = restoreJournal(${JSON.stringify(backup)}, ${JSON.stringify(path)});
console.log('completed from', r.clientIdsFrom);
`;
  return runNode(code);
}

/** The operator's plain `journal restore` (on a filesystem without hard links where `noLinks`). */
function runRestore(backup: string, path: string, noLinks = false): Promise<NodeRun> {
  return runNode(`
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
if (${noLinks}) fs.linkSync = () => { throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }); };
syncBuiltinESMExports();
const { restoreJournal } = await import(${JSON.stringify(join(DIST, 'backup.js'))});
const r = restoreJournal(${JSON.stringify(backup)}, ${JSON.stringify(path)});
console.log('completed from', r.clientIdsFrom);
`);
}

interface NodeRun {
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** An ES module run in a child node; resolves when it exits (or is killed). */
function runNode(code: string): Promise<NodeRun> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((res) => child.once('close', (_code, signal) => res({ signal, stdout, stderr })));
}


/**
 * An engine on `path` that reserves client ids up to `reserveTo`, commits orders `from`..`to`
 * and is killed (the usual reason for a restore). A reader's open snapshot keeps the writer's
 * idle checkpoint from copying them into the main file: they are in the -wal only, as after any
 * kill inside a burst.
 */
async function engineKilledWithCommitsInWal(path: string, from: number, to: number, reserveTo: number): Promise<void> {
  const code = `
import Database from ${JSON.stringify(BETTER_SQLITE3)};
const { JournalStore } = await import(${JSON.stringify(join(DIST, 'store.js'))});
const path = ${JSON.stringify(path)};
const s = JournalStore.open(path);
const reader = new Database(path, { readonly: true });
reader.prepare('BEGIN').run();
reader.prepare('SELECT count(*) FROM orders').get();
const o = (n) => ({ exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test', clientOrderId: 'cw-' + n, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n });
s.reserveClientIds(${reserveTo});
for (let i = ${from}; i <= ${to}; i++) s.append({ t: 'order', order: o(i), ts: i });
s.flush();
setTimeout(() => console.log('ready'), 300);
setInterval(() => {}, 1000);
`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((res, rej) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && res());
    child.once('exit', (c) => rej(new Error(`engine child exited ${c}`)));
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

/** Orders and reservation of a journal file, read-only (its -wal included). */
function contents(file: string): { orders: number; reserved: number; restoredFrom: boolean } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return {
      orders: db.prepare('SELECT count(*) FROM orders').pluck().get() as number,
      reserved: Number(db.prepare("SELECT value FROM meta WHERE key = 'client_ids_reserved'").pluck().get() ?? 0),
      restoredFrom: db.prepare("SELECT value FROM meta WHERE key = 'restored_from'").pluck().get() !== undefined,
    };
  } finally {
    db.close();
  }
}

function keptCopies(dir: string, name: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith(`${name}.before-restore-`) && !/-(wal|shm|journal)$/.test(n))
    .map((n) => join(dir, n));
}

describe('journal restore killed midway', () => {
  it('a start after a restore killed between its renames does not open an empty journal (no positions, client ids again from cw-1)', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    let s = JournalStore.open(path);
    s.reserveClientIds(1000);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.flush();
    s.close();
    await backupJournal(path, backup);
    s = JournalStore.open(path);
    for (let i = 4; i <= 8; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.reserveClientIds(2000);
    s.close();

    const r = restoreKilledAfterMoveAside(backup, path);
    // (the crash-safe restore never renames the journal away: the hook never fires, it completes)
    expect(r.signal === 'SIGKILL' || r.stdout.includes('completed')).toBe(true);

    // What the supervisor's next start does: open the journal at the path.
    let opened: JournalStore | undefined;
    try {
      opened = JournalStore.open(path);
    } catch (err) {
      expect(String(err)).toMatch(/journal restore` was interrupted/);
      return;
    }
    try {
      const c = opened.load();
      // Either the backup (3 orders, ids past 1000 + gap) or the old journal (8 orders, 2000):
      // never an empty journal whose client ids start again at cw-1.
      expect(c.events.filter((e) => e.t === 'order').length).toBeGreaterThanOrEqual(3);
      expect(c.reservedClientIds).toBeGreaterThanOrEqual(2000);
    } finally {
      opened.close();
    }
  });

  it('re-running a restore that was killed midway keeps the replaced journal whole (its -wal is not deleted)', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    const s = JournalStore.open(path);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.flush();
    s.close();
    await backupJournal(path, backup);
    await engineKilledWithCommitsInWal(path, 4, 8, 100);

    const first = restoreKilledAfterMoveAside(backup, path);
    expect(first.signal === 'SIGKILL' || first.stdout.includes('completed')).toBe(true);
    // The operator runs the restore again (or for the first time, if the hook never fired it completed).
    expect((await runRestore(backup, path)).stdout).toContain('completed');

    // The replaced journal is "kept as <file>.before-restore-<time>, never deleted": all 8 orders.
    const kept = keptCopies(dir, 'j.db');
    expect(kept.length).toBeGreaterThan(0);
    expect(Math.max(...kept.map((k) => contents(k).orders))).toBe(8);
  });

  it('restoring the same backup again, killed midway and re-run, does not reissue the client ids the run in between sent', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    let s = JournalStore.open(path);
    s.reserveClientIds(1000);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.flush();
    s.close();
    await backupJournal(path, backup);
    // First restore: ids continue one billion past the backup; the run after it sends ids there.
    const from = Number(/completed from (\d+)/.exec((await runRestore(backup, path)).stdout)![1]);
    s = JournalStore.open(path);
    const upTo = s.load().reservedClientIds;
    expect(upTo + 1).toBe(from);
    for (let i = from; i < from + 5; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.reserveClientIds(upTo + 1000);
    s.close();
    // The same backup restored again, killed midway, then re-run.
    restoreKilledAfterMoveAside(backup, path);
    await runRestore(backup, path);
    const again = JournalStore.open(path);
    try {
      // "Never below the reservation and highest id of the journal it replaces" (docs/journal.md)
      expect(again.load().reservedClientIds).toBeGreaterThanOrEqual(upTo + 1000);
    } finally {
      again.close();
    }
  });

  it("what an earlier version's killed restore left (the journal moved aside, its -wal still at the path) is refused, not deleted; once paired, the re-run keeps its ids clear", async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    const s = JournalStore.open(path);
    s.reserveClientIds(1000);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.close();
    await backupJournal(path, backup);
    // restored once (ids past 1000 + gap), then a run sends ids from there and is killed
    const from = restoreJournal(backup, path).clientIdsFrom;
    for (const n of readdirSync(dir)) if (n.includes('.before-restore-')) rmSync(join(dir, n));
    await engineKilledWithCommitsInWal(path, from, from + 4, from + 999);
    // the first step of the earlier restore, then the kill
    const kept = `${path}.before-restore-2026-01-01T00-00-00-000Z`;
    renameSync(path, kept);
    expect(() => restoreJournal(backup, path)).toThrow(/no journal at the path, but a -wal with commits is .*j\.db-wal.*before-restore-2026-01-01T00-00-00-000Z\?/);
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(existsSync(path)).toBe(false);
    // The operator puts the -wal beside the file it belongs to, as the refusal says.
    renameSync(`${path}-wal`, `${kept}-wal`);
    rmSync(`${path}-shm`, { force: true });
    expect(contents(kept)).toMatchObject({ orders: 8, reserved: from + 999 });
    const r = restoreJournal(backup, path);
    // the newest kept copy is the journal the interrupted restore replaced: its ids were sent
    expect(from).toBe(1000 + RESTORE_CLIENT_ID_GAP + 1);
    expect(r.clientIdsFrom).toBe(from + 1000);
    expect(contents(path).reserved).toBe(from + 999);
  });

  it('a restore killed after keeping only the main file, re-run from that kept copy (back to the replaced journal), brings back every commit of it', async () => {
    const dir = tempDir();
    const path = join(dir, 'j.db');
    const backup = join(dir, 'b.db');
    const s = JournalStore.open(path);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.close();
    await backupJournal(path, backup);
    await engineKilledWithCommitsInWal(path, 4, 8, 100);
    const template = tempDir();
    cpSync(dir, template, { recursive: true });
    // the kill point right after the journal's main file is linked aside (its -wal not yet)
    let r: NodeRun | undefined;
    for (let killAt = 1; killAt < 20; killAt++) {
      rmSync(dir, { recursive: true, force: true });
      cpSync(template, dir, { recursive: true });
      r = await restoreKilledAt(backup, path, killAt, false);
      expect(r.signal, r.stdout).toBe('SIGKILL');
      if (/linkSync \S+j\.db -> \S+before-restore-[^-\s]+-[^\s]*Z\n$/.test(r.stdout)) break;
    }
    const kept = keptCopies(dir, 'j.db');
    expect(kept).toHaveLength(1);
    expect(existsSync(`${kept[0]}-wal`), r!.stdout).toBe(false);
    const again = await runRestore(kept[0]!, path);
    expect(again.stdout, again.stderr).toContain('completed');
    expect(contents(path).orders).toBe(8);
    expect(contents(kept[0]!).orders).toBe(8);
  });

  it.each([
    ['hard links', false],
    ['copies (a filesystem without hard links)', true],
  ])('a kill after any one of its file operations leaves a journal that refuses to open until the restore is re-run, or one that is whole; the re-run loses nothing (kept copy by %s)', { timeout: 180_000 }, async (_, noLinks) => {
    // The template: a journal restored once (ids past 1000 + gap), then a run that sent five ids
    // from there, reserved 1000 more and was killed with its commits in the -wal only. The same
    // backup is restored over it: every kill point of that restore is tried on a copy.
    const template = tempDir();
    const path0 = join(template, 'j.db');
    const backup0 = join(template, 'b.db');
    const s = JournalStore.open(path0);
    s.reserveClientIds(1000);
    for (let i = 1; i <= 3; i++) s.append({ t: 'order', order: order(i), ts: i });
    s.close();
    await backupJournal(path0, backup0);
    const from = restoreJournal(backup0, path0).clientIdsFrom;
    for (const n of readdirSync(template)) if (n.includes('.before-restore-')) rmSync(join(template, n));
    await engineKilledWithCommitsInWal(path0, from, from + 4, from + 999);
    expect(existsSync(`${path0}-wal`)).toBe(true);
    const old = contents(path0);
    expect(old).toEqual({ orders: 8, reserved: from + 999, restoredFrom: true });

    // Each kill point on its own copy of the template, in parallel batches until one gets through.
    const runs: { killAt: number; dir: string; path: string; backup: string; r: NodeRun }[] = [];
    for (let k = 1; k < 100 && !runs.some((x) => x.r.signal !== 'SIGKILL'); k += 2) {
      const batch = Array.from({ length: 2 }, (_, i) => k + i).map(async (killAt) => {
        const dir = tempDir();
        cpSync(template, dir, { recursive: true });
        const path = join(dir, 'j.db');
        const backup = join(dir, 'b.db');
        return { killAt, dir, path, backup, r: await restoreKilledAt(backup, path, killAt, noLinks) };
      });
      runs.push(...(await Promise.all(batch)));
    }
    const through = runs.findIndex((x) => x.r.signal !== 'SIGKILL');
    expect(runs[through]!.r.stdout, runs[through]!.r.stderr).toContain('completed');
    const killed = runs.slice(0, through);
    expect(killed.length).toBeGreaterThan(3);

    for (const { killAt, dir, path, r } of killed) {
      const where = `kill after step ${killAt}:\n${r.stdout}`;
      // The next start: refused while the restore is half done, or on a whole journal.
      let opened: JournalStore | undefined;
      try {
        opened = JournalStore.open(path);
      } catch (err) {
        expect(existsSync(restoreMarkerPath(path)), where).toBe(true);
        expect(String(err), where).toMatch(/journal restore` was interrupted .*Run `cwts-ultra journal restore --from .*b\.db` again, which finishes it/);
        // nor is it backed up (the file at the path may lack its -wal) or unlocked (written to)
        await expect(backupJournal(path, join(dir, 'mid.db')), where).rejects.toThrow(/was interrupted/);
        expect(() => JournalStore.forceUnlock(path), where).toThrow(/was interrupted/);
      }
      if (opened !== undefined) {
        expect(existsSync(restoreMarkerPath(path)), where).toBe(false);
        const c = opened.load();
        opened.close();
        const orders = c.events.filter((e) => e.t === 'order').length;
        if (orders === 8) {
          // the old journal with every commit (the restore had not yet touched it)
          expect(c.reservedClientIds, where).toBe(from + 999);
        } else {
          // or the restore was through: the backup's orders, ids clear of the replaced journal's
          expect(orders, where).toBe(3);
          expect(contents(path).restoredFrom, where).toBe(true);
          expect(c.reservedClientIds, where).toBeGreaterThanOrEqual(from + 999);
        }
      }
    }

    // The operator re-runs each restore: it completes, and nothing is lost.
    const again = await Promise.all(killed.map((x) => runRestore(x.backup, x.path, noLinks)));
    for (const [i, { killAt, dir, path, r }] of killed.entries()) {
      const where = `kill after step ${killAt}:\n${r.stdout}`;
      expect(again[i]!.stdout, `${where}\nre-run: ${again[i]!.stderr}`).toContain('completed');
      expect(existsSync(restoreMarkerPath(path)), where).toBe(false);
      const kept = keptCopies(dir, 'j.db').map(contents);
      // the replaced journal whole in a kept copy: its 8 orders (5 only in its -wal) and reservation
      expect(kept.some((k) => k.orders === 8 && k.reserved === from + 999), `${where}\nkept: ${JSON.stringify(kept)}`).toBe(true);
      const now = contents(path);
      expect(now.orders, where).toBe(3);
      expect(now.restoredFrom, where).toBe(true);
      expect(now.reserved, where).toBeGreaterThanOrEqual(from + 999);
      // nothing of the restore's own left behind
      expect(readdirSync(dir).filter((n) => /partial|restoring/.test(n)), where).toEqual([]);
    }
  });
});
