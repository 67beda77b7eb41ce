import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../journal/schema.js';
import { reportCommand } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-report-link-'));
const btcSpec = { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' };

describe('report --out and a journal given through a symbolic link', () => {
  it("refuses --out naming the -wal file of the journal a link points at (SQLite keeps -wal beside the real file)", async () => {
    mkdirSync(join(dir, 'data'));
    mkdirSync(join(dir, 'links'));
    const real = join(dir, 'data', 'live.db');
    // the live engine: journal open in WAL mode, with a committed write still in the -wal file
    const live = new Database(real);
    live.pragma('journal_mode = WAL');
    live.pragma('wal_autocheckpoint = 0');
    live.exec(MIGRATIONS[0]!);
    live.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(btcSpec));
    live.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (1, 0, 1, ?, ?, ?)').run('h', 'sys', 'abc');
    live.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(1, 'timer', (10n ** 21n).toString(), '0', '0', '0', '{}', 1000);
    const link = join(dir, 'links', 'live.db');
    symlinkSync(real, link);
    const wal = `${real}-wal`;
    const before = readFileSync(wal);
    expect(before.length).toBeGreaterThan(0);
    let refused = 'not refused';
    try {
      await reportCommand({ journal: link, out: wal, json: true }, () => {});
    } catch (e) {
      refused = (e as Error).message;
    }
    const after = readFileSync(wal);
    live.close();
    expect(after.subarray(0, 16).equals(before.subarray(0, 16))).toBe(true);
    expect(refused).toMatch(/is the journal/);
  });
});
