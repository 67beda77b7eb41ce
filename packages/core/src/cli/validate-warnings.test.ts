// Review repro: validate-config's new "no backend of [compute] backends can start" exit (c83fdd2)
// returns before the config's warnings and notices are printed, so the one warning that explains
// the refusal (a [compute.<name>] table for a backend the list does not name: ignored) is lost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import { validateConfigCommand } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-warn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(compute: string): string {
  const p = join(dir, 'c.toml');
  writeFileSync(p, `
[system]
name = "validate-warnings"
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[risk]
max_position = 100000
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[journal]
path = "${join(dir, 'j.db')}"
${compute}
`);
  return p;
}

describe('validate-config: a refused [compute] list still prints the config warnings', () => {
  it('the warning about the ignored [compute.cpu-simd] table is printed with the refusal', async () => {
    // The operator meant cpu-simd but listed only vulkan (gpu_enabled defaults to false).
    const lines: string[] = [];
    const code = await validateConfigCommand({ config: config('[compute]\nbackends = ["vulkan"]\n[compute.cpu-simd]\nisa = "scalar"') }, (l) => lines.push(l));
    expect(code, lines.join('\n')).toBe(1);
    expect(lines.join('\n')).toMatch(/no backend of \[compute\] backends = \[vulkan\] can start/);
    expect(lines.join('\n'), lines.join('\n')).toMatch(/warning: compute\.cpu-simd: settings for backend cpu-simd, which compute\.backends does not list; ignored/);
  }, 60_000);
});

describe('validate-config: values taken from the environment are listed', () => {
  it('CWTS_BIND_ADDRESS, like a venue URL override (docs/venues.md: it works the same way)', async () => {
    const saved = process.env.CWTS_BIND_ADDRESS;
    process.env.CWTS_BIND_ADDRESS = '0.0.0.0';
    const lines: string[] = [];
    try {
      expect(await validateConfigCommand({ config: config('[compute]\nbackends = ["js"]'), fileOnly: true }, (l) => lines.push(l))).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.CWTS_BIND_ADDRESS;
      else process.env.CWTS_BIND_ADDRESS = saved;
    }
    expect(lines).toContain('  monitoring.bind_address from CWTS_BIND_ADDRESS');
  });
});

describe('validate-config: a simulated venue needs no keys, as `run` knows', () => {
  const SIM_TOML = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/reference-app/config/sim.toml');

  it('the reference sim.toml: the sim is not "market data only" and no warning says its orders will be refused', async () => {
    const lines: string[] = [];
    expect(await validateConfigCommand({ config: SIM_TOML }, (l) => lines.push(l))).toBe(0);
    expect(lines).toContain('  venue sim: plugin @cwts/exchange-sim, simulated (paper fills, no credentials needed), symbols BTCUSDT ETHUSDT');
    expect(lines.filter((l) => /orders on this venue will be refused|market data only/.test(l))).toEqual([]);
  }, 60_000);

  it('a real venue without keys keeps "market data only" and its warning', async () => {
    const p = join(dir, 'binance.toml');
    writeFileSync(p, `[system]\nname = "v"\n[exchanges]\nenabled = ["binance", "sim"]\n[binance]\nsymbols = ["BTCUSDT"]\n[sim]\nsymbols = ["BTCUSDT"]\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.95\n[compute]\nbackends = ["js"]\n[journal]\npath = "${join(dir, 'j2.db')}"\n`);
    const lines: string[] = [];
    expect(await validateConfigCommand({ config: p }, (l) => lines.push(l)), lines.join('\n')).toBe(0);
    expect(lines).toContain('  venue binance: plugin @cwts/exchange-binance, no credentials (market data only), symbols BTCUSDT');
    expect(lines).toContain('  warning: binance: no api_key/api_secret; market data only, orders on this venue will be refused');
    expect(lines.filter((l) => l.startsWith('  warning: sim:'))).toEqual([]);
  }, 60_000);

  it('--file-only loads no plugin, so it cannot tell: the warning stays', async () => {
    const lines: string[] = [];
    expect(await validateConfigCommand({ config: config('[compute]\nbackends = ["js"]'), fileOnly: true }, (l) => lines.push(l))).toBe(0);
    expect(lines).toContain('  warning: sim: no api_key/api_secret; market data only, orders on this venue will be refused');
  });
});

describe('validate-config: a [sim] table without symbols', () => {
  it('is refused with the key to set, as `run` would fail at start ("no symbols to simulate")', async () => {
    const p = join(dir, 'no-symbols.toml');
    writeFileSync(p, `[system]\nname = "v"\n[exchanges]\nenabled = ["sim"]\n[sim]\nplugin = "@cwts/exchange-sim"\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.95\n[compute]\nbackends = ["js"]\n`);
    const err = await validateConfigCommand({ config: p }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('sim.symbols: no symbols to simulate; set symbols = ["BTCUSDT", ...] in [sim]');
  }, 60_000);
});
