import { closeSync, ftruncateSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { constants } from 'node:buffer';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../journal/schema.js';
import { defineInstrument } from '../domain/instrument.js';
import { detectorFollowUps, markAt } from './follow-ups.js';
import { sessionFromJournal, tradeMarks } from './journal-session.js';
import { sessionStatistics } from './statistics.js';
import type { SessionRecord } from './session.js';

const E18 = 10n ** 18n;

/** A journal with the real schema: two fills, a HALT before the window's end, snapshots with capital 1000. */
function journal() {
  const db = new Database(':memory:');
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', priceScale: { mantissa: '1n', exponent: 2 } }));
  db.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (1, 0, 1, ?, ?, ?)').run('h', 'sys', 'abc');
  const fill = db.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  fill.run(1, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '2000', 'USDT', 1000, 1000);
  fill.run(2, 'sim', 'BTCUSDT', 'b', 'sell', 1_010_000, 2, '2000', 'USDT', 61_000, 61_000);
  const snap = db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const cap = 1000n * E18;
  snap.run(3, 'timer', (cap - 2n * 10n ** 16n).toString(), '0', '0', (2n * 10n ** 16n).toString(), JSON.stringify({ 'sim:BTCUSDT': 2_000_000 }), 1000);
  snap.run(4, 'fill', (cap + 16n * 10n ** 16n).toString(), (20n * 10n ** 16n).toString(), '0', (4n * 10n ** 16n).toString(), JSON.stringify({ 'sim:BTCUSDT': 2_020_000 }), 61_000);
  db.prepare('INSERT INTO risk_transitions (seq, from_state, to_state, reason, who, ts) VALUES (?, ?, ?, ?, ?, ?)').run(5, 'ACTIVE', 'HALTED', 'manual', 'op', 30_000);
  db.prepare('INSERT INTO signals (seq, id, detector, exchange, symbol, direction, strength, ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(6, 'whale:sim:BTCUSDT:1', 'whale', 'sim', 'BTCUSDT', 1, 4.2, 900, '{}');
  return db;
}

describe('sessionFromJournal', () => {
  it('reads fills, signals, snapshots and risk transitions; capital is the risk equity minus PnL', () => {
    const s = sessionFromJournal(journal());
    expect(s.initialEquity).toBe(1000n * E18);
    expect([s.start, s.end]).toEqual([900, 61_000]);
    expect(s.fills.map((f) => [f.side, f.price, f.qty, f.feeAtoms])).toEqual([['buy', 1_000_000, 2, 2000n], ['sell', 1_010_000, 2, 2000n]]);
    expect(s.risk.map((r) => r.state)).toEqual(['ACTIVE', 'HALTED']);
    expect(s.runs[0]!.configDigest).toBe('abc');
    const st = sessionStatistics(s);
    // (10100 - 10000) x 0.002 = 0.2 realized, 0.04 fees.
    expect([st.realized, st.fees, st.net, st.finalEquity, st.trades, st.wins]).toEqual(['0.2', '0.04', '0.16', '1000.16', 1, 1]);
  });

  it('a window keeps only what happened in it and starts from the risk state in force', () => {
    const s = sessionFromJournal(journal(), { from: 40_000, to: 70_000 });
    expect(s.fills).toHaveLength(1);
    expect(s.signals).toHaveLength(0);
    expect(s.risk).toEqual([{ ts: 40_000, state: 'HALTED', reason: 'manual' }]);
    expect([s.start, s.end]).toEqual([40_000, 70_000]);
  });

  it('an empty window is an error that says so', () => {
    expect(() => sessionFromJournal(journal(), { from: 100_000, to: 200_000 })).toThrow(/in the chosen window/);
  });
});

const btcSpec = { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' };
const recordingHeader = JSON.stringify({ kind: 'cwts-recording', version: 1, instruments: [btcSpec] });
const tradeLine = (ts: number, price: number, id = `t${ts}`) => JSON.stringify({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: id, price, qty: 1, side: 'buy' });

/** A journal with only 1-second timer snapshots at capital 1000, `n` of them from t = 0 (or at the given times). */
function snapshotJournal(times: number[]) {
  const db = new Database(':memory:');
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(btcSpec));
  const snap = db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const cap = (1000n * E18).toString();
  db.transaction(() => times.forEach((t, k) => snap.run(k + 1, 'timer', cap, '0', '0', '0', '{}', t)))();
  return db;
}

describe('sessionFromJournal on long sessions', () => {
  it('reads two days of 1-second snapshots (172,800 rows, more than a spread can pass as arguments)', () => {
    const n = 2 * 86_400;
    const s = sessionFromJournal(snapshotJournal(Array.from({ length: n }, (_, k) => k * 1000)));
    expect([s.start, s.end, s.pnl.length]).toEqual([0, (n - 1) * 1000, n]);
  });

  it('reads marks from a recording longer than the longest string V8 can make, line by line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-report-long-'));
    const path = join(dir, 'long.jsonl');
    try {
      // The header, then filler past V8's string limit as a file hole (sparse: nothing is written
      // to disk, it reads back as NUL bytes, one over-long line that the reader drops as it
      // reads), then trades. Reading the file into one string cannot work at this size.
      const fd = openSync(path, 'w');
      writeSync(fd, recordingHeader + '\n');
      const filler = constants.MAX_STRING_LENGTH + (1 << 20);
      ftruncateSync(fd, filler);
      writeSync(fd, '\n' + [tradeLine(1_000, 6_000_000), tradeLine(1_500, 6_000_100), tradeLine(2_000, 6_000_200)].join('\n') + '\n', filler);
      closeSync(fd);
      expect(statSync(path).size).toBeGreaterThan(constants.MAX_STRING_LENGTH);
      const s = sessionFromJournal(snapshotJournal([0, 3_000]), {}, path);
      expect(s.marks['sim:BTCUSDT']).toEqual({ ts: [1_500, 2_000], halfTicks: [12_000_200, 12_000_400] });
      expect(s.finalMarks['sim:BTCUSDT']).toBe(12_000_400);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tradeMarks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-report-marks-'));
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  it('keeps marks ascending in time when trade times go back, so markAt finds the right one', () => {
    // seconds 5, 1 (late), 3, 1 again (later in the file, same ms: it wins), 5 (earlier ms than the first: loses)
    const f = write('order.jsonl', [recordingHeader, tradeLine(5_200, 500), tradeLine(1_100, 100), tradeLine(3_000, 300), tradeLine(1_100, 101, 'x'), tradeLine(5_100, 499)].join('\n') + '\n');
    const m = tradeMarks(f, -Infinity, Infinity);
    expect(m['sim:BTCUSDT']).toEqual({ ts: [1_100, 3_000, 5_200], halfTicks: [202, 600, 1_000] });
    const rec = { marks: m, finalMarks: {}, end: 10_000 } as unknown as Parameters<typeof markAt>[0];
    expect([500, 1_100, 2_999, 3_000, 5_199, 5_200].map((t) => markAt(rec, 'sim:BTCUSDT', t))).toEqual([undefined, 202, 202, 600, 600, 1_000]);
  });

  it('stays sorted and one mark per second when many trades go back (compaction)', () => {
    // 5,000 seconds, each second's trades written newest first
    const lines = [recordingHeader];
    for (let sec = 0; sec < 5_000; sec++) for (const ms of [900, 500, 100]) lines.push(tradeLine(sec * 1000 + ms, 2 * sec + 1, `${sec}-${ms}`));
    const m = tradeMarks(write('many.jsonl', lines.join('\n') + '\n'), -Infinity, Infinity)['sim:BTCUSDT']!;
    expect(m.ts).toEqual(Array.from({ length: 5_000 }, (_, sec) => sec * 1000 + 900));
    expect(m.halfTicks).toEqual(Array.from({ length: 5_000 }, (_, sec) => 2 * (2 * sec + 1)));
  });

  it('a trade line with a zero or negative price or quantity is not a mark; sessionFromJournal says how many there were', () => {
    const bad = (ts: number, over: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(tradeLine(ts, 1_000_000)), ...over });
    const f = write('bad-price.jsonl', [recordingHeader, tradeLine(1_000, 1_000_000), tradeLine(61_000, 0), tradeLine(62_500, -1_000_000), bad(63_000, { qty: 0 }), bad(64_000, { price: 1.5 }), tradeLine(70_000, 1_000_100)].join('\n') + '\n');
    const skipped: number[] = [];
    const marks = tradeMarks(f, -Infinity, Infinity, {}, (lineNo) => skipped.push(lineNo))['sim:BTCUSDT']!;
    expect(marks).toEqual({ ts: [1_000, 70_000], halfTicks: [2_000_000, 2_000_200] });
    expect(skipped).toEqual([3, 4, 5, 6]);

    // what it did to the report: a buy at 10000.00 whose 60 s mark-out read the damaged line
    const rec: SessionRecord = {
      instruments: [defineInstrument(btcSpec)], initialEquity: 0n, start: 0, end: 100_000, pnl: [],
      fills: [{ ts: 1_000, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: 'a', side: 'buy', price: 1_000_000, qty: 1, feeAtoms: 0n }],
      signals: [{ ts: 1_000, id: 's', detector: 'whale', exchange: 'sim', symbol: 'BTCUSDT', direction: 1, strength: 1 }],
      marks: { 'sim:BTCUSDT': marks }, finalMarks: {}, risk: [{ ts: 0, state: 'ACTIVE', reason: 'start' }],
    };
    // the price was 10000.00 and 10001.00 on both sides of the damaged lines: the mark-out is 0, not -10 USDT
    expect(detectorFollowUps(rec, 60_000)[0]!.markoutPnl).toBe('0');

    const s = sessionFromJournal(snapshotJournal([0, 100_000]), {}, f);
    expect(s.warnings).toEqual([expect.stringMatching(/^4 trade lines of the recording are not a valid trade and gave no mark \(first: line 3: /)]);
    expect(sessionFromJournal(snapshotJournal([0, 100_000]), {}, write('clean.jsonl', [recordingHeader, tradeLine(1_000, 1_000_000)].join('\n') + '\n')).warnings).toBeUndefined();
  });

  it('reads lines cut across tiny reads, keeps the window, and ignores the cut last line', () => {
    const f = write(
      'cut.jsonl',
      [recordingHeader, tradeLine(1_000, 100, 'é€😀'), '{"type":"trade", not json', tradeLine(2_000, 200), tradeLine(9_000, 900)].join('\r\n') + '\r\n' + tradeLine(3_000, 300).slice(0, -1),
    );
    for (const chunkBytes of [1, 3, 7, 64, 1 << 20]) {
      expect(tradeMarks(f, 0, 5_000, { chunkBytes })).toEqual({ 'sim:BTCUSDT': { ts: [1_000, 2_000], halfTicks: [200, 400] } });
    }
  });
});

describe('report --data: a file that is not a recording', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-report-notrec-'));
  const rec = [recordingHeader, tradeLine(1_000, 1_000_000)].join('\n') + '\n';
  const cases: [string, Buffer | string][] = [
    ['gzipped.jsonl.gz', gzipSync(rec)],
    ['no-header.jsonl', tradeLine(1_000, 1_000_000) + '\n'],
    ['other.csv', 'exchange,symbol,timestamp\n'],
    ['empty.jsonl', ''],
  ];
  it.each(cases)('%s gives no marks and a warning (the report then exits 3), not a clean report with empty charts', (name, body) => {
    const f = join(dir, name);
    writeFileSync(f, body);
    const why: string[] = [];
    expect(tradeMarks(f, -Infinity, Infinity, {}, undefined, (w) => why.push(w))).toEqual({});
    expect(why).toHaveLength(1);
    const s = sessionFromJournal(journal(), {}, f);
    expect(s.warnings?.some((w) => w.includes('is not a cwts-ultra recording'))).toBe(true);
  });

  it('a recording with its header gives marks and no such warning', () => {
    const f = join(dir, 'ok.jsonl');
    writeFileSync(f, rec);
    const why: string[] = [];
    expect(tradeMarks(f, -Infinity, Infinity, {}, undefined, (w) => why.push(w))['sim:BTCUSDT']).toEqual({ ts: [1_000], halfTicks: [2_000_000] });
    expect(why).toEqual([]);
    expect(sessionFromJournal(journal(), {}, f).warnings?.some((w) => w.includes('is not a cwts-ultra recording')) ?? false).toBe(false);
  });
});
