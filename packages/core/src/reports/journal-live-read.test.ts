/**
 * `report --journal` works while the session runs (read-only, no lock). It once read fills,
 * signals and snapshots with separate statements and no read transaction, each seeing the journal
 * as of its own moment: a fill the engine committed between the fills query and the snapshots
 * query was in the equity curve but not in the money figures computed from the fills, and the
 * page's final equity disagreed with its own equity chart. All reads are now one read
 * transaction (in WAL mode: one commit of the journal).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../journal/schema.js';
import { JournalStore } from '../journal/store.js';
import { sessionFromJournal, type ReadOnlyDb } from './journal-session.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { equitySeries, sessionStatistics } from './statistics.js';

const E16 = 10n ** 16n;
const CAP = 1000n * 10n ** 18n;
const spec = { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' };

describe('report --journal while the session writes', () => {
  it('reads one consistent moment of the journal: the fills it counts are those its snapshots value', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-report-live-')), 'j.db');
    const writer = new Database(path);
    writer.pragma('journal_mode = WAL');
    writer.exec(MIGRATIONS[0]!);
    writer.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(spec));
    const fill = writer.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const snap = writer.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    // committed before the report starts: a buy of 0.002 BTC at 10000, fee 0.02
    writer.transaction(() => {
      fill.run(1, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '2000', 'USDT', 1000, 1000);
      snap.run(2, 'fill', (CAP - 2n * E16).toString(), '0', '0', (2n * E16).toString(), JSON.stringify({ 'sim:BTCUSDT': 2_000_000 }), 1000);
    })();
    // the engine's next commit, made while the report is between its queries: the sell at 10100
    const engineCommits = writer.transaction(() => {
      fill.run(3, 'sim', 'BTCUSDT', 'b', 'sell', 1_010_000, 2, '2000', 'USDT', 61_000, 61_000);
      snap.run(4, 'fill', (CAP + 16n * E16).toString(), (20n * E16).toString(), '0', (4n * E16).toString(), JSON.stringify({ 'sim:BTCUSDT': 2_020_000 }), 61_000);
    });

    const reader = JournalStore.openReadOnly(path);
    let committed = false;
    // the report's own connection, unchanged, except that the engine commits right after the fills are read
    const db = new Proxy(reader, {
      get(target, prop, receiver) {
        if (prop !== 'prepare') {
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        }
        return (sql: string) => {
          const st = target.prepare(sql);
          return new Proxy(st, {
            get(s, p) {
              const v = Reflect.get(s, p);
              if (p !== 'all' && p !== 'iterate') return typeof v === 'function' ? v.bind(s) : v;
              return (...params: unknown[]) => {
                const out = (v as (...a: unknown[]) => unknown).apply(s, params);
                if (!committed && /FROM fills/.test(sql)) {
                  committed = true;
                  engineCommits();
                }
                return out;
              };
            },
          });
        };
      },
    });
    let stats;
    let lastEquity;
    try {
      const rec = sessionFromJournal(db as unknown as ReadOnlyDb);
      stats = sessionStatistics(rec);
      const eq = equitySeries(rec).equity;
      lastEquity = eq[eq.length - 1]!;
    } finally {
      reader.close();
      writer.close();
    }
    expect(committed).toBe(true);
    // The page's figures and its own equity chart describe the same journal: either both with
    // the sell (realized 0.2, final equity 1000.16) or both without it.
    expect(stats.finalEquity).toBe(commonToDecimal(lastEquity));
    // the transaction's moment is its first read (the instruments), before the engine's commit
    expect([stats.fills, stats.finalEquity]).toEqual([1, '999.98']);
  });
});
