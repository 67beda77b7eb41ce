import { createHash, randomBytes } from 'node:crypto';
import { closeSync, ftruncateSync, linkSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '../config/index.js';
import type { RiskConfig } from '../config/types.js';
import { RiskManager } from '../risk/manager.js';
import { commonToDecimal } from '../risk/portfolio.js';
import { initialEquityCommon, reportTargetProblem, sha256File } from './replay-report.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sha256File', () => {
  it('hashes in chunks: the same digest as hashing the whole content, across chunk boundaries', () => {
    for (const size of [0, 1, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 5]) {
      const content = randomBytes(size);
      const f = join(dir, `h${size}`);
      writeFileSync(f, content);
      expect(sha256File(f)).toBe(createHash('sha256').update(content).digest('hex'));
    }
  });

  it('hashes a file over 2 GiB (more than one Buffer can hold: the recording of a long session)', () => {
    // sparse: the hole takes no disk
    const f = join(dir, 'long.jsonl');
    const fd = openSync(f, 'w');
    ftruncateSync(fd, 2 ** 31 + 10);
    writeSync(fd, 'end\n', 2 ** 31 + 10);
    closeSync(fd);
    expect(statSync(f).size).toBeGreaterThan(2 ** 31);
    expect(sha256File(f)).toMatch(/^[0-9a-f]{64}$/);
  }, 120_000);
});

describe('reportTargetProblem', () => {
  const journal = join(dir, 'live.db');
  const recording = join(dir, 'rec.jsonl');
  const config = join(dir, 'c.toml');
  for (const f of [journal, recording, config]) writeFileSync(f, 'x');

  it("refuses the journal and SQLite's files beside it, the recording and the config, also under another name", () => {
    const inputs = { journal, recording, config };
    expect(reportTargetProblem(journal, inputs)).toMatch(/is the journal .*live\.db; the report would overwrite it/);
    expect(reportTargetProblem(`${journal}-wal`, inputs)).toMatch(/\(its -wal file\)/);
    expect(reportTargetProblem(`${journal}-shm`, inputs)).toMatch(/\(its -shm file\)/);
    expect(reportTargetProblem(`${journal}-journal`, inputs)).toMatch(/\(its -journal file\)/);
    expect(reportTargetProblem(join(dir, '.', 'rec.jsonl'), inputs)).toMatch(/is the recording/);
    expect(reportTargetProblem(config, inputs)).toMatch(/is the config/);
    symlinkSync(journal, join(dir, 'link.html'));
    expect(reportTargetProblem(join(dir, 'link.html'), inputs)).toMatch(/is the journal/);
    linkSync(recording, join(dir, 'hard.html'));
    expect(reportTargetProblem(join(dir, 'hard.html'), inputs)).toMatch(/is the recording/);
  });

  it('accepts any other file, existing or not', () => {
    writeFileSync(join(dir, 'old.html'), 'old report');
    expect(reportTargetProblem(join(dir, 'old.html'), { journal, recording, config })).toBeUndefined();
    expect(reportTargetProblem(join(dir, 'new.html'), { journal })).toBeUndefined();
    expect(reportTargetProblem(journal, {})).toBeUndefined();
  });

  it("refuses a dangling link to the journal's -journal rollback file or -wal (absent while the engine is stopped), or to the journal not created yet", () => {
    const out = join(dir, 'dangling');
    mkdirSync(out);
    symlinkSync(`${journal}-journal`, join(out, 'rollback.html'));
    expect(reportTargetProblem(join(out, 'rollback.html'), { journal })).toMatch(/is the journal .*\(its -journal file\)/);
    symlinkSync(`${journal}-wal`, join(out, 'wal.html'));
    expect(reportTargetProblem(join(out, 'wal.html'), { journal })).toMatch(/is the journal .*\(its -wal file\)/);
    const absent = join(dir, 'not-yet.db');
    symlinkSync(absent, join(out, 'journal.html'));
    expect(reportTargetProblem(join(out, 'journal.html'), { journal: absent })).toMatch(/is the journal .*not-yet\.db; the report would overwrite it/);
    symlinkSync(join(out, 'mine.html'), join(out, 'own.html'));
    expect(reportTargetProblem(join(out, 'own.html'), { journal })).toBeUndefined();
  });
});

describe('initialEquityCommon (the replay report\'s starting capital)', () => {
  const base = { max_position: 1_000, max_drawdown: 0.1, kelly_fraction: 0.5, var_confidence: 0.99, max_open_orders: 50, price_band_bps: 500, orders_per_second: 1000 };

  it('is the capital the replayed risk engine counts from: initial_equity, else max_total_position, else max_position', () => {
    for (const [extra, expected] of [
      [{ max_total_position: 5_000 }, '5000'],
      [{}, '1000'],
      [{ max_total_position: 5_000, initial_equity: 1234.5 }, '1234.5'],
      [{ initial_equity: 0.1 }, '0.1'],
    ] as const) {
      const risk = { ...base, ...extra } as unknown as RiskConfig;
      // core-services.ts seeds the RiskManager so
      const engine = new RiskManager({ risk, initialEquity: risk.initial_equity, timers: false });
      const engineCapital = (engine.status() as { startingCapital: string }).startingCapital;
      expect(engineCapital).toBe(expected);
      expect(commonToDecimal(initialEquityCommon({ config: { risk } } as unknown as LoadedConfig))).toBe(engineCapital);
    }
  });
});
