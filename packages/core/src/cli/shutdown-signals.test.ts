import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';
import { STOPPED_WITH_OPEN_ORDERS } from './run.js';
import { listenForShutdown, SHUTDOWN_SIGNALS } from './shutdown-signals.js';

describe('listenForShutdown', () => {
  it('keeps its listeners until closed: every signal, the repeats too, reaches the handler', () => {
    const source = new EventEmitter();
    const seen: string[] = [];
    const close = listenForShutdown((sig) => seen.push(sig), source);
    for (const sig of SHUTDOWN_SIGNALS) expect(source.listenerCount(sig), sig).toBe(1);
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGINT', 'SIGINT');
    source.emit('SIGHUP', 'SIGHUP');
    expect(seen).toEqual(['SIGINT', 'SIGINT', 'SIGHUP']);
    // still listening after the repeats: with `once`, Node's default action would take the next one
    for (const sig of SHUTDOWN_SIGNALS) expect(source.listenerCount(sig), sig).toBe(1);
    close();
    for (const sig of SHUTDOWN_SIGNALS) expect(source.listenerCount(sig), sig).toBe(0);
  });
});

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const STRATEGY = fileURLToPath(new URL('../../dist/cli/load-test/load-strategy.js', import.meta.url));

/**
 * Ctrl-C pressed again, a closed terminal's second SIGHUP, an operator repeating `kill`: a signal
 * that arrives while the orderly stop waits for cancel confirmations must not kill the process
 * (orders left working, the journal's last batch unwritten, no exit code).
 */
describe('cwts-ultra run (a process): repeated signals during the orderly stop', () => {
  it('are logged as "already stopping"; the stop completes and run exits with its own code (3: cancels unconfirmed)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-signals-'));
    const cfg = join(dir, 'c.toml');
    // The venue answers no order within a minute: the stop waits (5 s) for cancels it never gets.
    writeFileSync(cfg, simConfig('sig', ANY_PORTS) + `[sim.options]\nlatency_ms = 60000\n[strategy]\nplugin = ${JSON.stringify(STRATEGY)}\nmax_outstanding = 2\n`);
    const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b) => (log += String(b)));
    child.stderr.on('data', (b) => (log += String(b)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    const until = async (what: string, done: () => boolean | Promise<boolean>) => {
      for (let i = 0; i < 600; i++) {
        if (await done()) return;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`never saw ${what}; log:\n${log}`);
    };
    try {
      await until('the engine running', () => /running in paper mode/.test(log));
      // orders out (the load strategy sends on the first book updates), read from /metrics
      const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(log)![1];
      await until('an order sent', async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return text.split('\n').some((l) => l.startsWith('cwts_orders_total{') && Number(l.split(' ').pop()) > 0);
      });
      child.kill('SIGINT');
      await until('the stop under way', () => /stopping: SIGINT/.test(log));
      // inside the stop's 5 s wait for cancel confirmations: Ctrl-C again, then a SIGTERM
      child.kill('SIGINT');
      await until('the repeat acknowledged', () => /SIGINT received: already stopping/.test(log));
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: STOPPED_WITH_OPEN_ORDERS, signal: null });
      expect(log).toMatch(/SIGTERM received: already stopping/);
      expect(log).toMatch(/stopped with \d+ order\(s\) still open/);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});

/**
 * After run has returned, the process may still wind down (a plugin's timer, a socket closing)
 * while run's own listeners are gone: a signal then must end it with run's exit code, which a
 * supervisor reads, not as killed by the signal.
 */
describe('cwts-ultra (a process): a signal after run has returned, while the process winds down', () => {
  it('ends the process at once with run\'s exit code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-late-signal-'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('late', ANY_PORTS));
    const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
    // main as the bin calls it, then something that keeps the process alive (a lingering handle)
    const script = `const { main } = await import(${JSON.stringify(MAIN)});
const code = await main(['node', 'cwts-ultra', 'run', '--config', ${JSON.stringify(cfg)}, '--duration', '0.2']);
process.exitCode = code;
setInterval(() => {}, 1000);
process.stdout.write('returned ' + code + '\\n');`;
    // a file, not -e: worker threads would inherit --input-type
    const file = join(dir, 'late.mjs');
    writeFileSync(file, script);
    const child = spawn(process.execPath, [file], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => (out += String(b)));
    child.stderr.on('data', (b) => (out += String(b)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    try {
      for (let i = 0; i < 600 && !/returned \d+/.test(out) && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
      expect(out).toMatch(/returned 0/);
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
