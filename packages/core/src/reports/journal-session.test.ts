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
import { sessionFromJournal, spliceMarks, tradeMarks, type ReadOnlyDb } from './journal-session.js';
import { equitySeries, sessionStatistics } from './statistics.js';
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
    // the session in the window runs from its first to its last record there (both at 61 s)
    expect(s.risk).toEqual([{ ts: 61_000, state: 'HALTED', reason: 'manual' }]);
    expect([s.start, s.end]).toEqual([61_000, 61_000]);
    expect([sessionFromJournal(journal(), { from: 500, to: 30_000 })].map((w) => [w.start, w.end])).toEqual([[900, 1_000]]);
  });

  it('an empty window is an error that says so', () => {
    expect(() => sessionFromJournal(journal(), { from: 100_000, to: 200_000 })).toThrow(/in the chosen window/);
  });

  it("equity is each snapshot's own: a restart with another starting capital is a capital change, not PnL", () => {
    const db = new Database(':memory:');
    db.exec(MIGRATIONS[0]!);
    db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(btcSpec));
    const snap = db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    // run 1 at capital 1000 (PnL 0, then +10); run 2 at capital 100 (PnL +8, then +3)
    const rows: [number, bigint, bigint][] = [[0, 1000n, 0n], [60_000, 1000n, 10n], [120_000, 100n, 8n], [180_000, 100n, 3n]];
    rows.forEach(([ts, cap, pnl], k) => snap.run(k + 1, 'timer', ((cap + pnl) * E18).toString(), (pnl * E18).toString(), '0', '0', '{}', ts));
    const s = sessionFromJournal(db);
    expect(s.initialEquity).toBe(1000n * E18);
    expect(s.capitalChanges).toEqual([{ index: 2, ts: 120_000, amount: -900n * E18 }]);
    expect(equitySeries(s).equity).toEqual(rows.map(([, cap, pnl]) => (cap + pnl) * E18));
    expect(s.notes).toEqual([expect.stringMatching(/^the starting capital changed .*: 1000 -> 100 at 1970-01-01T00:02:00.000Z\. /)]);
    // a window after the change starts in the new capital, with no change in it
    const w = sessionFromJournal(db, { from: 120_000 });
    expect([w.initialEquity, w.capitalChanges, w.notes]).toEqual([100n * E18, undefined, undefined]);
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

  it('a one-minute window of a long journal reads the rows of that minute, not every row of the journal', () => {
    // A one-minute report once read all rows and filtered them in JavaScript: a journal of a few
    // months (millions of one-second snapshots) ran out of heap. Every row handed to JavaScript is counted.
    const real = snapshotJournal(Array.from({ length: 86_400 }, (_, k) => k * 1000));
    let handed = 0;
    const db: ReadOnlyDb = {
      transaction: (fn) => real.transaction(fn),
      prepare(sql) {
        const st = real.prepare(sql);
        return {
          all: (...p) => {
            const got = st.all(...p);
            handed += got.length;
            return got;
          },
          *iterate(...p) {
            for (const r of st.iterate(...p)) {
              handed++;
              yield r;
            }
          },
        };
      },
    };
    const from = 43_200_000;
    const s = sessionFromJournal(db, { from, to: from + 60_000 });
    expect([s.start, s.end, s.pnl.length]).toEqual([from, from + 60_000, 61]);
    // the window's 61 snapshots and the instrument row, nothing near the journal's 86,400
    expect(handed).toBeLessThan(100);
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

const T0 = Date.parse('2026-12-05T06:00:00Z');
const trade = (ts: number, price: number) => JSON.stringify({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${ts}`, price, qty: 1, side: 'buy' });

/**
 * Two runs of one deployment in one journal (a restart at T0 + 90 s). Run 1: a whale signal at
 * +10.5 s and a buy of 0.002 BTC at 10000.00 then (a fill snapshot with it); the price is 10050.00
 * from +70 s on. Snapshots every second to +120 s carry the mark (the engine journals one for every
 * instrument with a position).
 */
function twoRunJournal() {
  const db = new Database(':memory:');
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(btcSpec));
  db.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (1, ?, 1, ?, ?, ?)').run(T0, 'h', 'sys', 'abc');
  db.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (2, ?, 1, ?, ?, ?)').run(T0 + 90_000, 'h', 'sys', 'abc');
  let seq = 1;
  db.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(seq++, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '2000', 'USDT', T0 + 10_500, T0 + 10_500);
  db.prepare('INSERT INTO signals (seq, id, detector, exchange, symbol, direction, strength, ts, json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(seq++, 's1', 'whale', 'sim', 'BTCUSDT', 1, 1, T0 + 10_500, '{}');
  const snap = db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  const times = [10_500];
  for (let t = 0; t <= 120_000; t += 1000) times.push(t);
  times.sort((a, b) => a - b);
  for (const t of times) {
    if (t > 80_000 && t < 90_000) continue; // the restart
    const price = t >= 70_000 ? 1_005_000 : 1_000_000;
    const held = t >= 10_500;
    const unreal = held ? BigInt(price - 1_000_000) * 2n * 10n ** 13n : 0n;
    const fees = held ? 2n * 10n ** 16n : 0n;
    snap.run(seq++, 'timer', (1000n * E18 + unreal - fees).toString(), '0', unreal.toString(), fees.toString(), JSON.stringify(held ? { 'sim:BTCUSDT': 2 * price } : {}), T0 + t);
  }
  return db;
}

describe('report --journal: a recording of part of the journal, a window past its records', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-report-partial-rec-'));
  /** The recording of run 2 alone (run --record writes one file per run): trades at +90 s .. +120 s. */
  const run2Recording = (price: number) => {
    const rec = join(dir, `run2-${price}.jsonl`);
    writeFileSync(rec, [recordingHeader, ...Array.from({ length: 31 }, (_, k) => trade(T0 + 90_000 + k * 1000, price))].join('\n') + '\n');
    return rec;
  };

  it("--data with the second run's recording keeps the first run's marks, and says which span it covered", () => {
    const without = detectorFollowUps(sessionFromJournal(twoRunJournal()), 60_000)[0]!;
    // from the snapshots: the buy at 10000.00 marked at 10050.00 a minute later: +0.1; the price rose 50 bps after the signal
    expect(without).toMatchObject({ fills: 1, markoutPnl: '0.1', fees: '0.02' });
    expect(without.meanMoveBps).toBeCloseTo(50, 9);

    const rec = run2Recording(1_005_000);
    const s = sessionFromJournal(twoRunJournal(), {}, rec);
    // replacing every mark with the recording's left none before +90 s: a mark-out of 0 and no move, silently
    const withRec = detectorFollowUps(s, 60_000)[0]!;
    expect(withRec).toMatchObject({ fills: 1, markoutPnl: '0.1', fees: '0.02' });
    expect(withRec.meanMoveBps).toBeCloseTo(50, 9);
    expect(s.recordingSpan).toEqual({ firstTrade: T0 + 90_000, lastTrade: T0 + 120_000 });
    // not damage (no warning, exit 0), but said on the page
    expect(s.warnings).toBeUndefined();
    expect(s.notes).toEqual([`prices are from the recording ${rec} from 2026-12-05T06:01:30.000Z to 2026-12-05T06:02:00.000Z; the report covers 2026-12-05T06:00:00.000Z → 2026-12-05T06:02:00.000Z, and outside the recording's span they are from the journal's snapshots, which carry one only for an instrument with a position`]);
  });

  it("within its span the recording's prices replace the snapshots'; outside it the snapshots' stay", () => {
    const s = sessionFromJournal(twoRunJournal(), {}, run2Recording(1_006_000));
    expect([50_000, 89_999, 90_000, 105_500, 120_000].map((t) => markAt(s, 'sim:BTCUSDT', T0 + t))).toEqual([2_000_000, 2_010_000, 2_012_000, 2_012_000, 2_010_000]);
    const m = s.marks['sim:BTCUSDT']!;
    expect(m.ts.every((t, k) => k === 0 || t > m.ts[k - 1]!)).toBe(true);
    expect(spliceMarks({ ts: [1, 2, 3, 4, 5], halfTicks: [10, 20, 30, 40, 50] }, { ts: [2, 4], halfTicks: [21, 41] })).toEqual({ ts: [1, 2, 4, 5], halfTicks: [10, 21, 41, 50] });
  });

  it('a recording with no trade in the span gives a note, and one covering it all none', () => {
    const none = join(dir, 'other-day.jsonl');
    writeFileSync(none, [recordingHeader, trade(T0 - 86_400_000, 1_000_000)].join('\n') + '\n');
    const s = sessionFromJournal(twoRunJournal(), {}, none);
    expect(s.recordingSpan).toBeNull();
    expect(s.notes).toEqual([expect.stringContaining('has no trade in the report')]);
    expect(detectorFollowUps(s, 60_000)[0]!.markoutPnl).toBe('0.1');
    const whole = join(dir, 'whole.jsonl');
    writeFileSync(whole, [recordingHeader, trade(T0 - 5_000, 1_000_000), trade(T0, 1_000_000), trade(T0 + 120_000, 1_005_000), trade(T0 + 125_000, 1_000_000)].join('\n') + '\n');
    const covered = sessionFromJournal(twoRunJournal(), {}, whole);
    expect(covered.notes).toBeUndefined();
    // only the trades in the report's span are read (the final mark is the price at its end)
    expect(covered.recordingSpan).toEqual({ firstTrade: T0, lastTrade: T0 + 120_000 });
    expect(sessionFromJournal(twoRunJournal()).recordingSpan).toBeUndefined();
  });

  it('a --to past the last record (a report of today while the session runs) does not count time that has not happened', () => {
    const whole = sessionStatistics(sessionFromJournal(twoRunJournal()));
    // the same records, asked for the whole day (the session is at +2 min)
    const today = sessionFromJournal(twoRunJournal(), { from: Date.parse('2026-12-05T00:00:00Z'), to: Date.parse('2026-12-06T00:00:00Z') });
    expect([today.start, today.end]).toEqual([T0, T0 + 120_000]);
    const st = sessionStatistics(today);
    expect(st.net).toBe(whole.net);
    // the position is held from +10.5 s to +120 s, the last record
    expect(whole.exposureMs).toBe(109_500);
    expect(st.exposureMs).toBe(whole.exposureMs);
    expect(st.durationMs).toBe(120_000);
    // zero returns for each minute of the rest of the day (1,438 of them) are not the session's returns
    expect(st.ratioPeriods).toBe(whole.ratioPeriods);
    expect(st.sharpe).toBe(whole.sharpe);
    expect(st.maxDrawdownDurationMs).toBe(whole.maxDrawdownDurationMs);
  });

  it('a --to of 9999-12-31 reports the records, not eight thousand years', () => {
    const far = sessionFromJournal(twoRunJournal(), { to: Date.parse('9999-12-31T23:59:59Z') });
    expect([far.start, far.end]).toEqual([T0, T0 + 120_000]);
    expect(sessionStatistics(far).ratioPeriods).toBe(sessionStatistics(sessionFromJournal(twoRunJournal())).ratioPeriods);
  });
});
