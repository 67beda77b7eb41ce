import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const production = join(root, 'examples/reference-app/config/production.toml');
const sim = join(root, 'examples/reference-app/config/sim.toml');

const SECRETS = { BINANCE_API_KEY: 'bk-SEKRIT-111', BINANCE_API_SECRET: 'bs-SEKRIT-222', KRAKEN_API_KEY: 'kk-SEKRIT-333', KRAKEN_API_SECRET: 'ks-SEKRIT-444' };

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  const base = { ...process.env };
  for (const k of Object.keys(SECRETS)) delete base[k];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...base, ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

function tempConfig(edit: (text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-cli-'));
  const p = join(dir, 'c.toml');
  writeFileSync(p, edit(readFileSync(sim, 'utf8')));
  return p;
}

describe('cwts-ultra validate-config', () => {
  it('--file-only accepts the seed production.toml with its env vars set, and prints no secret', () => {
    const r = cli(['validate-config', '--file-only', '--config', production], SECRETS);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/valid \(file only: plugins not loaded or checked\)/);
    expect(r.out).toMatch(/coinbase: no api_key\/api_secret; market data only/);
    for (const v of Object.values(SECRETS)) expect(r.out).not.toContain(v);
  });

  it('without --file-only, loads every plugin the seed production.toml names (the four venues) and accepts it', () => {
    const r = cli(['validate-config', '--config', production], SECRETS);
    expect(r.out).not.toContain('is not installed');
    expect(r.code).toBe(0);
    for (const venue of ['binance', 'coinbase', 'kraken', 'bybit']) expect(r.out).toMatch(new RegExp(`venue ${venue}: plugin @cwts/exchange-${venue}`));
    for (const v of Object.values(SECRETS)) expect(r.out).not.toContain(v);
  });

  it('names BINANCE_API_KEY and its key path when it is unset', () => {
    const { BINANCE_API_KEY: _drop, ...rest } = SECRETS;
    const r = cli(['validate-config', '--config', production], rest);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/binance\.api_key: environment variable BINANCE_API_KEY is not set/);
    for (const v of Object.values(rest)) expect(r.out).not.toContain(v);
  });

  it('a misspelt key exits non-zero naming the key path', () => {
    const r = cli(['validate-config', '--config', tempConfig((t) => t.replace('kelly_fraction', 'kelly_fracton'))]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/risk\.kelly_fracton: unknown key \(did you mean kelly_fraction\?\)/);
  });

  it('a wrong type exits non-zero naming the key path', () => {
    const r = cli(['validate-config', '--config', tempConfig((t) => t.replace('thread_pool_size = 2', 'thread_pool_size = "two"'))]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/performance\.thread_pool_size: expected an integer/);
  });

  it('a secret with a wrong type is reported without its value', () => {
    const r = cli(['validate-config', '--config', tempConfig((t) => t.replace('[sim]\n', '[sim]\napi_secret = 12345678\n'))]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/sim\.api_secret/);
    expect(r.out).not.toContain('12345678');
  });

  it('a missing file is a clear error', () => {
    const r = cli(['validate-config', '--config', '/nonexistent/x.toml']);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/x\.toml/);
  });
});

describe('cwts-ultra backends / benchmark / gpu-test', () => {
  it('lists the JS backend as available and says why others are not', () => {
    const r = cli(['backends']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^js\s+cpu\s+0\s+available\s+JavaScript/m);
    // The GPU packages are installed in the workspace: each is listed with its priority, and where
    // it cannot run, with the reason (no GPU in CI; Metal only on macOS).
    for (const [name, priority] of [['cuda', 100], ['rocm', 95], ['metal', 90]] as const) {
      expect(r.out).toMatch(new RegExp(`^${name}\\s+gpu\\s+${priority}\\s+(available\\s+\\S|unavailable\\s+\\S)`, 'm'));
    }
    if (process.platform !== 'darwin') expect(r.out).toMatch(/^metal\s+gpu\s+90\s+unavailable\s+Metal needs macOS \(this is \w+\)$/m);
    expect(r.out).not.toMatch(/not installed \(package @cwts\/backend-(cuda|rocm|metal)\)/);
  });

  it('benchmark measures every seed row from an installed package (no bench/ directory, no tsx)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-bench-'));
    const r = spawnSync(process.execPath, [bin, 'benchmark', '--scale', '0.002'], { cwd: dir, encoding: 'utf8', timeout: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    for (const row of ['Whale Detection', 'HFT Order Execution', 'Atomic Order Matching', 'Cascade Detection', 'Lock-free Buffer', 'Pattern Store SIMD', 'Smart Order Routing', 'Memory Allocation', 'End-to-End Flow']) {
      expect(r.stdout).toMatch(new RegExp(`${row}\\s+[\\d.]+ us\\s+[\\d.]+ us\\s+\\d+ us\\s+(PASS|FAIL)`));
    }
    expect(r.stdout).not.toMatch(/NOT MEASURED|ERROR/);
    expect(JSON.parse(readFileSync(join(dir, 'bench', 'results', 'benchmark.json'), 'utf8')).suite).toBe('benchmark');
  }, 240_000);

  it('unknown command exits non-zero', () => {
    expect(cli(['frobnicate']).code).not.toBe(0);
  });
});
