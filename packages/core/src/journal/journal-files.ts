import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * The one check of "is this file the journal's?" for every command that writes a file an
 * operator names (`journal backup --out`, `run --record`, a report's `--out`): a copy per command
 * drifted once, and the weaker one let a dangling link reach the journal's -wal.
 */

/** SQLite's files of a database: itself, its write-ahead log and shared memory, its rollback journal (the lock it takes outside WAL). */
export const SQLITE_FILES = ['', '-wal', '-shm', '-journal'] as const;

/**
 * Which of the journal's files `target` is ('' the journal, or the suffix of its side file), or
 * undefined. Compared once links are resolved (a dangling link's target included: a stopped
 * engine leaves no -wal, -shm or -journal, and a write through the link creates the file SQLite
 * then reads as the journal's) and by inode; the side files are looked for beside the journal as
 * named and beside the file it links to, where SQLite keeps them.
 */
export function journalFileOf(target: string, journal: string): string | undefined {
  const t = canonicalPath(target);
  const named = resolve(journal);
  const real = canonicalPath(journal);
  for (const suffix of SQLITE_FILES) {
    for (const f of [named + suffix, real + suffix]) {
      if (t === canonicalPath(f) || sameInode(target, f)) return suffix;
    }
  }
  return undefined;
}

/** Same file once links are resolved (dangling ones too), or the same inode (a hard link, a case-insensitive file system). */
export function sameFile(a: string, b: string): boolean {
  return canonicalPath(a) === canonicalPath(b) || sameInode(a, b);
}

/** The absolute path with every symbolic link resolved, also when the file (or a link's target) does not exist. */
export function canonicalPath(p: string): string {
  let abs = resolve(p);
  // a chain of links ends within 40 hops (ELOOP beyond, as the kernel's own limit)
  for (let hop = 0; hop < 40; hop++) {
    try {
      return realpathSync(abs);
    } catch {
      // missing: the file, a dangling link's target, or a directory on the way
    }
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      try {
        return join(realpathSync(dirname(abs)), basename(abs));
      } catch {
        return abs;
      }
    }
    if (!st.isSymbolicLink()) return abs;
    abs = resolve(dirname(abs), readlinkSync(abs));
  }
  return abs;
}

/** Both exist and are one file (links followed). */
export function sameInode(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
