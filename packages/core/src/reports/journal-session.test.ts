import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../journal/schema.js';
import { sessionFromJournal } from './journal-session.js';
import { sessionStatistics } from './statistics.js';

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
