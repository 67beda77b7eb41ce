import { closeSync, copyFileSync, existsSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

import { clientIdNumber } from '../domain/client-id.js';
import { describeFsError, JournalError } from './errors.js';
import { journalFileOf, sameInode } from './journal-files.js';
import { readRestoreMarker, refuseInterruptedRestore, removeRestoreMarker, syncDir, syncFile, writeRestoreMarker } from './restore-marker.js';
import { SCHEMA_VERSION } from './schema.js';
import { describeHolder, writerHolder, type WriterHolder } from './store.js';

/** What a backup or a restore holds, for the operator's line and the tests. */
export interface JournalFileSummary {
  path: string;
  bytes: number;
  schemaVersion: number;
  orders: number;
  fills: number;
  runs: number;
  /** Start of the last run in it, ISO, or null. */
  lastRunStartedAt: string | null;
  /** The `[system] name` its last run was started under (null: no run recorded one, as older versions did not). */
  lastSystemName: string | null;
}

/** What `restoreJournal` checks the backup against. */
export interface RestoreChecks {
  /**
   * The `[system] name` of the config the journal is restored for: a backup whose last run was
   * started under another name is another deployment's journal (its positions, orders and client
   * ids), and is refused unless `otherSystem` is set. The last run, not every run: after an
   * intended rename the journal's newer backups carry the new name.
   */
  system?: string;
  otherSystem?: boolean;
}

/**
 * After a restore the client id sequence continues this far above the backup's reservation: ids
 * issued after the backup was taken are not in it, and a venue must never see an id twice. One
 * billion covers eleven days at a thousand orders a second and keeps ids within every venue's
 * length limit ("cw-" + 10 digits).
 */
export const RESTORE_CLIENT_ID_GAP = 1_000_000_000;

/**
 * `journal backup`: SQLite's online backup API from a read-only connection, so it runs while the
 * engine writes (no lock taken, the engine never waits). All pages are copied in one step, inside
 * one read transaction: a consistent snapshot of what was committed when it started. The copy is
 * written beside the target, checked (`PRAGMA integrity_check`, schema version), fsynced, and
 * only then renamed to `out`: a failed or interrupted backup never leaves a file that looks good.
 */
export async function backupJournal(path: string, out: string): Promise<JournalFileSummary> {
  if (!existsSync(path)) throw new JournalError('PATH', path, 'does not exist; nothing to back up');
  // mid-restore the file at the path may be the old journal without its -wal: a backup of it looks whole and is not
  refuseInterruptedRestore(path);
  const own = journalFileOf(out, path);
  if (own !== undefined) throw new JournalError('PATH', path, `backup refused: ${out} is ${own === '' ? 'the journal itself' : `the journal's ${own} file`}; the backup would be renamed over it and corrupt the journal: name a file of its own`);
  if (existsSync(out)) throw new JournalError('PATH', path, `backup target ${out} exists; choose a new file (backups are never overwritten)`);
  try {
    mkdirSync(dirname(out), { recursive: true });
  } catch (err) {
    throw new JournalError('PATH', path, `cannot create the backup directory ${dirname(out)}: ${describeFsError(err)}`);
  }
  const partial = join(dirname(out), `.${basename(out)}.partial`);
  rmSync(partial, { force: true });
  let src: Db;
  try {
    src = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new JournalError('PATH', path, `cannot open for backup: ${describeFsError(err)}`);
  }
  try {
    // progress() returns the pages for the next step: everything at once, one snapshot.
    await src.backup(partial, { progress: () => 1 << 30 });
  } catch (err) {
    rmSync(partial, { force: true });
    throw new JournalError('WRITE', path, `backup to ${out} failed: ${describeFsError(err)}`);
  } finally {
    src.close();
  }
  let summary: JournalFileSummary;
  try {
    // One self-contained file (no -wal beside it) is what gets copied off the host.
    const copy = new Database(partial);
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    summary = verifyJournalFile(partial, path);
    const fd = openSync(partial, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, out);
  } catch (err) {
    rmSync(partial, { force: true });
    throw err;
  }
  return { ...summary, path: out };
}

/**
 * `journal restore`: puts a backup in place of the journal. Refused while a writer holds the
 * journal (a live pid on this host, or any lock from another host: it cannot be checked). The
 * backup is verified first; the journal it replaces (with its -wal and -shm) is kept beside it as
 * `<file>.before-restore-<time>`. The restored copy carries no writer lock, records where it came
 * from (meta `restored_from`), and moves the client id sequence RESTORE_CLIENT_ID_GAP past the
 * backup's reservation, and never below the replaced journal's: a backup restored a second time
 * would otherwise hand out the ids its first restore's run sent. The next start restores from
 * it and reconciles with the venues, which recovers the fills made after the backup was taken.
 *
 * A journal so damaged that its writer lock cannot be read (restore is what a damaged journal
 * is replaced with) is replaced, and `lockUnreadable` says why its lock was not checked: no
 * engine can have started on it since it was damaged (the open's quick_check refuses it), and
 * one that was already running when it was damaged sees its file replaced at its next commit or
 * within a second (writer-worker.ts, fileLost) and halts. A lock that cannot be read for any
 * other reason (busy, I/O, permissions) refuses the restore.
 *
 * Crash-safe: the path is never without a journal. A marker (`<file>.restoring`, restore-marker.ts)
 * is written first and removed last; the old journal and its -wal and -shm are hard-linked to the
 * kept name (copied where links are impossible), the old -wal and -shm then leave the path (SQLite
 * would read them as the restored file's), and the restored copy is renamed over the old file.
 * A kill anywhere leaves the marker, which refuses every open of the journal, and a re-run finishes
 * the restore from wherever it stopped, keeping the replaced journal whole and its reservation.
 */
export function restoreJournal(
  backup: string,
  path: string,
  now: () => number = Date.now,
  checks: RestoreChecks = {},
): { restored: JournalFileSummary; keptAside: string | undefined; clientIdsFrom: number; lockUnreadable?: string; finishedInterrupted?: true } {
  if (!existsSync(backup)) throw new JournalError('PATH', path, `backup ${backup} does not exist`);
  const source = verifyJournalFile(backup, path);
  const other = source.lastSystemName;
  if (checks.system !== undefined && other !== null && other !== checks.system && checks.otherSystem !== true) {
    throw new JournalError('PATH', path, `restore refused: ${backup} was last written by system ${JSON.stringify(other)}, not ${JSON.stringify(checks.system)} (the config's [system] name): another deployment's journal would start this one with its positions and orders; name the right backup, or repeat with --other-system if the name was changed on purpose`);
  }
  const interrupted = readRestoreMarker(path);
  const current = fileId(path);
  // A first run always finds the old journal at the path; a re-run finds it there until the
  // interrupted run renamed the restored copy over it (the file's identity tells which).
  const oldAtPath = current !== undefined && (interrupted === undefined || current === interrupted.journal);
  let replacedIds = interrupted?.replacedIds ?? 0;
  let lockUnreadable: string | undefined;
  if (oldAtPath) {
    const r = checkReplaced(path);
    replacedIds = Math.max(replacedIds, r.ids);
    lockUnreadable = r.lockUnreadable;
  } else if (current !== undefined) {
    // The copy an interrupted restore put at the path: never opened (the marker refuses every
    // open), so it holds nothing the backup does not; it is replaced, not kept.
    replacedIds = Math.max(replacedIds, idsOf(path));
  } else if (walHasFrames(`${path}-wal`)) {
    // Commits of some other file (one moved away by hand, or by an interrupted restore of an
    // earlier version): the restored copy would read them as its own, and removing them loses them.
    throw new JournalError('PATH', path, `restore refused: there is no journal at the path, but a -wal with commits is (${path}-wal): it belongs to a journal file that was moved away (${keptBeside(path).at(-1) ?? 'none is kept beside it'}?); put it back beside the file it belongs to (as <file>-wal, with that file at the path) or move it out of ${dirname(path)}, then restore again`);
  } else if (interrupted === undefined) {
    // No journal and no marker: where an earlier version's restore was killed after moving the
    // journal aside, the newest kept copy is the journal it replaced, and its ids were sent.
    const newest = keptBeside(path).at(-1);
    if (newest !== undefined) replacedIds = Math.max(replacedIds, idsOf(newest));
  }
  const keptAside = interrupted?.keptAside ?? (oldAtPath ? freeKeptName(path, now) : undefined);
  const keepOld = () => {
    for (const ext of ['', '-wal', '-shm']) keepAside(path, path + ext, keptAside! + ext);
    syncDir(dirname(path));
  };
  // On a re-run the kept copy is made whole first: `--from` may name it (back to the replaced
  // journal), and the copy below reads it with its -wal. (A first run links only once its
  // marker is written: links to a journal an engine may still open would follow its writes.)
  if (interrupted !== undefined && oldAtPath) keepOld();
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (err) {
    throw new JournalError('PATH', path, `cannot create its directory ${dirname(path)}: ${describeFsError(err)}`);
  }
  const partial = join(dirname(path), `.${basename(path)}.restore-partial`);
  // (also the partial of earlier versions, `.<file>.restoring`: a copy of a backup, never the journal)
  for (const f of [partial, join(dirname(path), `.${basename(path)}.restoring`)]) for (const ext of ['', '-wal', '-shm', '-journal']) rmSync(f + ext, { force: true });
  // Through SQLite, not a file copy: the backup may itself have a -wal beside it.
  const src = new Database(backup, { readonly: true, fileMustExist: true });
  try {
    src.prepare('VACUUM INTO ?').run(partial);
  } catch (err) {
    rmSync(partial, { force: true });
    throw new JournalError('WRITE', path, `cannot copy the backup ${backup}: ${describeFsError(err)}`);
  } finally {
    src.close();
  }
  const db = new Database(partial);
  let clientIdsFrom: number;
  try {
    clientIdsFrom = Math.max(highestClientId(db) + RESTORE_CLIENT_ID_GAP, replacedIds);
    db.transaction(() => {
      db.prepare('DELETE FROM writer_lock').run();
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('client_ids_reserved', ?)").run(String(clientIdsFrom));
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('restored_from', ?)").run(JSON.stringify({ backup, at: new Date(now()).toISOString() }));
    })();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  for (const ext of ['-wal', '-shm']) rmSync(partial + ext, { force: true });
  syncFile(partial);
  // The marker keeps the first run's identity of the old journal and what it reserved: a re-run
  // reads the path after the old -wal has left it.
  writeRestoreMarker(path, { backup, keptAside: keptAside ?? null, journal: interrupted !== undefined ? interrupted.journal : (current ?? null), replacedIds });
  if (oldAtPath) {
    keepOld();
    // Linked aside, they leave the path before the restored copy arrives: SQLite would apply the
    // old -wal's frames to the new file.
    for (const ext of ['-wal', '-shm']) rmSync(path + ext, { force: true });
    syncDir(dirname(path));
  } else {
    // the interrupted restore's copy's own, or (no journal) a -wal without commits and a -shm
    // (one with commits and no file at the path refused above)
    for (const ext of ['-wal', '-shm']) rmSync(path + ext, { force: true });
  }
  renameSync(partial, path);
  syncDir(dirname(path));
  removeRestoreMarker(path);
  const kept = keptAside !== undefined && existsSync(keptAside) ? keptAside : undefined;
  return { restored: verifyJournalFile(path, path), keptAside: kept, clientIdsFrom: clientIdsFrom + 1, ...(lockUnreadable !== undefined ? { lockUnreadable } : {}), ...(interrupted !== undefined ? { finishedInterrupted: true as const } : {}) };
}

/** The writer-lock check of the journal a restore replaces, and its highest client id. */
function checkReplaced(path: string): { ids: number; lockUnreadable?: string } {
  let db: Db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new JournalError('PATH', path, `cannot check whether it is in use: ${describeFsError(err)}; move it away by hand if it is damaged`);
  }
  try {
    let holder: WriterHolder | undefined;
    let lockUnreadable: string | undefined;
    try {
      holder = hasTable(db, 'writer_lock') ? writerHolder(db) : undefined;
    } catch (err) {
      // Only damage makes a lock unreadable and the journal replaceable: anything else (busy,
      // I/O, permissions) may be a writer at work, and a restore under it is two journals.
      if (!isDamage(err)) throw new JournalError('PATH', path, `restore refused: its writer lock cannot be read (${describeFsError(err)}), so whether an engine is writing it cannot be told; stop any engine on it, then move it away by hand (with its -wal and -shm) and restore again`);
      lockUnreadable = describeFsError(err);
    }
    if (holder?.live) throw new JournalError('LOCKED', path, `restore refused: ${describeHolder(holder)}`);
    return { ids: highestClientId(db), ...(lockUnreadable !== undefined ? { lockUnreadable } : {}) };
  } finally {
    db.close();
  }
}

/** The highest client id of a journal file; 0 where it cannot be opened (damaged: as highestClientId). */
function idsOf(file: string): number {
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch {
    return 0;
  }
  try {
    return highestClientId(db);
  } finally {
    db.close();
  }
}

/** `dev:ino` of the file at `p` itself (a link is not followed: a rename replaces the link), or undefined. */
function fileId(p: string): string | undefined {
  try {
    const st = lstatSync(p, { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** A -wal holding at least one frame past its 32-byte header: commits of some database. */
function walHasFrames(wal: string): boolean {
  try {
    return statSync(wal).size > 32;
  } catch {
    return false;
  }
}

/** The kept copies beside `path`, oldest first (not their -wal, -shm). */
function keptBeside(path: string): string[] {
  const prefix = `${basename(path)}.before-restore-`;
  try {
    return readdirSync(dirname(path))
      .filter((n) => n.startsWith(prefix) && !/-(wal|shm|journal)$/.test(n))
      .sort()
      .map((n) => join(dirname(path), n));
  } catch {
    return [];
  }
}

/** `<path>.before-restore-<time>`, with a count where two restores fall in one millisecond: a kept journal is never overwritten. */
function freeKeptName(path: string, now: () => number): string {
  const base = `${path}.before-restore-${new Date(now()).toISOString().replace(/[:.]/g, '-')}`;
  for (let k = 1; ; k++) {
    const name = k === 1 ? base : `${base}-${k}`;
    if (['', '-wal', '-shm'].every((ext) => !existsSync(name + ext))) return name;
  }
}

/**
 * Makes `to` the same file as `from` (the old journal, its -wal or -shm) without moving `from`:
 * a hard link, or a copy (written beside, fsynced, renamed) where the filesystem has none.
 * Idempotent for a re-run: a `to` made before is kept; a -wal at `to` with commits that differs
 * from the one at the path refuses (a -shm is only the -wal's index, rebuilt by SQLite's first
 * open: the kept one stands).
 */
function keepAside(path: string, from: string, to: string): void {
  // hidden, so never taken for a kept copy; one left by a killed run is stale
  const tmp = join(dirname(to), `.${basename(to)}.partial`);
  rmSync(tmp, { force: true });
  if (!existsSync(from)) return;
  if (existsSync(to) && from.endsWith('-wal') && walHasFrames(from) && !walHasFrames(to)) {
    // an empty -wal a reader's open of the kept file made before its own was linked (the
    // restore's check of a `--from` naming it, an operator's look): the -shm rebuilds from the -wal
    rmSync(to);
  }
  if (existsSync(to)) {
    if (!from.endsWith('-wal') || sameInode(from, to) || !walHasFrames(from) || sameBytes(from, to)) return;
    throw new JournalError('PATH', path, `restore stopped: ${from} and the kept ${to} both hold commits and differ, so which belongs to the replaced journal cannot be told; nothing was removed: compare them, put the right one at ${to}, move the other out of ${dirname(path)}, and restore again`);
  }
  try {
    linkSync(from, to);
    return;
  } catch (err) {
    if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EMLINK', 'ENOSYS'].includes((err as NodeJS.ErrnoException).code ?? '')) {
      throw new JournalError('WRITE', path, `cannot keep ${from} as ${to}: ${describeFsError(err)}; nothing was removed: run the restore again once that is fixed`);
    }
  }
  try {
    copyFileSync(from, tmp);
    syncFile(tmp);
    renameSync(tmp, to);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new JournalError('WRITE', path, `cannot keep ${from} as ${to}: ${describeFsError(err)}; nothing was removed: run the restore again once that is fixed`);
  }
}

function sameBytes(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

/** Opens a journal file read-only and checks it: integrity, a schema this build reads. */
export function verifyJournalFile(file: string, journal: string): JournalFileSummary {
  let db: Db;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new JournalError('CORRUPT', journal, `${file} cannot be opened: ${describeFsError(err)}`);
  }
  try {
    let check: string;
    try {
      check = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
    } catch (err) {
      throw new JournalError('CORRUPT', journal, `${file}: ${describeFsError(err)}`);
    }
    if (check !== 'ok') throw new JournalError('CORRUPT', journal, `${file} fails the integrity check: ${check}`);
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version < 1 || !hasTable(db, 'orders')) throw new JournalError('SCHEMA', journal, `${file} is not a cwts-ultra journal (no schema)`);
    if (version > SCHEMA_VERSION) throw new JournalError('SCHEMA', journal, `${file} has schema version ${version}, newer than this build reads (${SCHEMA_VERSION})`);
    const n = (sql: string) => db.prepare(sql).pluck().get() as number;
    const last = db.prepare('SELECT max(started_at) FROM runs').pluck().get() as number | null;
    const lastSystemName = (db.prepare('SELECT system_name FROM runs WHERE system_name IS NOT NULL ORDER BY run_id DESC LIMIT 1').pluck().get() as string | undefined) ?? null;
    return { path: file, bytes: statSync(file).size, schemaVersion: version, orders: n('SELECT count(*) FROM orders'), fills: n('SELECT count(*) FROM fills'), runs: n('SELECT count(*) FROM runs'), lastRunStartedAt: last === null ? null : new Date(last).toISOString(), lastSystemName };
  } finally {
    db.close();
  }
}

/** SQLite's word that the file is damaged (not a database, a corrupt page), as opposed to busy, I/O or permissions. */
function isDamage(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT'));
}

function hasTable(db: Db, name: string): boolean {
  return db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?").pluck().get(name) === 1;
}

/**
 * The highest client id number a journal reserved or used. What a damaged journal cannot say
 * counts as 0 (a journal is often replaced because it is damaged): the gap past the backup's
 * then stands alone.
 */
function highestClientId(db: Db): number {
  let max = 0;
  try {
    max = Number((db.prepare("SELECT value FROM meta WHERE key = 'client_ids_reserved'").pluck().get() as string | undefined) ?? 0) || 0;
  } catch {
    // no meta table, or a damaged page
  }
  try {
    for (const id of db.prepare('SELECT client_id FROM orders').pluck().iterate() as Iterable<string>) {
      // only ids of the engine's form: an adopted trade's ends in a venue's trade id
      const n = clientIdNumber(id) ?? 0;
      if (n > max) max = n;
    }
  } catch {
    // as above: what was read counts
  }
  return max;
}
