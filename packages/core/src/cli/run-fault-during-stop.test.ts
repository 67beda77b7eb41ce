/**
 * docs/operations.md (exit code 70): after a process fault "The HALT and its reason are
 * journaled, so the next start comes up HALTED". A fault that arrives during the stop (a
 * plugin's socket or timer throwing while the plugins are disposed) once HALTed a journal the
 * engine had already closed: nothing was written, run still exited 70, and the next start came
 * up ACTIVE. The journal is now closed last, and its writer lock refuses a second instance
 * until then; a HALT after it closed is written through a connection of its own.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventEmitter } from 'node:events';
import { JournalError } from '../journal/errors.js';
import { JournalStore, loadContents } from '../journal/store.js';
import { PROCESS_FAULT, runCommand } from './run.js';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';

interface DuringDispose {
  faults: EventEmitter;
  /** Run by the plugin's dispose() before it faults. */
  check(): void;
}

/** A strategy plugin whose dispose() runs the test's check, then throws from a "callback" (an uncaught exception). */
function faultOnDisposeStrategy(dir: string): string {
  const dist = fileURLToPath(new URL('../../dist/', import.meta.url));
  const file = join(dir, 'fault-on-dispose.mjs');
  writeFileSync(file, `
import { TOKENS } from ${JSON.stringify(join(dist, 'di/tokens.js'))};
import { CORE_API_VERSION, definePlugin } from ${JSON.stringify(join(dist, 'plugins/manifest.js'))};
class S { name = 'fault-on-dispose'; onSignal() {} onMarketEvent() {} }
export const plugin = definePlugin({
  name: 'test-fault-on-dispose', kind: 'strategy', coreApi: CORE_API_VERSION,
  register({ registrar }) { registrar.factory(TOKENS.Strategy, () => new S()); },
  // a stray callback throwing while plugins are torn down (after the engine stopped)
  async dispose() {
    const t = globalThis.__faultDuringDispose;
    t.check();
    t.faults.emit('uncaughtException', new Error('socket callback threw during dispose'));
  },
});
`);
  return file;
}

describe('a process fault during the stop', () => {
  const savedDataDir = process.env.CWTS_DATA_DIR;
  afterEach(() => {
    if (savedDataDir === undefined) delete process.env.CWTS_DATA_DIR;
    else process.env.CWTS_DATA_DIR = savedDataDir;
    delete (globalThis as { __faultDuringDispose?: unknown }).__faultDuringDispose;
  });

  it('exits 70 and its HALT is journaled, so the next start comes up HALTED; the journal stays locked while plugins are disposed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-fault-stop-'));
    const data = join(dir, 'data');
    const journal = join(data, 'rec.db');
    process.env.CWTS_DATA_DIR = data;
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('rec', ANY_PORTS) + `[strategy]\nplugin = ${JSON.stringify(faultOnDisposeStrategy(dir))}\n`);
    const faults = new EventEmitter();
    // a second instance starting while the plugins are disposed: the writer lock must still refuse it
    let secondInstance: string | undefined;
    const during: DuringDispose = {
      faults,
      check: () => {
        try {
          JournalStore.open(journal).close();
          secondInstance = 'opened';
        } catch (err) {
          secondInstance = err instanceof JournalError ? err.code : String(err);
        }
      },
    };
    (globalThis as { __faultDuringDispose?: DuringDispose }).__faultDuringDispose = during;
    expect(await runCommand({ config: cfg, duration: 1, logLevel: 'silent', faults })).toBe(PROCESS_FAULT);
    expect(secondInstance).toBe('LOCKED');
    const db = JournalStore.openReadOnly(journal);
    try {
      const contents = loadContents(db);
      expect(contents.lastRisk).toMatchObject({ to: 'HALTED', reason: expect.stringMatching(/process fault: socket callback threw during dispose/) });
      // closed after the fault, as a clean stop closes it: no writer lock is left behind
      expect(db.prepare('SELECT count(*) AS n FROM writer_lock').get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  }, 60_000);
});

describe('JournalStore.latchHaltAfterClose: a HALT that came after the journal was closed', () => {
  const lastRisk = (path: string) => {
    const db = JournalStore.openReadOnly(path);
    try {
      return loadContents(db).lastRisk;
    } finally {
      db.close();
    }
  };

  it('is written when no process writes the journal', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-latch-closed-')), 'j.db');
    JournalStore.open(path).close();
    expect(JournalStore.latchHaltAfterClose(path, 'process fault: late timer threw', 'risk', 5)).toBeUndefined();
    expect(lastRisk(path)).toMatchObject({ to: 'HALTED', reason: 'process fault: late timer threw', who: 'risk', ts: 5 });
  });

  it('is not written under a second instance that holds the writer lock now', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-latch-closed-')), 'j.db');
    JournalStore.open(path).close();
    const second = JournalStore.open(path, { owner: { pid: process.pid, host: hostname() } });
    try {
      expect(JournalStore.latchHaltAfterClose(path, 'process fault: late timer threw', 'risk')).toMatch(/has a writer again/);
    } finally {
      second.close();
    }
    expect(lastRisk(path)).toBeUndefined();
  });

  it('leaves a journal that is HALTED already as it is', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cwts-latch-closed-')), 'j.db');
    const store = JournalStore.open(path, { fsync: 'always' });
    store.append({ t: 'risk', from: 'ACTIVE', to: 'HALTED', reason: 'manual: desk', who: 'operator', ts: 1 });
    store.close();
    expect(JournalStore.latchHaltAfterClose(path, 'process fault: late timer threw', 'risk')).toBeUndefined();
    expect(lastRisk(path)).toMatchObject({ to: 'HALTED', reason: 'manual: desk' });
  });
});
