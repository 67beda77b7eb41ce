import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The runbooks (docs/operations.md) send the on-call operator to `cwts-ultra doctor --config F`
// while the app runs (JournalWriteFailed, BookNotSynced, LatencyBudgetExceeded, RiskStateUnknown).
// Run against the deployment's own running engine, doctor once FAILed every port (exit 2) with
// "stop what holds the port": on-call told to stop the trading engine in the middle of an incident.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-running-'));
const dataDir = join(dir, 'data');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

describe('doctor against the running deployment (as the runbook uses it)', () => {
  it('does not FAIL the ports check on ports held by this deployment\'s own running engine', async () => {
    const [mp, hp, cp] = [await freePort(), await freePort(), await freePort()];
    const t = readFileSync(join(app, 'config/sim.toml'), 'utf8')
      .replace('metrics_port = 9090', `metrics_port = ${mp}`)
      .replace('health_check_port = 8080', `health_check_port = ${hp}`)
      .replace('control_port = 8081', `control_port = ${cp}`)
      .replaceAll('"../dist/', `"${app}/dist/`);
    const cfg = join(dir, 'sim.toml');
    writeFileSync(cfg, t);
    const env = { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dataDir };
    delete env.CWTS_CONTROL_TOKEN;
    delete env.CWTS_BIND_ADDRESS;
    const child = spawn(process.execPath, [bin, 'run', '--config', cfg], { cwd: dir, env });
    children.push(child);
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const end = Date.now() + 60_000;
    while (!/ running in paper mode/.test(log) && Date.now() < end && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    expect(log).toMatch(/ running in paper mode/);

    const doc = spawnSync(process.execPath, [bin, 'doctor', '--config', cfg, '--offline', '--json'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    const out = JSON.parse(doc.stdout) as { exitCode: number; checks: { id: string; status: string; detail: string; fix?: string }[] };
    const journal = out.checks.find((c) => c.id === 'journal-location')!;
    const ports = out.checks.find((c) => c.id === 'ports')!;
    const pid = /in use by another cwts-ultra process: pid (\d+)/.exec(journal.detail)?.[1];
    expect(Number(pid), journal.detail).toBe(child.pid);
    expect(ports, `${ports.detail} / fix: ${ports.fix}`).toMatchObject({
      status: 'PASS',
      detail: `metrics_port 127.0.0.1:${mp} held by the running engine pid ${pid} (the journal's writer); health_check_port 127.0.0.1:${hp} held by the running engine pid ${pid} (the journal's writer); control_port 127.0.0.1:${cp} held by the running engine pid ${pid} (the journal's writer)`,
    });
    expect(out.exitCode).not.toBe(2);

    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }, 120_000);
});
