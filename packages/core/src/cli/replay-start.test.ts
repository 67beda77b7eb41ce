import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-start-'));
const T0 = 1_700_000_000_000;

const CONFIG = simConfig('start');

/**
 * A recording whose first market event is a book snapshot with venue time 0: what `run --record`
 * writes for Binance spot, whose REST depth snapshot has no event time (exchange-binance/src/feed.ts:
 * `ts: typeof b.E === 'number' ? b.E : 0`). Replay takes its arrival time (recvTs) instead.
 */
function recording(): string {
  return writeSimRecording(join(dir, 'rec.jsonl'), {
    seed: 7,
    seconds: 5,
    startTs: T0,
    edit: (events) => {
      expect(events[0]?.type).toBe('book_snapshot');
      events[0] = { ...events[0]!, ts: 0, recvTs: T0 } as (typeof events)[number];
    },
  });
}

describe('replay statistics when the first event is a snapshot stamped 0', () => {
  it('the session runs from the first market time of the recording, not from 1970', async () => {
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, CONFIG);
    const out: string[] = [];
    const code = await replayCommand({ config: cfg, data: recording(), json: true, err: () => {} }, (l) => out.push(l));
    expect(code).toBe(0);
    const s = JSON.parse(out[0]!);
    // Five seconds of recorded market: the report's period, duration and ratios cover those.
    expect(s.stats.start).toBeGreaterThanOrEqual(T0);
    expect(s.stats.durationMs).toBeLessThanOrEqual(5_000);
  }, 120_000);
});
