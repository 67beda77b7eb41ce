import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { recordingTargetProblem } from '../engine/recorder.js';
import { EventEmitter } from 'node:events';
import { JournalStore, loadContents } from '../journal/store.js';
import { PROCESS_FAULT, runCommand, STOPPED_WITH_OPEN_ORDERS } from './run.js';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';

const CONFIG = simConfig('rec', ANY_PORTS);

const SQLITE = 'SQLite format 3\0 and the rest of a journal';

/**
 * `run --record F` truncates F when the engine starts, after the journal is open. A `--record`
 * that names the deployment's journal (`<data dir>/<system.name>.db`) would wipe it under the
 * running engine: positions, open orders, HALT and the client-id sequence gone. Refused before
 * anything is composed, as is any existing file unless --force-record.
 */
describe('run --record: what a recording may overwrite', () => {
  let dir: string;
  let data: string;
  let cfg: string;
  const savedDataDir = process.env.CWTS_DATA_DIR;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'cwts-run-record-'));
    data = join(dir, 'data');
    mkdirSync(data);
    process.env.CWTS_DATA_DIR = data;
    cfg = join(dir, 'c.toml');
    writeFileSync(cfg, CONFIG);
  });
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
  });

  it("never the deployment's own journal, nor its -wal or -shm, and --force-record does not change that", async () => {
    const journal = join(data, 'rec.db');
    writeFileSync(journal, SQLITE);
    await expect(runCommand({ config: cfg, record: journal, logLevel: 'silent' })).rejects.toThrow(/is the journal/);
    await expect(runCommand({ config: cfg, record: journal, forceRecord: true, logLevel: 'silent' })).rejects.toThrow(/is the journal/);
    await expect(runCommand({ config: cfg, record: `${journal}-wal`, forceRecord: true, logLevel: 'silent' })).rejects.toThrow(/is the journal .*-wal/);
    expect(readFileSync(journal, 'utf8')).toBe(SQLITE);
  });

  it('the journal through another spelling of its path: a symbolic link, a relative path, a journal not created yet', () => {
    const journal = join(data, 'rec.db');
    symlinkSync(data, join(dir, 'link'));
    expect(recordingTargetProblem(join(dir, 'link', 'rec.db'), { journal, overwrite: true })).toMatch(/is the journal/);
    expect(recordingTargetProblem(join(data, '..', 'data', 'rec.db-shm'), { journal, overwrite: true })).toMatch(/is the journal/);
    writeFileSync(journal, SQLITE);
    expect(recordingTargetProblem(join(dir, 'link', 'rec.db'), { journal, overwrite: true })).toMatch(/is the journal/);
  });

  it('an existing file only with --force-record; a new or empty file always', async () => {
    const old = join(dir, 'yesterday.jsonl');
    writeFileSync(old, '{"kind":"cwts-recording"}\n');
    await expect(runCommand({ config: cfg, record: old, logLevel: 'silent' })).rejects.toThrow(/exists .*--force-record/);
    expect(readFileSync(old, 'utf8')).toBe('{"kind":"cwts-recording"}\n');
    const journal = join(data, 'rec.db');
    expect(recordingTargetProblem(old, { journal, overwrite: true })).toBeUndefined();
    expect(recordingTargetProblem(join(dir, 'new.jsonl'), { journal })).toBeUndefined();
    writeFileSync(join(dir, 'empty.jsonl'), '');
    expect(recordingTargetProblem(join(dir, 'empty.jsonl'), { journal })).toBeUndefined();
    expect(recordingTargetProblem(dir, { journal, overwrite: true })).toMatch(/is a directory/);
  });
});

/**
 * `on_shutdown = "cancel"` promises that a stop leaves no order working. When the venues do not
 * confirm the cancels within the engine's wait, the stop is not clean: a supervisor must see it.
 */
describe('run: cancels not confirmed at shutdown', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
  });

  it('exits with STOPPED_WITH_OPEN_ORDERS instead of 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-open-'));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    const strategy = fileURLToPath(new URL('../../dist/cli/load-test/load-strategy.js', import.meta.url));
    const cfg = join(dir, 'c.toml');
    // The venue answers nothing within a minute: every order is still open when run stops.
    writeFileSync(cfg, CONFIG.replace('symbols = ["BTCUSDT"]', 'symbols = ["BTCUSDT"]\n[sim.options]\nlatency_ms = 60000') + `[strategy]\nplugin = ${JSON.stringify(strategy)}\nmax_outstanding = 2\n`);
    expect(await runCommand({ config: cfg, duration: 1, logLevel: 'silent' })).toBe(STOPPED_WITH_OPEN_ORDERS);
  }, 60_000);
});

/**
 * An error no handler caught (a plugin's timer that throws, a promise nobody awaits) would end
 * the process on Node's default path: orders left working, the journal unflushed, exit 1 or 7.
 * run halts (cancelling open orders), stops in order and exits PROCESS_FAULT.
 */
describe('run: an error no handler caught', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
  });

  it('halts, stops in order and exits PROCESS_FAULT; the HALT and its reason are journaled', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-fault-'));
    const data = join(dir, 'data');
    process.env.CWTS_DATA_DIR = data;
    const strategy = fileURLToPath(new URL('../../dist/cli/load-test/load-strategy.js', import.meta.url));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, CONFIG + `[strategy]\nplugin = ${JSON.stringify(strategy)}\nmax_outstanding = 2\n`);
    const faults = new EventEmitter();
    const running = runCommand({ config: cfg, logLevel: 'silent', faults });
    // run listens once composed; then a rejection nobody handled arrives
    for (let i = 0; i < 600 && faults.listenerCount('unhandledRejection') === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(faults.listenerCount('unhandledRejection')).toBe(1);
    await new Promise((r) => setTimeout(r, 300));
    faults.emit('unhandledRejection', new Error('boom in a plugin timer'));
    faults.emit('uncaughtException', new Error('a second one while stopping'));
    expect(await running).toBe(PROCESS_FAULT);
    expect(faults.listenerCount('unhandledRejection') + faults.listenerCount('uncaughtException')).toBe(0);
    const db = JournalStore.openReadOnly(join(data, 'rec.db'));
    try {
      expect(loadContents(db).lastRisk).toMatchObject({ to: 'HALTED', reason: expect.stringMatching(/process fault: boom in a plugin timer/) });
    } finally {
      db.close();
    }
  }, 60_000);
});

/**
 * A strategy that, like a third-party exchange plugin whose stop() is a plain function that
 * throws, makes the engine's stop() reject (engine.ts: `v.marketData.stop()` is called inside a
 * map, before Promise.allSettled can catch anything).
 */
function throwingStopStrategy(dir: string): string {
  const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
  const file = join(dir, 'throwing-stop-strategy.mjs');
  writeFileSync(file, `
import { TOKENS } from ${JSON.stringify(join(dist, 'di/tokens.js'))};
import { CORE_API_VERSION, definePlugin } from ${JSON.stringify(join(dist, 'plugins/manifest.js'))};
class S {
  name = 'throwing-stop';
  patched = false;
  onSignal() {}
  onMarketEvent(ev, ctx) {
    if (this.patched) return;
    this.patched = true;
    const v = ctx.venue('sim');
    v.marketData.stop = () => { throw new Error('market data stop() threw'); };
  }
}
export const plugin = definePlugin({
  name: 'test-throwing-stop', kind: 'strategy', coreApi: CORE_API_VERSION,
  register({ registrar }) { registrar.factory(TOKENS.Strategy, () => new S()); },
});
`);
  return file;
}

describe('run: a plugin whose stop() throws', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
  });

  // A stop that rejected reached the process-fault handler, whose stop was that same rejected
  // promise: run neither returned nor exited (and the HTTP servers stayed open). The engine now
  // counts a plugin's failed stop and goes on; run's own stop never rejects.
  it('runCommand settles (an exit code) instead of hanging', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-run-stop-throw-'));
    process.env.CWTS_DATA_DIR = join(dir, 'data');
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, CONFIG + `[strategy]\nplugin = ${JSON.stringify(throwingStopStrategy(dir))}\n`);
    const running = runCommand({ config: cfg, duration: 1, logLevel: 'silent', faults: process });
    const outcome = await Promise.race([
      running.then((code) => ({ settled: true as const, code }), (err: unknown) => ({ settled: true as const, code: String(err) })),
      new Promise<{ settled: false }>((r) => setTimeout(() => r({ settled: false }), 15_000)),
    ]);
    if (!outcome.settled) {
      // the mechanism: the fault handler took the stop's own rejection (it HALTed with it as the reason)
      const db = JournalStore.openReadOnly(join(dir, 'data', 'rec.db'));
      try {
        expect(loadContents(db).lastRisk).toMatchObject({ to: 'HALTED', reason: expect.stringMatching(/process fault: market data stop\(\) threw/) });
      } finally {
        db.close();
      }
    }
    // ... and then run neither exits nor returns
    expect(outcome.settled).toBe(true);
    // the failed stop of one plugin is counted and logged; the rest of the stop ran
    expect(outcome).toMatchObject({ code: 0 });
  }, 30_000);
});
