/**
 * docs/configuration.md: URL credentials and `${VAR}` values are never shown, and config/redact.ts:
 * each command merges the redactor of the config it loaded. doctor and backends loaded the config
 * without merging it and printed their lines raw, so a backend's validateOptions quoting a `${VAR}`
 * value (as core's own option messages do) printed the password; doctor also marked that backend's
 * check PASS although `run` refuses to start over it. Through the real bin: the masking lives in
 * the CLI's output path (needs `npx tsc -b packages/core`: the bin runs dist).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { simConfig } from '../../../test/fixtures/sim-config.js';

const BIN = fileURLToPath(new URL('../../../bin/cwts-ultra.js', import.meta.url));
const PASS = 'SEKRET-gpu-license-pass-42';
const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-secret-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A third-party compute backend whose validateOptions quotes the value it refuses.
writeFileSync(
  join(dir, 'remote-gpu.mjs'),
  `export const plugin = {
  name: 'acme-remote-gpu', kind: 'backend', coreApi: '1.0',
  register() {},
  validateOptions(o, path) { return [{ path: path + '.endpoint', message: 'expected a port in the URL, got string ' + JSON.stringify(String(o.endpoint)) }]; },
};
`,
);
// No backends list (auto-detect): the deployment's own [compute.remote-gpu] is loaded by run too.
const CONFIG = join(dir, 'c.toml');
writeFileSync(CONFIG, simConfig('doctorsecret').replace('[compute]\nbackends = ["js"]\n', '') + '[compute.remote-gpu]\nplugin = "./remote-gpu.mjs"\nendpoint = "https://trader:${CWTS_TEST_GPU_PASS}@gpu.example"\n');

function cli(args: string[]): { code: number | null; stdout: string; output: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, CWTS_TEST_GPU_PASS: PASS, CWTS_DATA_DIR: join(dir, 'data') }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, output: `${r.stdout}${r.stderr}` };
}

describe('a plugin message quoting a ${VAR} value: masked by every command that loads the config', () => {
  it('validate-config (the reference)', () => {
    const { output } = cli(['validate-config', '--config', CONFIG]);
    expect(output).toMatch(/remote-gpu/);
    expect(output).not.toContain(PASS);
  }, 90_000);

  it('doctor --config', () => {
    const { output } = cli(['doctor', '--config', CONFIG, '--offline']);
    expect(output).toMatch(/compute\.remote-gpu\.endpoint: expected a port in the URL/);
    expect(output).not.toContain(PASS);
  }, 90_000);

  it('doctor --config --json: masked, still valid JSON, and the backends check FAILs (run refuses to start)', () => {
    const { code, stdout, output } = cli(['doctor', '--config', CONFIG, '--offline', '--json']);
    expect(output).not.toContain(PASS);
    const doc = JSON.parse(stdout) as { exitCode: number; checks: { id: string; status: string; detail: string; fix?: string }[] };
    const backends = doc.checks.find((c) => c.id === 'gpu-backends')!;
    expect(backends.detail).toMatch(/remote-gpu: invalid options, `run` refuses them: compute\.remote-gpu\.endpoint: .*https:\/\/\[redacted\]@gpu\.example/);
    expect(backends.status, backends.detail).toBe('FAIL');
    expect(backends.fix).toMatch(/\[compute\.remote-gpu\]/);
    expect(doc.exitCode).toBe(2);
    expect(code).toBe(2);
  }, 90_000);

  it('backends --config', () => {
    const { output } = cli(['backends', '--config', CONFIG]);
    expect(output).toMatch(/remote-gpu .*invalid options/);
    expect(output).not.toContain(PASS);
  }, 90_000);
});
