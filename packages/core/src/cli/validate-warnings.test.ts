// Review repro: validate-config's new "no backend of [compute] backends can start" exit (c83fdd2)
// returns before the config's warnings and notices are printed, so the one warning that explains
// the refusal (a [compute.<name>] table for a backend the list does not name: ignored) is lost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
