import { describe, expect, it } from 'vitest';
import { skipUnlessRequired } from '@cwts/core/testing';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JournalStore } from '../packages/core/src/journal/store.js';

/**
 * deploy/systemd/cwts-ultra-backup.service (+ .timer): the backup job of docs/operations.md. It
 * runs without the trading service's secrets.env, as the user cwts, under ProtectSystem=strict:
 * it must work with only its own Environment= lines, and write only where systemd lets it.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (name: string) => readFileSync(join(root, 'deploy/systemd', name), 'utf8');
const unit = read('cwts-ultra-backup.service');
const timer = read('cwts-ultra-backup.timer');
const main = read('cwts-ultra.service');

/** Key=value lines of a section (last one wins); Environment= lines collected apart. */
function section(text: string, name: string): { keys: Record<string, string>; env: Record<string, string> } {
  const body = text.split(new RegExp(`^\\[${name}\\]$`, 'm'))[1]!.split(/^\[/m)[0]!;
  const keys: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const line of body.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    keys[m[1]!] = m[2]!;
    if (m[1] === 'Environment') {
      const [k, ...v] = m[2]!.split('=');
      env[k!] = v.join('=');
    }
  }
  return { keys, env };
}
const service = section(unit, 'Service');

describe('deploy/systemd/cwts-ultra-backup.service', () => {
  it('runs as the service user, on the same data directory, without the venue keys, writing only its StateDirectories', () => {
    const s = service.keys;
    for (const [k, v] of Object.entries({ User: 'cwts', Group: 'cwts', Type: 'oneshot', NoNewPrivileges: 'true', ProtectSystem: 'strict', ProtectHome: 'true', PrivateTmp: 'true', PrivateNetwork: 'true' })) expect(s[k], k).toBe(v);
    expect(unit).not.toMatch(/^EnvironmentFile=/m);
    expect(service.env.CWTS_DATA_DIR).toBe(section(main, 'Service').env.CWTS_DATA_DIR);
    // Writable under ProtectSystem=strict: the StateDirectories (/var/lib/<name>), nothing else.
    const writable = s.StateDirectory!.split(/\s+/).map((d) => `/var/lib/${d}`);
    expect(writable).toContain(service.env.CWTS_DATA_DIR);
    expect(s.ReadWritePaths).toBeUndefined();
    const out = /--out (\S+)/.exec(s.ExecStart!)![1]!;
    expect(writable.some((d) => out.startsWith(`${d}/`)), out).toBe(true);
    expect(s.ExecStart).toContain('/opt/cwts-ultra/packages/core/bin/cwts-ultra.js journal backup --config /etc/cwts-ultra/production.toml ');
  });

  it('its command, with only the unit\'s environment, backs up the journal of the shipped production.toml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-backup-unit-'));
    const data = join(dir, 'lib', 'cwts-ultra');
    const backups = join(dir, 'lib', 'cwts-ultra-backup');
    const live = JournalStore.open(join(data, 'cwts-ultra-prod.db'));
    live.close();
    // The unit's paths, moved under the test's directory; systemd's %% is a %.
    const script = /^\/bin\/sh -c '(.*)'$/.exec(service.keys.ExecStart!)![1]!
      .replaceAll('%%', '%')
      .replace('/usr/bin/node', process.execPath)
      .replace('/opt/cwts-ultra', root)
      .replace('/etc/cwts-ultra/production.toml', join(root, 'examples/reference-app/config/production.toml'))
      .replaceAll('/var/lib/cwts-ultra-backup', backups)
      .replaceAll('/var/lib/cwts-ultra', data);
    const env = Object.fromEntries(Object.entries(service.env).map(([k, v]) => [k, v.replaceAll('/var/lib/cwts-ultra', data)]));
    const r = spawnSync('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/backed up to .*\/journal-\d{8}T\d{4}\.db .*integrity check ok/);
    const file = /backed up to (\S+) /.exec(r.stdout)![1]!;
    expect(dirname(file)).toBe(backups);
    expect(existsSync(file)).toBe(true);
  });

  it('is started hourly by cwts-ultra-backup.timer, catching up a run missed while the host was down', () => {
    const t = section(timer, 'Timer').keys;
    expect(t).toMatchObject({ OnCalendar: 'hourly', Persistent: 'true', Unit: 'cwts-ultra-backup.service' });
    expect(section(timer, 'Install').keys.WantedBy).toBe('timers.target');
  });

  const hasAnalyze = !spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).error;
  it('both pass `systemd-analyze verify` with no warnings', (ctx) => {
    if (!hasAnalyze) skipUnlessRequired(ctx, 'systemd-analyze', 'systemd-analyze is not installed here (Debian: systemd)');
    const dir = mkdtempSync(join(tmpdir(), 'cwts-unit-'));
    writeFileSync(join(dir, 'cwts-ultra-backup.service'), unit);
    writeFileSync(join(dir, 'cwts-ultra-backup.timer'), timer);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'cwts-ultra-backup.service'), join(dir, 'cwts-ultra-backup.timer')], { encoding: 'utf8', timeout: 60_000 });
    const output = `${r.stdout}${r.stderr}`.trim();
    expect(r.status, output).toBe(0);
    // Paths the unit names that this machine lacks (node elsewhere) are the only tolerated notes.
    expect(output.split('\n').filter((l) => l && !/is not executable|No such file/.test(l)), output).toEqual([]);
  });
});
