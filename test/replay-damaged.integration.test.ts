import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instrumentSpec, RECORDING_KIND, RECORDING_VERSION } from '@cwts/core/engine';
import { resolveSimOptions, SyntheticMarket, type SimEvent } from '@cwts/exchange-sim';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-damaged-'));

/** Two virtual minutes of the synthetic market in the `run --record` format, as lines. */
function recordingLines(): string[] {
  const market = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions({ seed: 7, whale_probability: 0.01 }), startTs: 1_700_000_000_000 });
  const lines: string[] = [];
  market.attach((ev: SimEvent) => lines.push(JSON.stringify(ev)));
  market.begin();
  market.generate(1_700_000_000_000 + 2 * 60_000);
  const header = { kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: 'test', instruments: market.instruments().map(instrumentSpec) };
  return [JSON.stringify(header), ...lines];
}

interface Summary { events: number; fills: number; digest: string; malformed: number; skipped: number; outOfOrder: number; truncated: number }

describe('replay of a damaged recording', () => {
  const cfg = join(dir, 'c.toml');
  writeFileSync(cfg, readFileSync(join(app, 'config/sim.toml'), 'utf8').replaceAll('"../dist/', `"${app}/dist/`));
  const lines = recordingLines();
  const clean = join(dir, 'clean.jsonl');
  writeFileSync(clean, lines.join('\n') + '\n');
  const replay = (file: string, ...flags: string[]) => {
    const r = spawnSync(process.execPath, [bin, 'replay', '--config', cfg, '--data', file, '--json', ...flags], { cwd: root, timeout: 120_000 });
    const stdout = r.stdout.toString('utf8');
    return { status: r.status, stderr: r.stderr.toString('utf8'), summary: (stdout.trim() ? JSON.parse(stdout.trim()) : undefined) as Summary };
  };

  it('a clean recording: exit 0 and zero counts', () => {
    const r = replay(clean);
    expect(r.status, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(r.summary.events).toBeGreaterThan(1000);
  }, 120_000);

  it('a non-JSON line, a binary line and a negative-price trade: counted, exit 3, or 0 with a warning under --allow-damaged', () => {
    const firstTrade = lines.findIndex((l) => l.includes('"type":"trade"'));
    const negative = JSON.stringify({ ...JSON.parse(lines[firstTrade]!), price: -43_000, tradeId: 'negative' });
    const cut = Math.max(firstTrade + 1, 50);
    const text = Buffer.concat([
      Buffer.from([...lines.slice(0, cut), 'not json at all', negative].join('\n') + '\n'),
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x7b, 0x0a]),
      Buffer.from(lines.slice(cut).join('\n') + '\n'),
    ]);
    const damaged = join(dir, 'damaged.jsonl');
    writeFileSync(damaged, text);
    const base = replay(clean).summary;
    const r = replay(damaged);
    expect(r.status).toBe(3);
    expect(r.summary).toMatchObject({ malformed: 3, skipped: 0, outOfOrder: 0, truncated: 0 });
    // the valid records are the clean file's: the same results, now flagged
    expect(r.summary.digest).toBe(base.digest);
    expect(r.stderr).toMatch(/damaged\.jsonl is damaged \(3 malformed, 0 skipped, 0 out of order, 0 truncated\).*--allow-damaged/);
    const allowed = replay(damaged, '--allow-damaged');
    expect(allowed.status).toBe(0);
    expect(allowed.summary).toMatchObject({ malformed: 3, truncated: 0, digest: base.digest });
    expect(allowed.stderr).toMatch(/warning: .*damaged\.jsonl is damaged \(3 malformed/);
  }, 240_000);

  it('a recording cut in half: truncated, exit 3', () => {
    const full = readFileSync(clean);
    const half = join(dir, 'half.jsonl');
    writeFileSync(half, full.subarray(0, Math.floor(full.length / 2)));
    const r = replay(half);
    expect(r.status).toBe(3);
    expect(r.summary).toMatchObject({ malformed: 0, truncated: 1 });
    expect(r.stderr).toMatch(/half\.jsonl is damaged \(0 malformed, 0 skipped, 0 out of order, 1 truncated\)/);
  }, 120_000);
});
