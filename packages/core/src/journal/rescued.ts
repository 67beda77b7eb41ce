import { closeSync, existsSync, fsyncSync, linkSync, openSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';

import { describeFsError, JournalError } from './errors.js';

/**
 * A journal saved at shutdown by a run whose file was removed or replaced under it (store.ts,
 * close): `<path>.rescued-<time>`. While one holds a run the journal at the path does not, the
 * journal refuses to open: a start on what is at the path would trade without that run's
 * positions, open orders, client id reservation and HALT.
 */
export const rescuedPath = (path: string, now: number): string => `${path}.rescued-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;

/** The rescued journals beside `path` (not their -wal, -shm or -journal files). */
export function rescuedBeside(path: string): string[] {
  const prefix = `${basename(path)}.rescued-`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && !/-(wal|shm|journal)$/.test(n))
    .sort()
    .map((n) => join(dirname(path), n));
}

interface LastRun {
  run_id: number;
  started_at: number;
  pid: number;
  host: string;
}

/** The last run a journal file holds; undefined where it holds none, an error where it cannot be read. */
function lastRunOf(file: string): LastRun | undefined | Error {
  let db: Db | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return db.prepare('SELECT run_id, started_at, pid, host FROM runs ORDER BY run_id DESC LIMIT 1').get() as LastRun | undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  } finally {
    db?.close();
  }
}

function holdsRun(db: Db | undefined, run: LastRun): boolean {
  if (db === undefined) return false;
  try {
    return db.prepare('SELECT 1 FROM runs WHERE run_id = ? AND started_at = ? AND pid = ? AND host = ?').get(run.run_id, run.started_at, run.pid, run.host) !== undefined;
  } catch {
    // no runs table: a new, empty journal holds no run
    return false;
  }
}

/**
 * Throws a JournalError naming the first rescued journal beside `path` whose last run the journal
 * at `path` (opened read-only; nothing there, or a file that cannot be read, holds no run) does
 * not hold. `journal restore --from` copies the rescued journal's runs, so after it the start
 * goes ahead; so it does once the file is moved away. One that cannot be read refuses too: it
 * may be the only record of a run.
 */
export function refuseUnrestoredRescue(path: string, rescued: readonly string[] = rescuedBeside(path)): void {
  let db: Db | undefined;
  try {
    if (existsSync(path)) db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    db = undefined;
  }
  try {
    refuseFirst(path, db, rescued);
  } finally {
    db?.close();
  }
}

function refuseFirst(path: string, db: Db | undefined, rescued: readonly string[]): void {
  for (const file of rescued) {
    const run = lastRunOf(file);
    if (run === undefined) continue;
    if (!(run instanceof Error) && holdsRun(db, run)) continue;
    const what =
      run instanceof Error
        ? `${file} beside it cannot be read (${describeFsError(run)}), and may hold a run this journal does not`
        : `${file} beside it holds a run this journal does not (run ${run.run_id}, pid ${run.pid} on ${run.host}, started ${new Date(run.started_at).toISOString()})`;
    throw new JournalError(
      'PATH',
      path,
      `${what}: it is what a run saved at shutdown after its journal file was removed or replaced under it, and starting on ${db === undefined ? 'an empty journal' : 'this journal'} would trade without that run's positions, open orders and HALT. Restore it (\`cwts-ultra journal restore --from ${file}\`), or, if the journal at the path is the one to keep, move ${file} out of ${dirname(path)}; then start again`,
    );
  }
}

/** fsync of a file or directory; where the platform refuses it (a directory on some systems) nothing more can be done. */
function syncPath(p: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(p, 'r');
    fsyncSync(fd);
  } catch {
    // best effort: the copy is complete, only its durability across a power loss is at stake
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Puts a rescued journal (complete, written by VACUUM INTO) back at `path`, where nothing is:
 * a hard link, which fails if a file appeared there meanwhile (that one is never overwritten),
 * then the rescued name goes. A -wal or -shm left at the path by the removed file is removed
 * first: SQLite would read it as the new file's. Returns an error's words, or undefined.
 */
export function putBack(rescued: string, path: string): string | undefined {
  syncPath(rescued);
  try {
    if (existsSync(path)) return 'a file was put at the path meanwhile';
    for (const ext of ['-wal', '-shm']) rmSync(path + ext, { force: true });
    linkSync(rescued, path);
  } catch (err) {
    return describeFsError(err);
  }
  syncPath(dirname(path));
  try {
    unlinkSync(rescued);
  } catch {
    // left beside the path: it holds no run the journal lacks, so the next open goes ahead
  }
  return undefined;
}
