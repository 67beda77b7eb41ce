// SIGHUP (a closed terminal, a supervisor's hangup) stops `run` through the same orderly path as
// SIGTERM: stop intake, cancel or keep open orders, flush the journal, exit 0.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const dir = mkdtempSync(join(tmpdir(), 'cwts-signals-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function config(name: string): { path: string; journal: string } {
  const journal = join(dir, `${name}.jsonl`);
  const path = join(dir, `${name}.toml`);
  writeFileSync(path, `
[system]
name = "signals-${name}"
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
[compute]
backends = ["js"]
[journal]
path = "${journal}"
`);
  return { path, journal };
}

/** Starts `run`, waits until it is running, sends `signal`, and returns how it ended. */
async function runAndSignal(signal: NodeJS.Signals): Promise<{ code: number | null; killedBy: NodeJS.Signals | null; log: string; journal: string }> {
  const cfg = config(signal.toLowerCase());
  const child = spawn(process.execPath, [bin, 'run', '--config', cfg.path], { cwd: root, env: { ...process.env, CWTS_LOG_FORMAT: 'json' } });
  children.push(child);
  let log = '';
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const exited = new Promise<{ code: number | null; killedBy: NodeJS.Signals | null }>((res) => child.once('exit', (code, sig) => res({ code, killedBy: sig })));
  // Event-driven: the signal goes out once the process logs that it is running (no wall-time guess).
  await new Promise<void>((res, rej) => {
    const onData = () => {
      if (/running in paper mode/.test(log)) {
        child.stdout.off('data', onData);
        res();
      }
    };
    child.stdout.on('data', onData);
    void exited.then(() => rej(new Error(`run exited before it was running:\n${log}`)));
  });
  child.kill(signal);
  const end = await exited;
  return { ...end, log, journal: cfg.journal };
}

describe('run stops in order on', () => {
  for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
    it(`${signal}: stop intake, flush, exit 0`, async () => {
      const r = await runAndSignal(signal);
      expect(r.killedBy, r.log).toBeNull();
      expect(r.code, r.log).toBe(0);
      expect(r.log).toContain(`"msg":"stopping: ${signal}"`);
      expect(r.log).toMatch(/"msg":"stopped: \d+ events/);
      expect(existsSync(r.journal)).toBe(true);
    }, 60_000);
  }
});
