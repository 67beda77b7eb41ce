import { readFileSync } from 'node:fs';
import { defineInstrument, instrumentKey, type Instrument, type InstrumentSpec } from '../domain/instrument.js';
import type { RiskStateName } from '../risk/risk-state.js';
import type { SessionFill, SessionRecord, SessionSignal } from './session.js';

/** The read-only slice of better-sqlite3 this module uses (the journal's `openReadOnly`). */
export interface ReadOnlyDb {
  prepare(sql: string): { all(...params: unknown[]): unknown[] };
}

export interface JournalWindow {
  /** Epoch ms, inclusive; absent: from the journal's first record. */
  from?: number;
  /** Epoch ms, inclusive; absent: to its last record. */
  to?: number;
}

export interface JournalRuns {
  runs: { runId: number; startedAt: number; endedAt: number | null; systemName: string | null; configDigest: string | null; cleanExit: boolean }[];
}

/**
 * A live session read back from its SQLite journal as a SessionRecord: fills, signals, PnL
 * snapshots (every second and at each fill), risk transitions. Marks come from the snapshots
 * (instruments with a position) and, when a recording is given, from its trades (every
 * instrument, one mark per second). Fills before `from` are not carried into the window: the
 * window's money figures start flat (docs/reports.md).
 */
export function sessionFromJournal(db: ReadOnlyDb, window: JournalWindow = {}, recording?: string): SessionRecord & JournalRuns {
  const lo = window.from ?? -Infinity;
  const hi = window.to ?? Infinity;
  const inWindow = (ts: number) => ts >= lo && ts <= hi;
  const rows = <T>(sql: string) => db.prepare(sql).all() as T[];

  const instruments: Instrument[] = rows<{ json: string }>('SELECT json FROM instruments ORDER BY exchange, symbol').map((r) => {
    const spec = JSON.parse(r.json) as InstrumentSpec;
    return defineInstrument({ exchange: spec.exchange, symbol: spec.symbol, base: spec.base, quote: spec.quote, tickSize: spec.tickSize, lotSize: spec.lotSize, minNotional: spec.minNotional });
  });
  const fills: SessionFill[] = rows<{ ts: number; exchange: string; symbol: string; client_id: string; side: 'buy' | 'sell'; price: number; qty: number; fee_atoms: string }>(
    'SELECT ts, exchange, symbol, client_id, side, price, qty, fee_atoms FROM fills ORDER BY seq',
  )
    .filter((r) => inWindow(r.ts))
    .map((r) => ({ ts: r.ts, exchange: r.exchange, symbol: r.symbol, clientOrderId: r.client_id, side: r.side, price: r.price, qty: r.qty, feeAtoms: BigInt(r.fee_atoms) }));
  const signals: SessionSignal[] = rows<{ ts: number; id: string; detector: string; exchange: string; symbol: string; direction: 1 | -1 | 0; strength: number }>(
    'SELECT ts, id, detector, exchange, symbol, direction, strength FROM signals ORDER BY seq',
  ).filter((r) => inWindow(r.ts));
  const snaps = rows<{ ts: number; equity: string; realized: string; unrealized: string; fees: string; marks: string }>('SELECT ts, equity, realized, unrealized, fees, marks FROM snapshots ORDER BY seq').filter((r) => inWindow(r.ts));
  const transitions = rows<{ ts: number; to_state: RiskStateName; reason: string }>('SELECT ts, to_state, reason FROM risk_transitions ORDER BY seq');
  const runs = rows<{ run_id: number; started_at: number; ended_at: number | null; system_name: string | null; config_digest: string | null; clean_exit: number }>(
    'SELECT run_id, started_at, ended_at, system_name, config_digest, clean_exit FROM runs ORDER BY run_id',
  ).map((r) => ({ runId: r.run_id, startedAt: r.started_at, endedAt: r.ended_at, systemName: r.system_name, configDigest: r.config_digest, cleanExit: r.clean_exit === 1 }));

  const times = [...snaps.map((s) => s.ts), ...fills.map((f) => f.ts), ...signals.map((s) => s.ts)];
  if (times.length === 0) throw new Error(`the journal has no snapshots, fills or signals${window.from !== undefined || window.to !== undefined ? ' in the chosen window' : ''}`);
  const start = Number.isFinite(lo) ? lo : Math.min(...times);
  const end = Number.isFinite(hi) ? hi : Math.max(...times);

  // The risk equity is starting capital + PnL; their difference in the first snapshot is the capital.
  const first = snaps[0];
  const initialEquity = first ? BigInt(first.equity) - (BigInt(first.realized) + BigInt(first.unrealized) - BigInt(first.fees)) : 0n;
  const pnl = snaps.map((s) => ({ ts: s.ts, realized: BigInt(s.realized), unrealized: BigInt(s.unrealized), fees: BigInt(s.fees) }));

  const marks: SessionRecord['marks'] = {};
  const finalMarks: Record<string, number> = {};
  for (const s of snaps) {
    for (const [key, half] of Object.entries(JSON.parse(s.marks) as Record<string, number>)) {
      const m = (marks[key] ??= { ts: [], halfTicks: [] });
      m.ts.push(s.ts);
      m.halfTicks.push(half);
      finalMarks[key] = half;
    }
  }
  if (recording) {
    const fromTrades = tradeMarks(recording, lo, hi);
    for (const [key, m] of Object.entries(fromTrades)) {
      // The recording's tape covers every instrument and every second; it replaces snapshot marks.
      marks[key] = m;
      if (finalMarks[key] === undefined && m.halfTicks.length > 0) finalMarks[key] = m.halfTicks[m.halfTicks.length - 1]!;
    }
  }

  let state: { ts: number; state: RiskStateName; reason: string } = { ts: start, state: 'ACTIVE', reason: 'start' };
  const risk: SessionRecord['risk'] = [];
  for (const t of transitions) {
    if (t.ts < start) state = { ts: start, state: t.to_state, reason: t.reason };
    else if (t.ts <= end) risk.push({ ts: t.ts, state: t.to_state, reason: t.reason });
  }
  risk.unshift(state);
  return { instruments, initialEquity, start, end, pnl, fills, signals, marks, finalMarks, risk, runs };
}

/** Last trade per instrument per second of a `run --record` file, as half-tick marks. */
function tradeMarks(path: string, lo: number, hi: number): SessionRecord['marks'] {
  const out: SessionRecord['marks'] = {};
  const text = readFileSync(path, 'utf8');
  let pos = text.indexOf('\n') + 1;
  while (pos > 0 && pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const line = text.slice(pos, nl === -1 ? undefined : nl);
    pos = nl === -1 ? text.length : nl + 1;
    if (!line.includes('"trade"')) continue;
    let ev: { type?: string; exchange?: string; symbol?: string; ts?: number; price?: number };
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev.type !== 'trade' || typeof ev.ts !== 'number' || !Number.isSafeInteger(ev.price) || ev.ts < lo || ev.ts > hi) continue;
    const m = (out[instrumentKey(ev.exchange!, ev.symbol!)] ??= { ts: [], halfTicks: [] });
    const sec = Math.floor(ev.ts / 1000);
    if (m.ts.length > 0 && Math.floor(m.ts[m.ts.length - 1]! / 1000) === sec) {
      m.ts[m.ts.length - 1] = ev.ts;
      m.halfTicks[m.halfTicks.length - 1] = 2 * ev.price!;
    } else {
      m.ts.push(ev.ts);
      m.halfTicks.push(2 * ev.price!);
    }
  }
  return out;
}
