import { describe, expect, it } from 'vitest';
import { skipUnlessRequired } from '@cwts/core/testing';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const unitPath = join(root, 'deploy/systemd/cwts-ultra.service');
const unit = readFileSync(unitPath, 'utf8');
/** Key=value lines of [Service] (last one wins, as in systemd for these keys). */
const service = (() => {
  const body = unit.split(/^\[Service\]$/m)[1]!.split(/^\[/m)[0]!;
  const out: Record<string, string> = {};
  for (const line of body.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
})();

const hasAnalyze = !spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error;
function verify(text: string): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-unit-'));
  const p = join(dir, 'cwts-ultra.service');
  writeFileSync(p, text);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', p], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

describe('deploy/systemd/cwts-ultra.service', () => {
  it("keeps the seed's hardening and puts the journal in a StateDirectory that CWTS_DATA_DIR names", () => {
    for (const [k, v] of Object.entries({ NoNewPrivileges: 'true', PrivateTmp: 'true', ProtectSystem: 'strict', ProtectHome: 'true', User: 'cwts' })) expect(service[k], k).toBe(v);
    expect(service.StateDirectory).toBe('cwts-ultra');
    expect(unit).toMatch(/^Environment=CWTS_DATA_DIR=\/var\/lib\/cwts-ultra$/m);
    expect(service.ReadWritePaths).toBe('/var/lib/cwts-ultra');
    // No other writable path, and no address override: metrics and health stay on loopback on a host.
    expect(unit).not.toMatch(/CWTS_BIND_ADDRESS/);
  });

  it('starts the `run` command on the CLI the repository ships', () => {
    const argv = service.ExecStart!.split(/\s+/);
    expect(argv[1]).toBe('/opt/cwts-ultra/packages/core/bin/cwts-ultra.js');
    expect(existsSync(join(root, 'packages/core/bin/cwts-ultra.js'))).toBe(true);
    expect(argv.slice(2, 5)).toEqual(['run', '--config', '/etc/cwts-ultra/production.toml']);
  });

  it('passes `systemd-analyze verify` with no warnings, and a misspelt key does not', (ctx) => {
    if (!hasAnalyze) skipUnlessRequired(ctx, 'systemd-analyze', 'systemd-analyze is not installed here (Debian: systemd)');
    const ok = verify(unit);
    expect(ok.status, ok.output).toBe(0);
    // Paths the unit names that this machine lacks (node elsewhere) are the only tolerated notes.
    expect(ok.output.split('\n').filter((l) => l && !/is not executable|No such file/.test(l)), ok.output).toEqual([]);
    const typo = verify(unit.replace('NoNewPrivileges=true', 'NoNewPrivilegs=true'));
    expect(typo.output).toMatch(/Unknown key 'NoNewPrivilegs'/);
  });
});
