import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RECORDING_KIND } from '@cwts/core/engine';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../journal/schema.js';
import { replayCommand } from './replay.js';
import { reportCommand } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-report-out-'));
const btcSpec = { exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' };
const SQLITE_HEADER = 'SQLite format 3\0';

function journal(name: string): string {
  const p = join(dir, name);
  const db = new Database(p);
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify(btcSpec));
  db.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (1, 0, 1, ?, ?, ?)').run('h', 'sys', 'abc');
  db.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(1, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '2000', 'USDT', 1000, 1000);
  db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(2, 'timer', (10n ** 21n).toString(), '0', '0', '0', '{}', 1000);
  db.close();
  return p;
}

const CONFIG = simConfig('out');

function recording(): string {
  return writeSimRecording(join(dir, 'rec.jsonl'), { seed: 3, seconds: 1 });
}

async function refusal(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (e) {
    return (e as Error).message;
  }
  return 'not refused';
}

describe('report --out and replay --report never overwrite an input', () => {
  it('report --out naming the journal it reads is refused, and the journal stays a database', async () => {
    const p = journal('live.db');
    expect(await refusal(() => reportCommand({ journal: p, out: p, json: true }, () => {}))).toMatch(/^--out: .*live\.db is the journal/);
    expect(readFileSync(p).subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);
  });

  it("report --out naming the journal's -wal file, the recording or the config is refused", async () => {
    const p = journal('live2.db');
    const rec = recording();
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, CONFIG);
    expect(await refusal(() => reportCommand({ journal: p, out: `${p}-wal`, json: true }, () => {}))).toMatch(/its -wal file/);
    expect(await refusal(() => reportCommand({ journal: p, out: rec, data: rec, json: true }, () => {}))).toMatch(/is the recording/);
    expect(await refusal(() => reportCommand({ journal: p, out: cfg, config: cfg, json: true }, () => {}))).toMatch(/is the config/);
    expect(readFileSync(rec, 'utf8').startsWith(`{"kind":"${RECORDING_KIND}"`)).toBe(true);
    expect(readFileSync(cfg, 'utf8')).toBe(CONFIG);
  });

  it('replay --report naming the recording or the config is refused before the replay runs', async () => {
    const rec = recording();
    const cfg = join(dir, 'c2.toml');
    writeFileSync(cfg, CONFIG);
    const out: string[] = [];
    expect(await refusal(() => replayCommand({ config: cfg, data: rec, json: true, report: rec, err: () => {} }, (l) => out.push(l)))).toMatch(/^--report: .* is the recording/);
    expect(await refusal(() => replayCommand({ config: cfg, data: rec, json: true, report: cfg, err: () => {} }, (l) => out.push(l)))).toMatch(/^--report: .* is the config/);
    expect(out).toEqual([]);
    expect(readFileSync(rec, 'utf8').startsWith(`{"kind":"${RECORDING_KIND}"`)).toBe(true);
    expect(readFileSync(cfg, 'utf8')).toBe(CONFIG);
  }, 60_000);
});
