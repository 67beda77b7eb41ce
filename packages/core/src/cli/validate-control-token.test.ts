/**
 * `run` always starts the control endpoint and refuses a CWTS_CONTROL_TOKEN under 16 characters.
 * It once did so only after composing (every plugin initialized, the venues connected), and
 * validate-config ("exit 0 = usable") and doctor never looked: a deployment whose secret held a
 * short token validated clean and then could not start.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';
import { establishControlToken } from '../risk/control-token.js';
import { checkControlToken } from './doctor/deploy-checks.js';
import { runCommand } from './run.js';
import { validateConfigCommand } from './validate.js';

const CORE = new URL('../../dist/index.js', import.meta.url).href;
const SHORT = { CWTS_CONTROL_TOKEN: 'changeme' };
const GOOD = { CWTS_CONTROL_TOKEN: 'a-long-enough-control-token-0123' };

function config(name: string, extra = ''): { dir: string; cfg: string } {
  const dir = mkdtempSync(join(tmpdir(), `cwts-${name}-`));
  const cfg = join(dir, 'c.toml');
  writeFileSync(cfg, simConfig(name, ANY_PORTS + `[journal]\npath = ${JSON.stringify(join(dir, 'j.db'))}\n` + extra));
  return { dir, cfg };
}

describe('a CWTS_CONTROL_TOKEN that run refuses', () => {
  const saved = { token: process.env.CWTS_CONTROL_TOKEN, dataDir: process.env.CWTS_DATA_DIR };
  afterEach(() => {
    if (saved.token === undefined) delete process.env.CWTS_CONTROL_TOKEN;
    else process.env.CWTS_CONTROL_TOKEN = saved.token;
    if (saved.dataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = saved.dataDir;
  });

  it('validate-config says invalid (exit 1) and why, never the value; a usable or unset token validates', async () => {
    const { cfg } = config('validate-token');
    // what run does with it on every start
    expect(() => establishControlToken({ env: SHORT, dataDir: tmpdir() })).toThrow(/CWTS_CONTROL_TOKEN is too short/);
    for (const fileOnly of [false, true]) {
      const lines: string[] = [];
      expect(await validateConfigCommand({ config: cfg, fileOnly, env: { ...process.env, ...SHORT } }, (l) => lines.push(l))).toBe(1);
      expect(lines[0]).toMatch(/: invalid/);
      expect(lines.join('\n')).toMatch(/error: CWTS_CONTROL_TOKEN is too short .*`run` refuses to start/);
      expect(lines.join('\n')).not.toContain('changeme');
    }
    const { CWTS_CONTROL_TOKEN: _, ...unset } = process.env;
    for (const env of [{ ...process.env, ...GOOD }, unset]) {
      const lines: string[] = [];
      expect(await validateConfigCommand({ config: cfg, fileOnly: true, env }, (l) => lines.push(l)), lines.join('\n')).toBe(0);
    }
  }, 60_000);

  it('doctor: FAIL with the fix, never the value; PASS when usable or unset', () => {
    const short = checkControlToken(SHORT, '/data');
    expect(short).toMatchObject({ id: 'control-token', status: 'FAIL', detail: expect.stringMatching(/too short.*run refuses to start/), fix: expect.stringMatching(/openssl rand/) });
    expect(JSON.stringify(short)).not.toContain('changeme');
    expect(checkControlToken(GOOD, '/data')).toMatchObject({ status: 'PASS' });
    expect(JSON.stringify(checkControlToken(GOOD, '/data'))).not.toContain(GOOD.CWTS_CONTROL_TOKEN);
    expect(checkControlToken({}, '/data')).toMatchObject({ status: 'PASS', detail: expect.stringContaining(join('/data', 'control.token')) });
  });

  it('run refuses it before any plugin initializes', async () => {
    const { dir, cfg } = config('run-token', `[risk_checks.marker]\nplugin = "./marker.mjs"\n`);
    writeFileSync(
      join(dir, 'marker.mjs'),
      `import { writeFileSync } from 'node:fs';
import { TOKENS } from ${JSON.stringify(CORE)};
export const plugin = {
  name: 'marker', kind: 'risk', coreApi: '1.0',
  register({ registrar, instanceName }) { registrar.value(TOKENS.RiskCheck, { name: instanceName, check: () => ({ ok: true }) }); },
  async initialize() { writeFileSync(${JSON.stringify(join(dir, 'initialized'))}, ''); },
};
`,
    );
    process.env.CWTS_CONTROL_TOKEN = SHORT.CWTS_CONTROL_TOKEN;
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    await expect(runCommand({ config: cfg, duration: 1, logLevel: 'silent' })).rejects.toThrow(/CWTS_CONTROL_TOKEN is too short/);
    expect(existsSync(join(dir, 'initialized'))).toBe(false);
  }, 60_000);
});
