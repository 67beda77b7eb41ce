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

/** Ten virtual minutes of the synthetic market written in the `run --record` format. */
function writeRecording(path: string, seed: number): void {
  const market = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions({ seed, whale_probability: 0.002 }), startTs: 1_700_000_000_000 });
  const lines: string[] = [];
  market.attach((ev: SimEvent) => lines.push(JSON.stringify(ev)));
  market.begin();
  market.generate(1_700_000_000_000 + 10 * 60_000);
  const header = { kind: RECORDING_KIND, version: RECORDING_VERSION, createdAt: 'test', instruments: market.instruments().map(instrumentSpec) };
  writeFileSync(path, [JSON.stringify(header), ...lines].join('\n') + '\n');
}

describe('replay', () => {
  it('reproduces signals, orders and fills exactly, and a different market gives a different digest', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, readFileSync(join(app, 'config/sim.toml'), 'utf8').replaceAll('"../dist/', `"${app}/dist/`));
    writeRecording(join(dir, 'a.jsonl'), 1);
    writeRecording(join(dir, 'b.jsonl'), 2);
    const replay = (file: string) => {
      const r = spawnSync(process.execPath, [bin, 'replay', '--config', cfg, '--data', join(dir, file), '--json'], { cwd: root, encoding: 'utf8', timeout: 240_000 });
      expect(r.status, r.stderr).toBe(0);
      return JSON.parse(r.stdout.trim()) as { events: number; signals: number; orders: number; fills: number; equity: string; digest: string };
    };
    const a1 = replay('a.jsonl');
    const a2 = replay('a.jsonl');
    expect(a2).toEqual(a1);
    expect(a1.signals).toBeGreaterThan(0);
    expect(a1.orders).toBeGreaterThan(0);
    expect(a1.fills).toBeGreaterThan(0);
    const b = replay('b.jsonl');
    expect(b.digest).not.toBe(a1.digest);
  }, 900_000);

  it('a file that is not a recording is a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-'));
    writeFileSync(join(dir, 'x.jsonl'), 'hello\n');
    const r = spawnSync(process.execPath, [bin, 'replay', '--config', join(app, 'config/sim.toml'), '--data', join(dir, 'x.jsonl'), '--json'], { cwd: root, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/is not a cwts recording/);
  });
});
