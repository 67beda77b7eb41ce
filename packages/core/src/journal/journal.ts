import type { FsyncPolicy } from '../config/types.js';
import type { JournalRecord } from './records.js';

/**
 * What the engine needs of a journal: queue a record (a push on the engine thread; the commit
 * happens off it), flush, close. `JournalStore` (SQLite) is core's; a plugin may provide its
 * own under `SERVICE_TOKENS.Journal` (declared in its manifest's `overrides`). Restoring state at
 * start-up reads core's SQLite journal only: a replacement journal starts from nothing.
 */
export interface Journal {
  /** Where it writes, for logs and `/status`. */
  readonly path: string;
  /** Queues one record; false when it could not be committed (under fsync "always": the order is not sent). */
  append(rec: JournalRecord): boolean;
  /**
   * Queues records that must be committed together (one transaction, where the journal has
   * transactions): under `always` one commit for all, so a crash never keeps only part of them.
   * Absent: the caller appends them one by one.
   */
  appendAll?(recs: readonly JournalRecord[]): boolean;
  /** Commits what is queued; `durable`: fsynced whatever the policy (a journal that cannot, commits). */
  flush(durable?: boolean): void;
  close(opts?: { clean?: boolean }): void;
  /** For `/status`: the fsync policy and how many records wait for a commit. */
  readonly policy?: FsyncPolicy;
  readonly pending?: number;
  /**
   * True while the last commit failed (or the writer is gone): a synchronous commit would likely
   * wait the whole commit timeout, so a HALT's cancels go out before its record. Absent: healthy.
   */
  readonly failing?: boolean;
}
