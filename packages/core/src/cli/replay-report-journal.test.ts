import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../journal/schema.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-journal-'));
const SQLITE_HEADER = 'SQLite format 3\0';

function recording(): string {
  return writeSimRecording(join(dir, 'rec.jsonl'), { seed: 3, seconds: 1 });
}

describe('replay --report and the journal of the config it replays', () => {
  it('replay --report naming the journal the config journals to (the live engine of that config) is refused, as run --record and report --out refuse it', async () => {
    const live = join(dir, 'live.db');
    const db = new Database(live);
    db.exec(MIGRATIONS[0]!);
    db.close();
    const cfg = join(dir, 'live.toml');
    writeFileSync(
      cfg,
      simConfig('live', `[journal]\npath = ${JSON.stringify(live)}\n`),
    );
    const rec = recording();
    let refused: string | undefined;
    try {
      await replayCommand({ config: cfg, data: rec, json: true, report: live, err: () => {} }, () => {});
    } catch (e) {
      refused = (e as Error).message;
    }
    // the live engine's journal (positions, open orders, HALT, client-id sequence) must survive
    expect(readFileSync(live).subarray(0, 16).toString('latin1')).toBe(SQLITE_HEADER);
    expect(refused).toMatch(/journal/);
  }, 60_000);
});
