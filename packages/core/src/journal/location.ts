import { isAbsolute, resolve } from 'node:path';

import { resolveDataDir } from '../config/data-dir.js';
import type { JournalConfig } from '../config/types.js';

/**
 * The journal file: `[journal] path` when set (relative to the data directory), else
 * `<data dir>/<system.name>.db`. The system name is made file-safe.
 */
export function resolveJournalPath(journal: Pick<JournalConfig, 'path'>, systemName: string, dataDir: string = resolveDataDir()): string {
  if (journal.path !== undefined) return isAbsolute(journal.path) ? journal.path : resolve(dataDir, journal.path);
  const safe = systemName.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '') || 'cwts';
  return resolve(dataDir, `${safe}.db`);
}
