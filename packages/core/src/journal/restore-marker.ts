import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

import { describeFsError, JournalError } from './errors.js';

/**
 * `journal restore` writes `<file>.restoring` (fsynced) before it touches the journal's files and
 * removes it last. While it is there the journal's files are in the middle of being swapped (the
 * old one without its -wal, whose commits sit in the kept copy), so nothing may open the journal:
 * re-running the restore finishes it.
 */
export const restoreMarkerPath = (path: string): string => `${path}.restoring`;

export interface RestoreMarker {
  /** The backup being restored (the refusal's advice names it). */
  backup: string;
  /** Where the journal being replaced is kept (with its -wal and -shm); null when there was none. */
  keptAside: string | null;
  /** `dev:ino` of the journal being replaced, null when there was none: tells the old file at the path from the restored one. */
  journal: string | null;
  /** The replaced journal's highest client id or reservation, read before anything was moved. */
  replacedIds: number;
}

/** The marker beside `path`, undefined where there is none; a marker that cannot be read is still an interrupted restore. */
export function readRestoreMarker(path: string): RestoreMarker | undefined {
  const file = restoreMarkerPath(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new JournalError('PATH', path, `an interrupted restore's marker ${file} cannot be read (${describeFsError(err)}); whether the journal is whole cannot be told: make it readable, then run the restore again`);
  }
  let m: Partial<RestoreMarker>;
  try {
    m = JSON.parse(text) as Partial<RestoreMarker>;
  } catch {
    m = {};
  }
  if (typeof m.backup !== 'string' || (m.keptAside !== null && typeof m.keptAside !== 'string') || (m.journal !== null && typeof m.journal !== 'string') || typeof m.replacedIds !== 'number' || !Number.isSafeInteger(m.replacedIds)) {
    // Written through a temporary file and a rename, so never torn by a crash: changed by hand.
    throw new JournalError('PATH', path, `an interrupted restore's marker ${file} is not one this build wrote; which file is the replaced journal cannot be told: find the journal among ${path}.before-restore-* and ${path}, put it at the path with its -wal and -shm, remove ${file}, and restore again`);
  }
  return { backup: m.backup, keptAside: m.keptAside, journal: m.journal, replacedIds: m.replacedIds };
}

/** Writes (or replaces) the marker whole: a temporary file, fsynced, renamed, the directory fsynced. */
export function writeRestoreMarker(path: string, marker: RestoreMarker): void {
  const file = restoreMarkerPath(path);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(marker)}\n`);
  syncFile(tmp);
  renameSync(tmp, file);
  syncDir(dirname(path));
}

export function removeRestoreMarker(path: string): void {
  rmSync(restoreMarkerPath(path), { force: true });
  syncDir(dirname(path));
}

/**
 * Throws where a restore of the journal at `path` was interrupted: its files may be half
 * swapped, and a start on them would trade on the old journal without its last commits (or on
 * an empty one). Checked before anything opens the journal.
 */
export function refuseInterruptedRestore(path: string): void {
  const file = restoreMarkerPath(path);
  if (!existsSync(file)) return;
  let backup = '<backup.db>';
  let kept = `${path}.before-restore-*`;
  try {
    const m = readRestoreMarker(path);
    if (m !== undefined) {
      backup = m.backup;
      kept = m.keptAside ?? 'nothing (there was no journal)';
    }
  } catch {
    // the refusal stands; the re-run says what is wrong with the marker
  }
  throw new JournalError(
    'PATH',
    path,
    `a \`journal restore\` was interrupted (${file} is beside it): the journal's files may be half swapped, and a start would trade without the replaced journal's last commits or on an empty journal. Run \`cwts-ultra journal restore --from ${backup}\` again, which finishes it (the replaced journal is kept as ${kept}); then start again`,
  );
}

/** fsync of a file: an error is the copy's (or the marker's) durability failing, and stops the restore. */
export function syncFile(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a directory, so a rename or link in it outlives a power loss; where the platform refuses it nothing more can be done. */
export function syncDir(dir: string): void {
  try {
    syncFile(dir);
  } catch {
    // some platforms will not fsync a directory: the steps are still ordered, only power-loss durability is at stake
  }
}
