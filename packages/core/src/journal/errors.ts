/** Why a journal could not be used; the message always names the journal and its path. */
export type JournalErrorCode = 'PATH' | 'LOCKED' | 'CORRUPT' | 'SCHEMA' | 'WRITE';

export class JournalError extends Error {
  constructor(
    readonly code: JournalErrorCode,
    readonly path: string,
    message: string,
  ) {
    super(`journal ${path}: ${message}`);
    this.name = 'JournalError';
  }
}

/** A filesystem error as words an operator can act on (no raw EEXIST/EACCES). */
export function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EEXIST':
    case 'ENOTDIR':
      return `a file is in the way where a directory is needed (${e.path ?? 'on the path'})`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${e.path ?? 'on the path'}): the data directory must be writable by this user; set CWTS_DATA_DIR or [journal] path`;
    case 'EROFS':
      return `read-only file system (${e.path ?? 'on the path'}): set CWTS_DATA_DIR or [journal] path to a writable directory`;
    case 'ENOSPC':
      return 'no space left on the device';
    case 'SQLITE_CANTOPEN':
      return 'cannot open the database file (is the path a directory, or the directory not writable?)';
    case 'SQLITE_NOTADB':
      return 'the file is not an SQLite journal (a .jsonl journal? convert it with `cwts-ultra journal import`)';
    case 'SQLITE_CORRUPT':
      return 'the database file is corrupt';
    default:
      return e?.message ?? String(err);
  }
}
