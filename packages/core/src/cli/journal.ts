import { closeSync, constants as fsConstants, existsSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';

import { CLIENT_ID_PREFIX, clientIdNumber } from '../domain/client-id.js';
import { describeValue } from '../domain/describe-value.js';
import type { Instrument } from '../domain/instrument.js';
import type { ExecutionReport, Order } from '../domain/orders.js';
import type { Signal } from '../domain/signal.js';
import { OrderManager } from '../engine/order-manager.js';
import { importedInstrument, importedOrderProblem, importedOtherProblem, importedReportProblem } from './journal-import-check.js';
import { readJsonLines } from '../engine/journal.js';
import { describeFsError, JournalError } from '../journal/errors.js';
import { fileIdOf } from '../journal/file-id.js';
import { journalParse, journalStringify } from '../journal/json.js';
import { resolveJournalPath } from '../journal/location.js';
import type { JournalRecord, ReconcileEventKind, RiskStateName } from '../journal/records.js';
import { JournalStore } from '../journal/store.js';
import { readOrderRows, readReportRows, type UnreadableRow } from '../journal/read-rows.js';
import { backupJournal, RESTORE_CLIENT_ID_GAP, restoreJournal } from '../journal/backup.js';
import { UsageError } from './usage-error.js';
import { loadConfigForCli, writeErrLine } from './output.js';

export interface JournalCommandOptions {
  config?: string;
  journal?: string;
  out?: string;
  from?: string;
  force?: boolean;
  /** restore: a backup last written under another `[system] name` is restored anyway. */
  otherSystem?: boolean;
}

/**
 * The journal a command works on: `--journal FILE`, else the one `--config` names. The journal
 * commands talk to no venue, so the venue keys need not be set (a backup timer runs without
 * them: docs/operations.md); every other check of the config still runs.
 */
function journalPath(o: JournalCommandOptions): string {
  return journalTarget(o).path;
}

/** The journal's path, and the `[system] name` it belongs to when a config names it. */
function journalTarget(o: JournalCommandOptions): { path: string; system?: string } {
  if (o.journal) return { path: o.journal };
  if (!o.config) throw new UsageError('name the journal: --journal <file.db> or --config <file.toml>');
  const cfg = loadConfigForCli(o.config, process.env, { credentials: 'not-needed' }).config;
  return { path: resolveJournalPath(cfg.journal, cfg.system.name), system: cfg.system.name };
}

/**
 * `cwts-ultra journal export|import|unlock`.
 * - export: every record, in journal order, as JSON lines (bigints as "123n"), to --out or stdout,
 *   and the client id reservation (`{"t":"client_ids_reserved","upTo":N}`). Reads through
 *   SQLite's snapshot isolation, so it works while the engine runs.
 * - import: a .jsonl journal (this export, or the JSON-lines journal of earlier versions) into
 *   a new SQLite journal. Damaged lines (a torn last line) are reported and skipped.
 * - unlock --force: removes a writer lock left by a process on another host (refused while the
 *   lock's process is alive on this host).
 * - backup --out FILE: an online backup (read-only connection, safe while the engine runs),
 *   integrity-checked before it is given its name (journal/backup.ts).
 * - restore --from FILE: puts a backup in place of the journal; refused while a writer holds it,
 *   and, with --config, when the backup's last run was started under another `[system] name`
 *   (another deployment's journal) unless --other-system.
 *
 * `records`: where export writes the records on stdout (default `out`). The CLI passes a writer
 * that does not mask: an export is the journal's data, read back by import, so it is written as
 * the journal holds it (as --out writes it), not with a config's `${VAR}` values (a symbol, a
 * name) replaced.
 */
export async function journalCommand(action: string, o: JournalCommandOptions, out: (line: string) => void, records: (line: string) => void = out): Promise<number> {
  switch (action) {
    case 'export':
      return exportJournal(journalPath(o), o.out, out, records);
    case 'import':
      if (!o.from) throw new UsageError('journal import needs --from <file.jsonl>');
      return importJournal(o.from, journalPath(o), out);
    case 'unlock': {
      const path = journalPath(o);
      if (!o.force) throw new UsageError('journal unlock removes another process\'s writer lock: only when that process is gone; repeat with --force');
      // --force vouches for a process that cannot be checked (another host). One on this host
      // can: a live one keeps its lock, or two processes would write one journal. forceUnlock
      // checks and deletes in one transaction, so a writer taking the lock over meanwhile keeps it.
      const was = JournalStore.forceUnlock(path);
      out(was ? `journal ${path}: removed the lock of pid ${was.pid} on ${was.host}` : `journal ${path}: was not locked`);
      return 0;
    }
    case 'backup': {
      if (!o.out) throw new UsageError('journal backup needs --out <file.db>');
      const path = journalPath(o);
      const b = await backupJournal(path, o.out);
      out(`journal ${path}: backed up to ${b.path} (${b.bytes} bytes, schema v${b.schemaVersion}, ${b.orders} orders, ${b.fills} fills, ${b.runs} runs, last run started ${b.lastRunStartedAt ?? 'never'}); integrity check ok`);
      return 0;
    }
    case 'restore': {
      if (!o.from) throw new UsageError('journal restore needs --from <backup.db>');
      // With --config the backup must be this deployment's: its runs carry the [system] name.
      const { path, system } = journalTarget(o);
      const r = restoreJournal(o.from, path, Date.now, { system, otherSystem: o.otherSystem === true });
      if (r.lockUnreadable) out(`journal ${path}: its writer lock could not be read (${r.lockUnreadable}), so it was replaced as damaged; an engine still running on it halts once it sees its file replaced: stop it before starting on the restored journal`);
      if (r.finishedInterrupted) out(`journal ${path}: a restore here was interrupted; this one finished it (${path}.restoring is removed)`);
      if (r.keptAside) out(`journal ${path}: the journal it replaces is kept as ${r.keptAside}`);
      out(`journal ${path}: restored from ${o.from} (${r.restored.orders} orders, ${r.restored.fills} fills, last run started ${r.restored.lastRunStartedAt ?? 'never'}); integrity check ok`);
      out(`client ids continue at ${r.clientIdsFrom} (clear of any id issued after the backup); the next start reconciles with the venues, which recovers what happened since the backup`);
      return 0;
    }
    default:
      throw new UsageError(`unknown journal action "${action}" (export | import | unlock | backup | restore)`);
  }
}

function exportJournal(path: string, outFile: string | undefined, out: (line: string) => void, records: (line: string) => void): number {
  const db = JournalStore.openReadOnly(path);
  let fd: number | undefined;
  try {
    fd = outFile ? openExportTarget(path, outFile) : undefined;
  } catch (err) {
    db.close();
    throw err;
  }
  const write = (rec: object) => (fd === undefined ? records(journalStringify(rec)) : writeSync(fd, journalStringify(rec) + '\n'));
  let n = 0;
  let meta: string | undefined;
  const skipped: UnreadableRow[] = [];
  const unreadable = (row: UnreadableRow) => skipped.push(row);
  try {
    db.transaction(() => {
      for (const r of db.prepare('SELECT run_id, started_at, ended_at, pid, host, system_name, config_digest, clean_exit FROM runs ORDER BY run_id').all() as Record<string, unknown>[]) {
        write({ t: 'run', runId: r.run_id, startedAt: r.started_at, endedAt: r.ended_at, pid: r.pid, host: r.host, systemName: r.system_name, configDigest: r.config_digest, cleanExit: r.clean_exit === 1 });
      }
      // Ids up to it may have reached a venue with their order records lost (batch): a journal
      // rebuilt from this file must not issue them again.
      let reserved: string | undefined;
      try {
        reserved = db.prepare("SELECT value FROM meta WHERE key = 'client_ids_reserved'").pluck().get() as string | undefined;
      } catch (err) {
        meta = `the client id reservation cannot be read (${(err as Error).message}); an import of this file reserves ${RESTORE_CLIENT_ID_GAP} ids past its highest`;
      }
      if (reserved !== undefined) write({ t: 'client_ids_reserved', upTo: Number(reserved) });
      for (const r of db.prepare('SELECT json FROM instruments').all() as { json: string }[]) write({ t: 'instrument', instrument: journalParse(r.json) });
      const rows: [number, JournalRecord][] = [];
      for (const r of readOrderRows(db, unreadable)) rows.push([r.seq, { t: 'order', order: r.order, ts: r.createdTs }]);
      for (const r of readReportRows(db, unreadable)) {
        rows.push([r.seq, { t: 'report', report: r.report, order: { status: r.statusAfter, filledQty: r.report.cumQty, feeAtoms: 0n, symbol: r.report.symbol }, feeAsset: r.feeAsset, ts: r.ts }]);
      }
      for (const r of db.prepare('SELECT seq, from_state, to_state, reason, who, ts FROM risk_transitions').all() as { seq: number; from_state: RiskStateName; to_state: RiskStateName; reason: string; who: string; ts: number }[]) {
        rows.push([r.seq, { t: 'risk', from: r.from_state, to: r.to_state, reason: r.reason, who: r.who, ts: r.ts }]);
      }
      for (const r of db.prepare('SELECT seq, peak, equity, why, ts FROM equity_peaks').all() as { seq: number; peak: string; equity: string; why: string; ts: number }[]) {
        rows.push([r.seq, { t: 'peak', peak: BigInt(r.peak), equity: BigInt(r.equity), why: r.why, ts: r.ts }]);
      }
      for (const r of db.prepare('SELECT seq, json, ts FROM signals').all() as { seq: number; json: string; ts: number }[]) rows.push([r.seq, { t: 'signal', signal: journalParse(r.json) as Signal, ts: r.ts }]);
      for (const r of db.prepare('SELECT seq, why, equity, realized, unrealized, fees, marks, ts FROM snapshots').all() as { seq: number; why: 'timer'; equity: string; realized: string; unrealized: string; fees: string; marks: string; ts: number }[]) {
        rows.push([r.seq, { t: 'snapshot', why: r.why, equity: BigInt(r.equity), realized: BigInt(r.realized), unrealized: BigInt(r.unrealized), fees: BigInt(r.fees), marks: JSON.parse(r.marks), ts: r.ts }]);
      }
      for (const r of db.prepare('SELECT seq, exchange, client_id, kind, detail, ts FROM reconcile_events').all() as { seq: number; exchange: string; client_id: string | null; kind: ReconcileEventKind; detail: string; ts: number }[]) {
        rows.push([r.seq, { t: 'reconcile', exchange: r.exchange, clientOrderId: r.client_id ?? undefined, kind: r.kind, detail: r.detail, ts: r.ts }]);
      }
      for (const r of db.prepare('SELECT seq, scope, key, value, ts FROM component_state').all() as { seq: number; scope: string; key: string; value: string; ts: number }[]) {
        rows.push([r.seq, { t: 'state', scope: r.scope, key: r.key, value: journalParse(r.value), ts: r.ts }]);
      }
      rows.sort((a, b) => a[0] - b[0]);
      for (const [seq, rec] of rows) {
        write({ seq, ...rec });
        n++;
      }
    })();
  } finally {
    db.close();
    if (fd !== undefined) closeSync(fd);
  }
  if (outFile) out(`journal ${path}: exported ${n} records to ${outFile}`);
  // On stdout the records are the output: what was skipped goes to stderr, not into the stream.
  const warn = outFile ? out : writeErrLine;
  for (const r of skipped) warn(`skipped unreadable ${r.table} row ${r.at}: ${r.reason}`);
  if (meta !== undefined) warn(meta);
  return skipped.length > 0 || meta !== undefined ? 1 : 0;
}

/**
 * Opens --out for the export, refusing a file the export must not overwrite: the journal itself
 * or its -wal or -shm (by identity, so a second path, a symlink or a hard link to it is caught
 * too: opened with truncation, as it was, the journal was emptied before a line was written),
 * and any other SQLite database (another journal, a backup): an export writes JSON lines, so
 * overwriting one is always a mix-up of --journal and --out. Opened without truncation and
 * looked at through the open descriptor, then truncated: nothing can swap the file in between.
 */
function openExportTarget(journal: string, outFile: string): number {
  let fd: number;
  try {
    fd = openSync(outFile, fsConstants.O_WRONLY | fsConstants.O_CREAT, 0o666);
  } catch (err) {
    throw new JournalError('PATH', journal, `cannot open the export target ${outFile}: ${describeFsError(err)}`);
  }
  try {
    const st = fstatSync(fd, { bigint: true });
    for (const [file, what] of [[journal, 'the journal itself'], [`${journal}-wal`, "the journal's -wal file"], [`${journal}-shm`, "the journal's -shm file"]] as const) {
      const id = fileIdOf(file);
      if (id !== undefined && id.dev === st.dev && id.ino === st.ino) throw new JournalError('PATH', journal, `export refused: --out ${outFile} is ${what}, which the export would overwrite; name a new .jsonl file`);
    }
    if (st.isFile() && isSqliteDatabase(outFile)) throw new JournalError('PATH', journal, `export refused: --out ${outFile} is an SQLite database (a journal or a backup), which the export would overwrite; name a .jsonl file`);
    if (st.isFile()) ftruncateSync(fd, 0);
    return fd;
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Whether the file starts with SQLite's header; a file that cannot be read is taken as not one. */
function isSqliteDatabase(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(16);
    return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function importJournal(from: string, path: string, out: (line: string) => void): number {
  if (!existsSync(from)) throw new Error(`journal import: ${from} does not exist`);
  const { entries, lineNumbers, errors } = readJsonLines(from);
  const store = JournalStore.open(path, { fsync: 'batch', batchMs: 60_000 });
  try {
    const existing = store.database.prepare('SELECT count(*) FROM orders').pluck().get() as number;
    if (existing > 0) throw new JournalError('WRITE', path, `already holds ${existing} orders; import only into a new journal`);
    // Order states after each report come from the same state machine the engine uses. An
    // import replays a whole history at once: it must remember every closed order (the live
    // engine's bounded window would turn a late report of an old order into an unknown one).
    const orders = new OrderManager(CLIENT_ID_PREFIX, { minClosed: Infinity, closedMs: Infinity, maxClosed: Infinity });
    let imported = 0;
    let history = 0;
    let reserved: number | undefined;
    // The highest id number of an imported order, read from the ids themselves: the order
    // manager's sequence skips ids far above it (OWN_ID_HEADROOM), and a journal that went through
    // a restore holds exactly such a jump (RESTORE_CLIENT_ID_GAP).
    let highest = 0;
    const refused: string[] = [];
    const unknownOrderFills = new Set<string>();
    entries.forEach((raw, k) => {
      const rec = toRecord(raw, orders, unknownOrderFills);
      if (rec === 'history') history++;
      else if (typeof rec === 'string') refused.push(`${from}:${lineNumbers[k]}: ${rec}`);
      else if (rec.t === 'client_ids_reserved') reserved = Math.max(reserved ?? 0, rec.upTo);
      else {
        if (rec.t === 'order') highest = Math.max(highest, clientIdNumber(rec.order.clientOrderId) ?? 0);
        store.append(rec);
        imported++;
      }
    });
    // A file without the reservation (an older export, the JSON-lines journal of earlier
    // versions, a meta row that could not be read) cannot say which ids reached a venue: the
    // sequence moves as far past its highest id as a restore moves past a backup's.
    highest = Math.max(highest, orders.nextIdNumber - 1);
    const upTo = reserved !== undefined ? Math.max(reserved, highest) : highest + RESTORE_CLIENT_ID_GAP;
    store.reserveClientIds(upTo);
    store.flush();
    out(`journal ${path}: imported ${imported} records from ${from}${history ? ` (${history} run record(s) are that journal's history, not imported)` : ''}`);
    out(`client ids continue at ${upTo + 1} (${reserved !== undefined ? "the file's reservation" : `no reservation in the file: ${RESTORE_CLIENT_ID_GAP} past its highest id, clear of any id it does not show`})`);
    for (const e of errors) out(`skipped damaged line ${e}`);
    for (const e of refused) out(`skipped line ${e}`);
    return errors.length + refused.length > 0 ? 1 : 0;
  } finally {
    store.close();
  }
}

/**
 * The journal record of one imported line, the reservation of the journal exported, 'history'
 * for another journal's run record, or why the line is not imported (journal-import-check.ts:
 * what is imported is restored at the next start).
 */
function toRecord(raw: unknown, orders: OrderManager, unknownOrderFills: Set<string>): JournalRecord | { t: 'client_ids_reserved'; upTo: number } | 'history' | string {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return 'not a record (a JSON object with "t")';
  const e = raw as Record<string, unknown>;
  const ts = typeof e.ts === 'number' && Number.isFinite(e.ts) ? e.ts : 0;
  switch (e.t) {
    case 'order': {
      const problem = importedOrderProblem(e.order);
      if (problem !== undefined) return `order: ${problem}`;
      const order = { ...(e.order as Order), status: 'pending_new' as const, filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n };
      orders.restore({ ...order });
      return { t: 'order', order, ts };
    }
    case 'report': {
      const problem = importedReportProblem(e.report);
      if (problem !== undefined) return `report: ${problem}`;
      const report = e.report as ExecutionReport;
      // journaled: booked as the restore books it (a fill past its order's quantity in an older
      // journal included), so the imported journal restores the position the original does
      const r = orders.apply(report, ts, true);
      if (r.kind === 'invalid') return `report of ${report.clientOrderId}: ${r.detail}`;
      // A fill whose trade id this file already booked (a repeated line, two overlapping exports
      // joined) is not stored: the restore books every journaled fill, so it would count twice.
      if (r.kind === 'duplicate') return `report of ${report.clientOrderId}: fill ${describeValue(report.tradeId)} was already imported (a repeated line)`;
      // The same for a fill of an order the file does not hold (an export of a window): the order
      // manager cannot tell its repeats, the restore books each such fill. Keyed by the order too,
      // as the journal's fills are (exchange, client id, trade id): a self-trade (our buy crossed
      // our sell) is one venue trade id on two of our orders, two fills both booked live.
      if (r.kind === 'unknown' && report.kind === 'fill' && report.tradeId !== undefined) {
        const key = `${report.exchange}|${report.symbol}|${report.clientOrderId}|${report.tradeId}`;
        if (unknownOrderFills.has(key)) return `report of ${report.clientOrderId}: fill ${describeValue(report.tradeId)} of an order not in the file was already imported (a repeated line)`;
        unknownOrderFills.add(key);
      }
      const o = r.kind === 'unknown' ? undefined : r.order;
      return {
        t: 'report',
        report,
        order: { status: o?.status ?? 'open', filledQty: o?.filledQty ?? report.cumQty ?? 0, feeAtoms: o?.feeAtoms ?? 0n, venueOrderId: o?.venueOrderId, symbol: report.symbol },
        feeAsset: typeof e.feeAsset === 'string' ? e.feeAsset : (report.feeAsset ?? ''),
        ts,
      };
    }
    case 'reconcile': {
      const problem = importedOtherProblem('reconcile', e);
      if (problem !== undefined) return `reconcile: ${problem}`;
      // The JSON-lines journal of earlier versions wrote { clientOrderId, status: 'cancelled' }.
      const id = e.clientOrderId as string | undefined;
      const exchange = (e.exchange as string | undefined) ?? orders.get(id ?? '')?.exchange;
      if (exchange === undefined) return `reconcile: no exchange, and no order ${JSON.stringify(id)} to take it from`;
      if (id) orders.forceClose(id, 'reconcile');
      return { t: 'reconcile', exchange, clientOrderId: id, kind: (e.kind as ReconcileEventKind | undefined) ?? 'closed', detail: (e.detail as string | undefined) ?? 'not open at venue after restart', ts };
    }
    case 'instrument': {
      const i = importedInstrument(e.instrument);
      return 'problem' in i ? `instrument: ${i.problem}` : { t: 'instrument', instrument: i.instrument };
    }
    case 'risk':
    case 'peak':
    case 'signal':
    case 'snapshot':
    case 'state': {
      const problem = importedOtherProblem(e.t, e);
      return problem !== undefined ? `${e.t}: ${problem}` : (e as unknown as JournalRecord);
    }
    case 'client_ids_reserved': {
      const problem = importedOtherProblem(e.t, e);
      return problem !== undefined ? `${e.t}: ${problem}` : { t: e.t, upTo: e.upTo as number };
    }
    case 'run':
      return 'history';
    default:
      return `unknown record kind ${describeValue(e.t)}`;
  }
}
