export { JournalStore, loadContents, SYNCHRONOUS_BY_POLICY, type JournalOwner, type JournalStoreOptions, type OpenReport, type ReservationStats } from './store.js';
export { JournalError, type JournalErrorCode } from './errors.js';
export { journalParse, journalStringify } from './json.js';
export { SCHEMA_VERSION } from './schema.js';
export type { JournalContents, JournalRecord, JournalRecordType, ReconcileEventKind, ReplayEvent, RunRecord } from './records.js';
export { resolveJournalPath } from './location.js';
export type { Journal } from './journal.js';
export { LISTED_WITHOUT_TIME, listedWithoutTime } from '../contracts/listed-time.js';
