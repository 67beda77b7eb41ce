import { defineInstrument, instrumentKey, type Instrument, type InstrumentSpec } from '../domain/instrument.js';
import type { RiskStateName } from '../risk/risk-state.js';
import { GRID_HISTORY_SCOPE } from '../risk/grid.js';
import { RECORDING_KIND } from '../engine/recorder.js';
import { fileLines, type FileLinesOptions } from './file-lines.js';
import { commonToDecimal } from '../risk/portfolio.js';
import type { CapitalChange, SessionFill, SessionRecord, SessionSignal } from './session.js';

/**
 * A recording rarely trades at the very first or last record of the journal; only a gap longer
 * than this at either end (a recording of another run) is noted, or the note would be on nearly
 * every page and read as noise.
 */
const RECORDING_GAP_NOTED_MS = 60_000;

/** The read-only slice of better-sqlite3 this module uses (the journal's `openReadOnly`). */
export interface ReadOnlyDb {
  prepare(sql: string): { all(...params: unknown[]): unknown[]; iterate(...params: unknown[]): Iterable<unknown> };
  transaction<T>(fn: () => T): () => T;
}

export interface JournalWindow {
  /** Epoch ms, inclusive; absent: from the journal's first record. */
  from?: number;
  /** Epoch ms, inclusive; absent: to its last record. */
  to?: number;
}

export interface JournalRuns {
  runs: { runId: number; startedAt: number; endedAt: number | null; systemName: string | null; configDigest: string | null; cleanExit: boolean }[];
  /**
   * With a recording: its first and last trade in the report's span (null when it has none
   * there). Its prices replace the snapshots' only within that span (per instrument).
   */
  recordingSpan?: { firstTrade: number; lastTrade: number } | null;
}

type SnapshotRow = { ts: number; equity: string; realized: string; unrealized: string; fees: string; marks: string };
type FillRow = { ts: number; exchange: string; symbol: string; client_id: string; side: 'buy' | 'sell'; price: number; qty: number; fee_atoms: string };
type RunRow = { run_id: number; started_at: number; ended_at: number | null; system_name: string | null; config_digest: string | null; clean_exit: number };

/**
 * A live session read back from its SQLite journal as a SessionRecord: fills, signals, PnL
 * snapshots (every second and at each fill), risk transitions. Marks come from the snapshots
 * (instruments with a position) and, when a recording is given, from its trades (every
 * instrument, one mark per second) between each instrument's first and last trade in it. Fills
 * before `from` are not carried into the window: the window's money figures start flat. The
 * session runs from its first to its last record in the window, not from `from` to `to`: time
 * before the session started or not yet come is neither exposure nor flat returns (docs/reports.md).
 *
 * The journal is read in one read transaction (one moment of it, while the engine writes), with
 * the window in SQL and rows taken one at a time: memory is the window's series, never the
 * journal's rows. The recording is read after the transaction ends, so a long one does not hold
 * back the live journal's checkpoints.
 */
export function sessionFromJournal(db: ReadOnlyDb, window: JournalWindow = {}, recording?: string): SessionRecord & JournalRuns {
  const lo = window.from ?? -Infinity;
  const hi = window.to ?? Infinity;
  // The window in SQL, not in JavaScript: a one-minute report of a journal of months once
  // materialized every row of it (86,400 snapshots a day) and ran out of heap.
  const conds: string[] = [];
  const params: number[] = [];
  if (window.from !== undefined) {
    conds.push('ts >= ?');
    params.push(window.from);
  }
  if (window.to !== undefined) {
    conds.push('ts <= ?');
    params.push(window.to);
  }
  const where = conds.length > 0 ? ` WHERE ${conds.join(' AND ')}` : '';
  const rows = <T>(sql: string, ...p: unknown[]) => db.prepare(sql).iterate(...p) as Iterable<T>;

  // A loop, not Math.min(...times): a spread passes every time as an argument, and V8 overflows
  // its stack past ~10^5 of them (snapshots every second: a journal of two days).
  let first_ = Infinity;
  let last_ = -Infinity;
  const seen = (ts: number) => {
    if (ts < first_) first_ = ts;
    if (ts > last_) last_ = ts;
  };

  // Every query in one read transaction: in WAL mode it sees the journal as of one commit. Seven
  // statements each at their own moment once counted a fill the engine committed between them in
  // the equity curve but not in the figures computed from the fills.
  const j = db.transaction(() => {
    const instruments: Instrument[] = (db.prepare('SELECT json FROM instruments ORDER BY exchange, symbol').all() as { json: string }[]).map((r) => {
      const spec = JSON.parse(r.json) as InstrumentSpec;
      return defineInstrument({ exchange: spec.exchange, symbol: spec.symbol, base: spec.base, quote: spec.quote, tickSize: spec.tickSize, lotSize: spec.lotSize, minNotional: spec.minNotional });
    });
    const fills: SessionFill[] = [];
    for (const r of rows<FillRow>(`SELECT ts, exchange, symbol, client_id, side, price, qty, fee_atoms FROM fills${where} ORDER BY seq`, ...params)) {
      seen(r.ts);
      fills.push({ ts: r.ts, exchange: r.exchange, symbol: r.symbol, clientOrderId: r.client_id, side: r.side, price: r.price, qty: r.qty, feeAtoms: BigInt(r.fee_atoms) });
    }
    const signals: SessionSignal[] = [];
    for (const r of rows<SessionSignal>(`SELECT ts, id, detector, exchange, symbol, direction, strength FROM signals${where} ORDER BY seq`, ...params)) {
      seen(r.ts);
      signals.push(r);
    }
    // The risk equity is starting capital + PnL: their difference in a snapshot is the capital of
    // its run. A restart with another `[risk] initial_equity` changes it, and that is a deposit
    // or a withdrawal, not PnL: the risk engine moves its restored peak by the difference.
    let initialEquity: bigint | undefined;
    let capital = 0n;
    const capitalChanges: CapitalChange[] = [];
    const pnl: SessionRecord['pnl'] = [];
    const marks: SessionRecord['marks'] = {};
    const finalMarks: Record<string, number> = {};
    for (const s of rows<SnapshotRow>(`SELECT ts, equity, realized, unrealized, fees, marks FROM snapshots${where} ORDER BY seq`, ...params)) {
      seen(s.ts);
      const p = { ts: s.ts, realized: BigInt(s.realized), unrealized: BigInt(s.unrealized), fees: BigInt(s.fees) };
      const c = BigInt(s.equity) - (p.realized + p.unrealized - p.fees);
      if (initialEquity === undefined) initialEquity = capital = c;
      else if (c !== capital) {
        capitalChanges.push({ index: pnl.length, ts: s.ts, amount: c - capital });
        capital = c;
      }
      pnl.push(p);
      for (const [key, half] of Object.entries(JSON.parse(s.marks) as Record<string, number>)) {
        const m = (marks[key] ??= { ts: [], halfTicks: [] });
        m.ts.push(s.ts);
        m.halfTicks.push(half);
        finalMarks[key] = half;
      }
    }
    // Few rows (one per change of state); those after the window are not needed.
    const transitions = [...rows<{ ts: number; to_state: RiskStateName; reason: string }>(`SELECT ts, to_state, reason FROM risk_transitions${window.to !== undefined ? ' WHERE ts <= ?' : ''} ORDER BY seq`, ...(window.to !== undefined ? [window.to] : []))];
    const runs = (db.prepare('SELECT run_id, started_at, ended_at, system_name, config_digest, clean_exit FROM runs ORDER BY run_id').all() as RunRow[]).map((r) => ({
      runId: r.run_id, startedAt: r.started_at, endedAt: r.ended_at, systemName: r.system_name, configDigest: r.config_digest, cleanExit: r.clean_exit === 1,
    }));
    const regridded = new Set((db.prepare(`SELECT key FROM component_state WHERE scope = ?`).all(GRID_HISTORY_SCOPE) as { key: string }[]).map((r) => r.key));
    return { instruments, fills, signals, initialEquity: initialEquity ?? 0n, capitalChanges, pnl, marks, finalMarks, transitions, runs, regridded };
  })();
  const { instruments, fills, signals, initialEquity, capitalChanges, pnl, marks, finalMarks, transitions, runs, regridded } = j;

  if (fills.length + signals.length + pnl.length === 0) throw new Error(`the journal has no snapshots, fills or signals${window.from !== undefined || window.to !== undefined ? ' in the chosen window' : ''}`);
  // The window asked for, cut to the records in it: a `--to` of today while the session runs (or
  // of 9999-12-31) must not count the hours still to come as time held, flat returns or drawdown.
  const start = Math.max(lo, first_);
  const end = Math.min(hi, last_);

  const warnings: string[] = [];
  // The restore counts each fill in the definition it was made in (engine/rebuild.ts); this
  // report values every fill at the journal's latest one. Equity and PnL come from the snapshots
  // (quote units, right across the change); what is computed from the fills is not.
  const changed = [...new Set(fills.map((f) => instrumentKey(f.exchange, f.symbol)))].filter((k) => regridded.has(k));
  if (changed.length > 0) {
    warnings.push(`the venue changed the tick or lot size of ${changed.join(', ')} during this journal: fills made before the change are valued here at the latest definition, so the per-instrument figures computed from fills (realized PnL, turnover, trade statistics) are wrong for them; equity and PnL over time come from the snapshots and stay right`);
  }
  const notes: string[] = [];
  if (capitalChanges.length > 0) {
    let c = initialEquity;
    const steps = capitalChanges.map((x) => `${commonToDecimal(c)} -> ${commonToDecimal((c += x.amount))} at ${new Date(x.ts).toISOString()}`);
    notes.push(`the starting capital changed during this journal (a restart with another [risk] initial_equity): ${steps.join('; ')}. Each change is counted as a deposit or withdrawal, not as PnL: equity and drawdown are the risk engine's (its peak moves by the change), and the return and ratios leave the change out`);
  }
  let recordingSpan: JournalRuns['recordingSpan'];
  if (recording) {
    let skipped = 0;
    let firstSkipped = '';
    let notRecording: string | undefined;
    const fromTrades = tradeMarks(recording, start, end, {}, (lineNo, why) => {
      if (skipped++ === 0) firstSkipped = `line ${lineNo}: ${why}`;
    }, (why) => (notRecording = why));
    // A file that is not a recording (gzipped, a tardis CSV, another file given by mistake) gave
    // no mark at all: the report would look complete with every chart and follow-up empty.
    if (notRecording !== undefined) warnings.push(`${recording} is not a cwts-ultra recording (${notRecording}): no marks were read from it; give the plain file \`run --record\` wrote`);
    if (skipped > 0) warnings.push(`${skipped} trade line${skipped === 1 ? '' : 's'} of the recording ${skipped === 1 ? 'is' : 'are'} not a valid trade and gave no mark (first: ${firstSkipped}); the recording is damaged (cwts-ultra replay counts it)`);
    let firstTrade = Infinity;
    let lastTrade = -Infinity;
    for (const [key, m] of Object.entries(fromTrades)) {
      if (m.ts.length === 0) continue;
      firstTrade = Math.min(firstTrade, m.ts[0]!);
      lastTrade = Math.max(lastTrade, m.ts[m.ts.length - 1]!);
      // The recording's tape has every instrument every second it covers, and replaces the
      // snapshot marks there; outside it (`run --record` writes one file per run: a journal of
      // two runs with the second's recording) the snapshots' marks stay.
      marks[key] = marks[key] ? spliceMarks(marks[key], m) : m;
      if (finalMarks[key] === undefined) finalMarks[key] = m.halfTicks[m.halfTicks.length - 1]!;
    }
    recordingSpan = Number.isFinite(firstTrade) ? { firstTrade, lastTrade } : null;
    const iso = (t: number) => new Date(t).toISOString();
    const span = `the report covers ${iso(start)} → ${iso(end)}`;
    if (recordingSpan === null) {
      if (notRecording === undefined) notes.push(`the recording ${recording} has no trade in the report's span (${span}): every price is from the journal's snapshots, which carry one only for an instrument with a position`);
    } else if (recordingSpan.firstTrade > start + RECORDING_GAP_NOTED_MS || recordingSpan.lastTrade < end - RECORDING_GAP_NOTED_MS) {
      notes.push(`prices are from the recording ${recording} from ${iso(recordingSpan.firstTrade)} to ${iso(recordingSpan.lastTrade)}; ${span}, and outside the recording's span they are from the journal's snapshots, which carry one only for an instrument with a position`);
    }
  }

  let state: { ts: number; state: RiskStateName; reason: string } = { ts: start, state: 'ACTIVE', reason: 'start' };
  const risk: SessionRecord['risk'] = [];
  for (const t of transitions) {
    if (t.ts < start) state = { ts: start, state: t.to_state, reason: t.reason };
    else if (t.ts <= end) risk.push({ ts: t.ts, state: t.to_state, reason: t.reason });
  }
  risk.unshift(state);
  return {
    instruments, initialEquity, start, end, pnl, fills, signals, marks, finalMarks, risk, runs,
    ...(capitalChanges.length > 0 ? { capitalChanges } : {}),
    ...(recording ? { recordingSpan } : {}), ...(warnings.length > 0 ? { warnings } : {}), ...(notes.length > 0 ? { notes } : {}),
  };
}

/**
 * `snapshot` marks before the first and after the last of `tape`, `tape` in between: the
 * recording's prices where it has any, the journal's elsewhere. Both ascending in time.
 */
export function spliceMarks(snapshot: { ts: number[]; halfTicks: number[] }, tape: { ts: number[]; halfTicks: number[] }): { ts: number[]; halfTicks: number[] } {
  const first = tape.ts[0]!;
  const last = tape.ts[tape.ts.length - 1]!;
  const ts: number[] = [];
  const halfTicks: number[] = [];
  let k = 0;
  for (; k < snapshot.ts.length && snapshot.ts[k]! < first; k++) {
    ts.push(snapshot.ts[k]!);
    halfTicks.push(snapshot.halfTicks[k]!);
  }
  // Loops, not push(...xs): a day of one-second marks is more arguments than V8's stack takes.
  for (let j = 0; j < tape.ts.length; j++) {
    ts.push(tape.ts[j]!);
    halfTicks.push(tape.halfTicks[j]!);
  }
  for (; k < snapshot.ts.length; k++) {
    if (snapshot.ts[k]! <= last) continue;
    ts.push(snapshot.ts[k]!);
    halfTicks.push(snapshot.halfTicks[k]!);
  }
  return { ts, halfTicks };
}

/**
 * Last trade per instrument per second of a `run --record` file, as half-tick marks, ascending in
 * time. The file is read line by line in chunks (`fileLines`), never whole: a recording of more
 * than an hour is longer than V8's longest string. A trade whose venue time goes back (the replay
 * counts it out of order) is kept and the marks are sorted at the end, so `markAt`'s binary
 * search stays valid; within one second the trade with the latest time wins (the later line on a
 * tie). The cut last line of a file still being written is not read. A trade line that is not
 * a valid trade (unreadable, or a price or quantity that is not a positive integer: replay counts
 * it malformed) gives no mark and is passed to `onSkipped`.
 */
export function tradeMarks(
  path: string, lo: number, hi: number, lines: FileLinesOptions = {}, onSkipped?: (lineNo: number, why: string) => void, onNotRecording?: (why: string) => void,
): SessionRecord['marks'] {
  const out: SessionRecord['marks'] = {};
  /** Instruments with a trade that went back in time, and the length at which to compact their marks. */
  const unsorted = new Map<string, number>();
  let lineNo = 0;
  for (const line of fileLines(path, lines)) {
    if (lineNo++ === 0) {
      const problem = recordingHeaderProblem(line);
      if (problem === undefined) continue;
      onNotRecording?.(problem);
      return out;
    }
    if (line === null || !line.includes('"trade"')) continue;
    let ev: { type?: string; exchange?: string; symbol?: string; ts?: number; price?: number; qty?: number };
    try {
      ev = JSON.parse(line);
    } catch {
      onSkipped?.(lineNo, 'not JSON');
      continue;
    }
    if (ev === null || typeof ev !== 'object' || ev.type !== 'trade') continue;
    // A zero or negative price as a mark would be a mark-out of the whole position.
    if (typeof ev.exchange !== 'string' || typeof ev.symbol !== 'string' || typeof ev.ts !== 'number' || !Number.isFinite(ev.ts) || !isPositiveInt(ev.price) || !isPositiveInt(ev.qty)) {
      onSkipped?.(lineNo, `not a valid trade (price ${JSON.stringify(ev.price)}, qty ${JSON.stringify(ev.qty)}, ts ${JSON.stringify(ev.ts)})`.slice(0, 200));
      continue;
    }
    if (ev.ts < lo || ev.ts > hi) continue;
    const key = instrumentKey(ev.exchange, ev.symbol);
    const m = (out[key] ??= { ts: [], halfTicks: [] });
    const n = m.ts.length;
    const lastTs = n > 0 ? m.ts[n - 1]! : -Infinity;
    if (ev.ts >= lastTs && n > 0 && Math.floor(lastTs / 1000) === Math.floor(ev.ts / 1000)) {
      m.ts[n - 1] = ev.ts;
      m.halfTicks[n - 1] = 2 * ev.price!;
    } else {
      m.ts.push(ev.ts);
      m.halfTicks.push(2 * ev.price!);
      if (ev.ts < lastTs) unsorted.set(key, unsorted.get(key) ?? Math.max(1024, 2 * n));
      // Out-of-order trades add an entry each until sorted; compacting whenever the list doubles
      // keeps it within twice one entry per second however many trades go back.
      const limit = unsorted.get(key);
      if (limit !== undefined && m.ts.length >= limit) {
        const c = (out[key] = lastPerSecond(m));
        unsorted.set(key, Math.max(1024, 2 * c.ts.length));
      }
    }
  }
  if (lineNo === 0) onNotRecording?.('the file is empty');
  for (const key of unsorted.keys()) out[key] = lastPerSecond(out[key]!);
  return out;
}

const isPositiveInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** Sorts marks by time (stable: file order on a tie) and keeps the last of each second. */
function lastPerSecond(m: { ts: number[]; halfTicks: number[] }): { ts: number[]; halfTicks: number[] } {
  const order = m.ts.map((_, k) => k).sort((a, b) => m.ts[a]! - m.ts[b]! || a - b);
  const ts: number[] = [];
  const halfTicks: number[] = [];
  for (const k of order) {
    const t = m.ts[k]!;
    const n = ts.length;
    if (n > 0 && Math.floor(ts[n - 1]! / 1000) === Math.floor(t / 1000)) {
      ts[n - 1] = t;
      halfTicks[n - 1] = m.halfTicks[k]!;
    } else {
      ts.push(t);
      halfTicks.push(m.halfTicks[k]!);
    }
  }
  return { ts, halfTicks };
}

/** Why line 1 of a file is not a `run --record` header (`{"kind":"cwts-recording",...}`), if it is not. */
function recordingHeaderProblem(line: string | null): string | undefined {
  if (line === null) return 'line 1 is longer than any header';
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    return 'line 1 is not JSON';
  }
  const kind = h !== null && typeof h === 'object' ? (h as { kind?: unknown }).kind : undefined;
  return kind === RECORDING_KIND ? undefined : `line 1 is not its header (kind ${JSON.stringify(kind) ?? 'missing'})`;
}
