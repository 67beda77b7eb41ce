import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-damaged-report-'));
const pageWarnings = (html: string) => [...html.matchAll(/<p class="warning">([^<]*)<\/p>/g)].map((m) => m[1]);

describe('replay --report over a damaged or empty recording', () => {
  it('the page says the recording is damaged, as report --journal --data does (a shared page must not look clean), with --allow-damaged too', async () => {
    const rec = writeSimRecording(join(dir, 'rec.jsonl'), { seed: 3, seconds: 2 });
    const lines = readFileSync(rec, 'utf8').split('\n');
    // one unreadable line in the middle: replay counts it malformed and exits 3
    lines.splice(Math.floor(lines.length / 2), 0, 'not json at all');
    writeFileSync(rec, lines.join('\n'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('damaged'));
    const out = join(dir, 'r.html');
    const errs: string[] = [];
    expect(await replayCommand({ config: cfg, data: rec, json: true, report: out, err: (l) => errs.push(l) }, () => {})).toBe(3);
    expect(errs.join('\n')).toMatch(/1 malformed/);
    expect(pageWarnings(readFileSync(out, 'utf8'))).toEqual([`${rec} is damaged (1 malformed, 0 skipped, 0 out of order, 0 truncated); the results cover only its valid records`]);

    // accepted with --allow-damaged: exit 0, and the page still says so (the same words as stderr)
    const allowed: string[] = [];
    const out2 = join(dir, 'r2.html');
    expect(await replayCommand({ config: cfg, data: rec, json: true, report: out2, allowDamaged: true, err: (l) => allowed.push(l) }, () => {})).toBe(0);
    expect(allowed).toEqual([`cwts-ultra replay: warning: ${pageWarnings(readFileSync(out2, 'utf8'))[0]}`]);
  }, 60_000);

  it('a clean recording gives a page without warnings', async () => {
    const rec = writeSimRecording(join(dir, 'clean.jsonl'), { seed: 3, seconds: 2 });
    const cfg = join(dir, 'c3.toml');
    writeFileSync(cfg, simConfig('clean'));
    const out = join(dir, 'clean.html');
    expect(await replayCommand({ config: cfg, data: rec, json: true, report: out, err: () => {} }, () => {})).toBe(0);
    expect(pageWarnings(readFileSync(out, 'utf8'))).toEqual([]);
  }, 60_000);

  it('a recording with no events is refused (as report --journal refuses an empty journal), not reported as a clean session of zero length in 1970', async () => {
    const rec = writeSimRecording(join(dir, 'empty.jsonl'), { seed: 3, seconds: 1 });
    writeFileSync(rec, readFileSync(rec, 'utf8').split('\n')[0] + '\n');
    const cfg = join(dir, 'c2.toml');
    writeFileSync(cfg, simConfig('empty'));
    const out = join(dir, 'empty.html');
    await expect(replayCommand({ config: cfg, data: rec, json: true, report: out, err: () => {} }, () => {})).rejects.toThrow(/has no market event \(its header only\?\): there is no session to replay or report; no report was written/);
    expect(existsSync(out)).toBe(false);
    // every line unreadable: said so
    writeFileSync(rec, readFileSync(rec, 'utf8') + 'not json\n');
    await expect(replayCommand({ config: cfg, data: rec, json: true, err: () => {} }, () => {})).rejects.toThrow(/has no market event it could read \(1 malformed/);
  }, 60_000);
});
