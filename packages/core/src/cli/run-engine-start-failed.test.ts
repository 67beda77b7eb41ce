/**
 * `run` with `[cluster]`: engine.start() fails on its own after the shard joined (a venue's
 * instruments cannot be loaded). run tells the shard through ClusterShard.engineStartFailed (core
 * API 1.13), before its own stop, so the shard can leave the cluster at once: an engine that never
 * restored its journal hands no symbol over. cluster-nats used to find out by wrapping
 * engine.start, which a third-party cluster package could not rely on. A hook that hangs does not
 * keep run from exiting; a start a stop interrupted is not reported (docs/scale-out.md).
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ANY_PORTS } from '../../test/fixtures/sim-config.js';
import { PROCESS_FAULT, runCommand } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const CORE = new URL('../../dist/index.js', import.meta.url).href;

type Calls = { calls: string[]; hook: 'returns' | 'hangs' | 'throws' | 'absent'; loading?: () => void; hooked?: () => void };
const g = globalThis as unknown as { __clusterCalls?: Calls };

/**
 * A cluster package whose shard records what run calls on it (in `globalThis.__clusterCalls`),
 * and a venue whose loadInstruments() fails at once (`now`) or once its client is stopped (`stopped`).
 */
function deployment(dir: string, name: string, until: 'now' | 'stopped'): string {
  writeFileSync(
    join(dir, 'cluster.mjs'),
    `const rec = () => globalThis.__clusterCalls;
class Shard {
  riskChecks = [];
  observer = {};
  async start() { rec().calls.push('start'); }
  async stop() { rec().calls.push('stop'); }
}
if (rec().hook !== 'absent') {
  Shard.prototype.engineStartFailed = function (err) {
    rec().calls.push('engineStartFailed: ' + (err && err.message));
    rec().hooked?.();
    if (rec().hook === 'hangs') return new Promise(() => {});
    if (rec().hook === 'throws') throw new Error('hook broke');
  };
}
export const cluster = {
  apiVersion: 1,
  createShard: () => new Shard(),
  runAggregator: async () => {},
  haltCluster: async () => {},
  resumeCluster: async () => {},
};
`,
  );
  writeFileSync(
    join(dir, 'slow.mjs'),
    `import { TOKENS } from ${JSON.stringify(CORE)};
let stopped; const whenStopped = new Promise((r) => (stopped = r));
class MarketData {
  exchange = 'slow';
  async loadInstruments() {
    globalThis.__clusterCalls.loading?.();
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
[cluster]
plugin = "./cluster.mjs"
shard_id = "s1"
${ANY_PORTS}`,
  );
  return cfg;
}

describe('run: engine.start() failing with a cluster shard joined', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
    delete g.__clusterCalls;
  });

  function run(name: string, hook: Calls['hook'], until: 'now' | 'stopped' = 'now') {
    const dir = mkdtempSync(join(tmpdir(), `cwts-run-shard-${name}-`));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    const rec: Calls = { calls: [], hook };
    const loading = new Promise<void>((r) => (rec.loading = r));
    const hooked = new Promise<void>((r) => (rec.hooked = r));
    g.__clusterCalls = rec;
    const faults = new EventEmitter();
    const running = runCommand({ config: deployment(dir, name, until), logLevel: 'silent', faults, engineStartFailedHookMs: 200 });
    return { rec, loading, hooked, faults, outcome: running.then((code) => ({ code }), (err: Error) => ({ threw: err.message })) };
  }

  it("calls the shard's engineStartFailed with the error, before run's stop stops the shard, and exits with the error", async () => {
    const { rec, faults, outcome } = run('hook', 'returns');
    expect(await outcome).toEqual({ threw: expect.stringContaining('503 Service Unavailable') });
    expect(rec.calls).toEqual(['start', expect.stringMatching(/^engineStartFailed: .*503 Service Unavailable/), 'stop']);
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
  }, 90_000);

  it('a hook that never settles does not keep run from stopping and exiting with the error', async () => {
    const { rec, outcome } = run('hookhangs', 'hangs');
    expect(await outcome).toEqual({ threw: expect.stringContaining('503 Service Unavailable') });
    expect(rec.calls).toEqual(['start', expect.stringMatching(/^engineStartFailed: /), 'stop']);
  }, 90_000);

  it('a hook that throws is logged: run still stops the shard and exits with the start error, not the hook\'s', async () => {
    const { rec, outcome } = run('hookthrows', 'throws');
    expect(await outcome).toEqual({ threw: expect.stringContaining('503 Service Unavailable') });
    expect(rec.calls).toEqual(['start', expect.stringMatching(/^engineStartFailed: /), 'stop']);
  }, 90_000);

  it('a shard without the hook (an older cluster package) is stopped as before', async () => {
    const { rec, outcome } = run('nohook', 'absent');
    expect(await outcome).toEqual({ threw: expect.stringContaining('503 Service Unavailable') });
    expect(rec.calls).toEqual(['start', 'stop']);
  }, 90_000);

  it('a start that a stop interrupted (a process fault) is not reported as a failed start', async () => {
    const { rec, loading, faults, outcome } = run('faulted', 'returns', 'stopped');
    await loading;
    faults.emit('uncaughtException', new Error('boom in a plugin timer'));
    expect(await outcome).toEqual({ code: PROCESS_FAULT });
    expect(rec.calls).toEqual(['start', 'stop']);
  }, 90_000);

  it('a process fault while run waits on the hook exits PROCESS_FAULT (70), as any fault after composition does, not with the start error', async () => {
    // The hook never settles: the fault lands while run awaits it (bounded at 200 ms), and the
    // fault's stop (HALT, cancel, flush) is the one run's own stop joins.
    const { rec, hooked, faults, outcome } = run('hookfault', 'hangs');
    await hooked;
    faults.emit('uncaughtException', new Error('boom in a plugin timer while the shard leaves'));
    expect(await outcome).toEqual({ code: PROCESS_FAULT });
    expect(rec.calls).toEqual(['start', expect.stringMatching(/^engineStartFailed: .*503 Service Unavailable/), 'stop']);
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
  }, 90_000);
});

/**
 * A venue (not simulated) that lists a working order of ours, which reconciliation adopts, and
 * whose market data then fails to start; it never confirms a cancel, so the order is still open
 * when the stop after the failed start ends.
 */
function adoptingVenue(dir: string): string {
  writeFileSync(
    join(dir, 'adopt.mjs'),
    `import { TOKENS, defineInstrument } from ${JSON.stringify(CORE)};
const BTC = defineInstrument({ exchange: 'adopt', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const working = { exchange: 'adopt', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5000000, qty: 10, tif: 'GTC', source: 'earlier', clientOrderId: 'cw-7', venueOrderId: 'V7', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1000, updatedTs: 1000 };
class MarketData {
  exchange = 'adopt';
  async loadInstruments() { return [BTC]; }
  async start() { throw new Error('market data: WebSocket handshake refused (403)'); }
  async stop() {}
}
class Execution {
  exchange = 'adopt';
  simulated = false;
  availability() { return { canTrade: true }; }
  async start() {}
  submit() {}
  cancel() {}
  async openOrders() { return [working]; }
  async queryOrder(o) { return o.clientOrderId === 'cw-7' ? { clientOrderId: 'cw-7', venueOrderId: 'V7', status: 'open', filledQty: 0, fills: [] } : undefined; }
  async stop() {}
}
export const plugin = {
  name: 'adopt-venue', kind: 'exchange', coreApi: '1.0',
  register({ registrar }) {
    registrar.value(TOKENS.MarketDataClient, new MarketData());
    registrar.value(TOKENS.ExecutionClient, new Execution());
  },
};
`,
  );
  const cfg = join(dir, 'c.toml');
  writeFileSync(
    cfg,
    `[system]
name = "adoptfail"
mode = "live"
[exchanges]
enabled = ["adopt"]
[adopt]
plugin = "./adopt.mjs"
api_key = "\${ADOPT_API_KEY}"
api_secret = "\${ADOPT_API_SECRET}"
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

describe('cwts-ultra run (a process): engine.start() failing with an order open', () => {
  it('logs the stop report and the orders left open by id, then exits 1 with the start error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-start-failed-open-'));
    const cfg = adoptingVenue(dir);
    const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data'), ADOPT_API_KEY: 'k', ADOPT_API_SECRET: 's' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b) => (log += String(b)));
    child.stderr.on('data', (b) => (log += String(b)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      expect(await exited, log).toEqual({ code: 1, signal: null });
      expect(log).toContain('WebSocket handshake refused (403)');
      expect(log).toMatch(/stopped: \d+ events, 0 signals, \d+ orders, 0 fills/);
      expect(log).toMatch(/stopped after a failed start with 1 order\(s\) still open: .*adopt:BTCUSDT buy cw-7/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
