/**
 * `run` stopped while `engine.start()` waits on a venue (loading instruments, a snapshot). The stop
 * (a supervisor's SIGTERM, the orderly stop after a process fault) stops the venue clients, and a
 * real adapter's pending request then rejects (an aborted fetch, a closed limiter, a socket closed
 * under it), so `engine.start()` rejects. That rejection is the stop's doing: run ends as the stop
 * does (0, or PROCESS_FAULT after a fault), never as a failed startup (exit 1); a start that fails
 * on its own still is one (docs/operations.md). The venue plugin leaves a marker file or calls a
 * hook when it starts waiting: every wait is on one of those, never on time.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ANY_PORTS } from '../../test/fixtures/sim-config.js';
import { PROCESS_FAULT, runCommand } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const CORE = new URL('../../dist/index.js', import.meta.url).href;

/**
 * A venue `slow` whose loadInstruments() leaves `<dir>/slow.loading` and calls
 * `globalThis.__slowLoading`, then fails: once its client is stopped, as an aborted request does
 * (`until = 'stopped'`), or at once, as a venue that refuses (`until = 'now'`).
 */
function slowVenue(dir: string, until: 'stopped' | 'now'): void {
  writeFileSync(
    join(dir, 'slow.mjs'),
    `import { writeFileSync } from 'node:fs';
import { TOKENS } from ${JSON.stringify(CORE)};
const mark = (what) => writeFileSync(${JSON.stringify(join(dir, 'slow'))} + '.' + what, '');
let stopped; const whenStopped = new Promise((r) => (stopped = r));
class MarketData {
  exchange = 'slow';
  async loadInstruments() {
    mark('loading');
    globalThis.__slowLoading?.();
    ${until === 'stopped' ? `await whenStopped; throw new Error('GET /exchangeInfo aborted: client stopped');` : `throw new Error('GET /exchangeInfo: 503 Service Unavailable');`}
  }
  async start() {}
  async stop() { stopped(); }
}
class Execution {
  exchange = 'slow';
  simulated = true;
  availability() { return { canTrade: true }; }
  async start() {}
  submit() {}
  cancel() {}
  async openOrders() { return []; }
  async stop() {}
}
export const plugin = {
  name: 'slow-venue', kind: 'exchange', coreApi: '1.0',
  register({ registrar }) {
    registrar.value(TOKENS.MarketDataClient, new MarketData());
    registrar.value(TOKENS.ExecutionClient, new Execution());
  },
};
`,
  );
}

function slowConfig(dir: string, name: string): string {
  const cfg = join(dir, 'c.toml');
  writeFileSync(
    cfg,
    `[system]
name = ${JSON.stringify(name)}
[exchanges]
enabled = ["slow"]
[slow]
plugin = "./slow.mjs"
symbols = ["BTCUSDT"]
[risk]
max_position = 100000
max_drawdown = 0.15
var_confidence = 0.99
[compute]
backends = ["js"]
${ANY_PORTS}`,
  );
  return cfg;
}

describe('cwts-ultra run (a process): SIGTERM while the engine starts', () => {
  it('the venue request the stop aborts does not make it a failed startup: the process exits 0 by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-start-sigterm-'));
    slowVenue(dir, 'stopped');
    const cfg = slowConfig(dir, 'startsig');
    const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b) => (log += String(b)));
    child.stderr.on('data', (b) => (log += String(b)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      for (let i = 0; i < 2400 && !existsSync(join(dir, 'slow.loading')) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
      expect(existsSync(join(dir, 'slow.loading')), log).toBe(true);
      child.kill('SIGTERM');
      expect(await exited, log).toEqual({ code: 0, signal: null });
      expect(log).toContain('start interrupted by the stop: GET /exchangeInfo aborted: client stopped');
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});

describe('run: the engine starting', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
    delete (globalThis as Record<string, unknown>).__slowLoading;
  });

  function start(until: 'stopped' | 'now', name: string) {
    const dir = mkdtempSync(join(tmpdir(), `cwts-run-start-${name}-`));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    slowVenue(dir, until);
    const loading = new Promise<void>((r) => ((globalThis as Record<string, unknown>).__slowLoading = r));
    const faults = new EventEmitter();
    const running = runCommand({ config: slowConfig(dir, name), logLevel: 'silent', faults });
    return { loading, faults, outcome: running.then((code) => ({ code }), (err: Error) => ({ threw: err.message })) };
  }

  it('a process fault meanwhile: PROCESS_FAULT (70), not a thrown startup error (exit 1)', async () => {
    const { loading, faults, outcome } = start('stopped', 'faultstart');
    await loading;
    faults.emit('uncaughtException', new Error('boom in a plugin timer'));
    expect(await outcome).toEqual({ code: PROCESS_FAULT });
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
  }, 90_000);

  it('a start that fails on its own, with no stop under way, is still a failed startup', async () => {
    const { faults, outcome } = start('now', 'failstart');
    expect(await outcome).toEqual({ threw: expect.stringContaining('503 Service Unavailable') });
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
  }, 90_000);
});
