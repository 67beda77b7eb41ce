import { statSync } from 'node:fs';

import type { FileId } from './writer-protocol.js';

/** The identity of the file at `path` now; undefined where it cannot be read. */
export function fileIdOf(path: string): FileId | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return { dev: s.dev, ino: s.ino };
  } catch {
    return undefined;
  }
}

/**
 * How `path` differs from the file `id` names: 'removed' (nothing there), 'replaced by another
 * file', or undefined: the same file, no id to compare, or a stat that cannot say (a permission
 * on the directory tells nothing of the file; the next look tries again). SQLite goes on writing
 * into a file unlinked or renamed under it without an error, so this is how a writer learns that
 * what it commits is no longer where the next start reads.
 */
export function fileChange(path: string, id: FileId | undefined): 'removed' | 'replaced by another file' | undefined {
  if (id === undefined) return undefined;
  try {
    const s = statSync(path, { bigint: true, throwIfNoEntry: false });
    if (s === undefined) return 'removed';
    return s.dev === id.dev && s.ino === id.ino ? undefined : 'replaced by another file';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTDIR' ? 'removed' : undefined;
  }
}
