/**
 * `run` while it starts: composing initializes every plugin (up to [system]
 * plugin_init_timeout_ms each), creates the compute backend, opens the journal and binds the
 * control port. A supervisor's SIGTERM then (systemctl stop, a rollout) or an uncaught error must
 * take the orderly path: startup abandoned, the plugins initialized disposed, a documented exit
 * code, never "killed by the signal" (docs/operations.md). And a startup that fails there is still
 * traced. Plugins are .mjs files that leave marker files or call hooks: every wait is on one of
 * those, never on time.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';
import { PROCESS_FAULT, runCommand } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const CORE = new URL('../../dist/index.js', import.meta.url).href;

/**
 * A risk-check plugin whose initialize() runs `initBody` and whose dispose() leaves
 * `<dir>/<name>.disposed`; `mark(what)` leaves `<dir>/<name>.<what>`.
 */
function riskPlugin(dir: string, name: string, initBody: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(
    file,
    `import { writeFileSync } from 'node:fs';
import { TOKENS } from ${JSON.stringify(CORE)};
const mark = (what) => writeFileSync(${JSON.stringify(join(dir, name))} + '.' + what, '');
export const plugin = {
  name: ${JSON.stringify(name)},
  kind: 'risk',
  coreApi: '1.0',
  register({ registrar, instanceName }) {
    registrar.value(TOKENS.RiskCheck, { name: instanceName, check: () => ({ ok: true }) });
  },
  async initialize(ctx) {
    ${initBody}
  },
  async dispose() { mark('disposed'); },
};
`,
  );
  return file;
}

/** Initializes until its signal aborts (a venue handshake that takes a while), leaving `initializing` and then `aborted`. */
const UNTIL_ABORTED = `mark('initializing');
    await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => { mark('aborted'); reject(new Error('handshake cancelled')); }));
    mark('initialized');`;

function spawnRun(dir: string, cfg: string) {
  const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { log: '' };
  child.stdout.on('data', (b) => (out.log += String(b)));
  child.stderr.on('data', (b) => (out.log += String(b)));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
  return { child, out, exited };
}

describe('cwts-ultra run (a process): SIGTERM while plugins initialize', () => {
  it('abandons startup: the plugin initializing is told by its signal, those initialized are disposed, and the process exits 0 by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-init-sigterm-'));
    // `first` initializes at once (it opened a session); `second` is still initializing when the signal comes.
    riskPlugin(dir, 'first', `mark('initialized');`);
    riskPlugin(dir, 'second', UNTIL_ABORTED);
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('initsig', ANY_PORTS) + `[risk_checks.first]\nplugin = "./first.mjs"\n[risk_checks.second]\nplugin = "./second.mjs"\n`);
    const { child, out, exited } = spawnRun(dir, cfg);
    try {
      for (let i = 0; i < 2400 && !existsSync(join(dir, 'second.initializing')) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
      expect(existsSync(join(dir, 'second.initializing')), out.log).toBe(true);
      expect(existsSync(join(dir, 'first.initialized')), out.log).toBe(true);
      child.kill('SIGTERM');
      // the process ends by itself (the bin only sets the exit code): nothing was left listening or ticking
      expect(await exited, out.log).toEqual({ code: 0, signal: null });
      expect(existsSync(join(dir, 'second.aborted')), out.log).toBe(true);
      expect(existsSync(join(dir, 'second.initialized')), out.log).toBe(false);
      expect(existsSync(join(dir, 'first.disposed')), out.log).toBe(true);
      expect(out.log).toMatch(/stopped during startup \(SIGTERM\): nothing was trading/);
      // nothing after the plugins started: no control endpoint, no metrics or health endpoint
      expect(out.log).not.toMatch(/risk control endpoint on|metrics on http/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});

describe('run: an error no handler caught while plugins initialize', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
    delete (globalThis as Record<string, unknown>).__runStartupFault;
  });

  it('abandons startup, disposes the plugins initialized and exits PROCESS_FAULT (Node would have ended the process at once)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-init-fault-'));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    riskPlugin(dir, 'first', `mark('initialized');`);
    riskPlugin(dir, 'second', `globalThis.__runStartupFault.initializing();\n    ${UNTIL_ABORTED}`);
    const initializing = new Promise<void>((r) => ((globalThis as Record<string, unknown>).__runStartupFault = { initializing: r }));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('initfault', ANY_PORTS) + `[risk_checks.first]\nplugin = "./first.mjs"\n[risk_checks.second]\nplugin = "./second.mjs"\n`);
    const faults = new EventEmitter();
    const running = runCommand({ config: cfg, logLevel: 'silent', faults });
    await initializing;
    // a plugin's timer throws while `second` initializes
    faults.emit('uncaughtException', new Error('boom in a plugin timer'));
    expect(await running).toBe(PROCESS_FAULT);
    expect(existsSync(join(dir, 'second.aborted'))).toBe(true);
    expect(existsSync(join(dir, 'first.disposed'))).toBe(true);
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
  }, 90_000);
});

describe('cwts-ultra run (a process) with enable_tracing: a startup that fails in composition', () => {
  it('exports the startup span, marked as an error with why', async () => {
    const spans: { name: string; status?: number; message?: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { name: string; status?: { code?: number; message?: string } }[] }[] }[] };
          for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push({ name: sp.name, status: sp.status?.code, message: sp.status?.message });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const dir = mkdtempSync(join(tmpdir(), 'cwts-run-trace-fail-'));
      // a venue session that cannot be opened: initialize() throws (INITIALIZE_FAILED)
      riskPlugin(dir, 'broken', `throw new Error('venue session refused');`);
      const cfg = join(dir, 'c.toml');
      writeFileSync(
        cfg,
        simConfig('tracefail', ANY_PORTS.replace('control_port = 0', `control_port = 0\nenable_tracing = true\ntracing_endpoint = "http://127.0.0.1:${port}"`)) +
          `[risk_checks.broken]\nplugin = "./broken.mjs"\n`,
      );
      const { out, exited } = spawnRun(dir, cfg);
      // tracing's shutdown flushes the spans before run returns, so they have arrived by the exit
      expect((await exited).code, out.log).toBe(2);
      expect(out.log).toMatch(/broken \(broken\): initialize\(\) failed: venue session refused/);
      const startup = spans.find((x) => x.name === 'startup');
      expect(startup, `spans received: ${JSON.stringify(spans)}; log:\n${out.log}`).toBeDefined();
      expect(startup!.status).toBe(2); // SpanStatusCode.ERROR
      expect(startup!.message).toMatch(/venue session refused/);
      expect(spans.find((x) => x.name === 'compose')?.status).toBe(2);
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 90_000);
});

async function waitForFile(path: string, child: { exitCode: number | null }): Promise<void> {
  for (let i = 0; i < 2400 && !existsSync(path) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 25));
}

describe('cwts-ultra run (a process): SIGTERM while the compute backend is chosen', () => {
  it('no compute backend is created after the stop abandoned startup (a GPU context opened for nothing, and a stop that waits for it)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-backend-sigterm-'));
    const mark = (what: string) => JSON.stringify(join(dir, what));
    // A GPU-like backend whose probe() is slow (a driver query); here it answers when the
    // process gets SIGTERM (after run's own listener saw it), so the order is deterministic.
    writeFileSync(
      join(dir, 'slowgpu.mjs'),
      `import { writeFileSync } from 'node:fs';
import { TOKENS } from ${JSON.stringify(CORE)};
const device = { name: 'Slow GPU', type: 'discrete-gpu' };
const provider = {
  name: 'slowgpu', priority: 10, gpu: false,
  probe() {
    writeFileSync(${mark('probing')}, '');
    // the driver call in progress holds the event loop (as a real one's handle does)
    const busy = setInterval(() => {}, 1000);
    return new Promise((resolve) => process.once('SIGTERM', () => { clearInterval(busy); resolve({ available: true, device }); }));
  },
  async create() {
    writeFileSync(${mark('created')}, '');
    return { name: 'slowgpu', device, capabilities: { kernels: [], syncKernels: false, deviceMemory: false, maxBufferBytes: 0, float64: false }, async dispose() { writeFileSync(${mark('disposed')}, ''); } };
  },
};
export const plugin = { name: 'acme-slowgpu', kind: 'backend', coreApi: '1.0', register(ctx) { ctx.registrar.value(TOKENS.ComputeBackendProvider, provider); } };
`,
    );
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('revbackend', ANY_PORTS).replace('backends = ["js"]', 'backends = ["slowgpu", "js"]') + `[compute.slowgpu]\nplugin = "./slowgpu.mjs"\n`);
    const { child, out, exited } = spawnRun(dir, cfg);
    try {
      await waitForFile(join(dir, 'probing'), child);
      expect(existsSync(join(dir, 'probing')), out.log).toBe(true);
      child.kill('SIGTERM');
      expect(await exited, out.log).toEqual({ code: 0, signal: null });
      expect(out.log).toMatch(/stopped during startup \(SIGTERM\)/);
      // The stop came before create(): startup was abandoned, so nothing more should start.
      expect(existsSync(join(dir, 'created')), `create() ran after SIGTERM; log:\n${out.log}`).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  }, 90_000);
});
