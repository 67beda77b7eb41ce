/**
 * A second instance started on a data directory whose journal another one writes must be refused
 * by core's journal writer lock before it does anything outside the process: no plugin's
 * initialize() (venue WebSocket connections, REST calls) and no compute backend (a GPU context).
 * A plugin's replacement journal is resolved after initialization, as its factory may need it.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { JournalError } from '../journal/errors.js';
import { JournalStore } from '../journal/store.js';
import { SERVICE_TOKENS } from '../services/tokens.js';
import type { Deployment } from './compose.js';
import { composeFile, deploymentToml, pluginFolder, tracked, trackedDetectorPlugin } from './compose.fixture.js';

const { dir, file, remove } = pluginFolder('cwts-compose-journal-lock-');
afterAll(remove);

/** The journal composing opens for [system] name "journal-lock" in `dataDir` (journal/location.ts). */
const journalIn = (dataDir: string) => path.join(dataDir, 'journal-lock.db');

let dep: Deployment | undefined;
let first: JournalStore | undefined;
afterEach(async () => {
  await dep?.dispose();
  dep = undefined;
  first?.close();
  first = undefined;
});

/** A compute backend plugin whose provider counts its probe() and create() calls in globalThis[key]. */
function recordingBackend(key: string): string {
  return file(
    'recording-backend.mjs',
    `const token = { symbol: Symbol.for('cwts.ComputeBackendProvider'), description: 'ComputeBackendProvider', multi: true };
     const state = () => (globalThis[${JSON.stringify(key)}] ??= { probed: 0, created: 0 });
     const provider = {
       name: 'recording', priority: 10, gpu: false,
       async probe() { state().probed++; return { available: true, device: { name: 'Recording CPU', type: 'cpu' } }; },
       async create() { state().created++; return { name: 'recording', device: { name: 'Recording CPU', type: 'cpu' }, async dispose() {} }; },
     };
     export const plugin = { name: 'acme-recording-backend', kind: 'backend', coreApi: '1.0', register(ctx) { ctx.registrar.value(token, provider); } };`,
  );
}

/** A deployment with a tracked detector (globalThis[detectorKey]) on the recording backend (globalThis[backendKey]). */
function trackedDeployment(detectorKey: string, backendKey: string): string {
  const detector = file('tracked-detector.mjs', trackedDetectorPlugin(detectorKey));
  const cfg = deploymentToml({
    name: 'journal-lock',
    backends: ['recording'],
    extra: `[compute.recording]\nplugin = ${JSON.stringify(recordingBackend(backendKey))}\n\n[detectors.tracked]\nplugin = ${JSON.stringify(detector)}\n`,
  });
  return file('config.toml', cfg);
}

const backendCalls = (key: string) => (globalThis as Record<string, unknown>)[key] as { probed: number; created: number } | undefined;

describe("core's journal writer lock refuses a second instance before any plugin starts", () => {
  it('composing on a data directory whose journal is held throws the lock error; no plugin initialized, no backend probed or created', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    // The running instance: it holds the writer lock for as long as it is open.
    first = JournalStore.open(journalIn(dataDir), { onError: () => {} });
    const cfg = trackedDeployment('__journalLockDetector', '__journalLockBackend');

    const err = await composeFile(cfg, { journal: true, dataDir }).then(
      (d) => {
        dep = d;
        return new Error('composed beside a running instance');
      },
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(JournalError);
    expect((err as JournalError).code).toBe('LOCKED');
    expect(err.message).toMatch(/in use by another cwts-ultra process/);
    expect(tracked('__journalLockDetector')).toBeUndefined();
    expect(backendCalls('__journalLockBackend')).toBeUndefined();

    // Once the first instance is gone the same deployment starts: the plugins and backend above
    // were kept out by the lock alone.
    first.close();
    first = undefined;
    dep = await composeFile(cfg, { journal: true, dataDir });
    expect(tracked('__journalLockDetector')).toEqual({ opened: 1, disposed: 0 });
    expect(backendCalls('__journalLockBackend')).toMatchObject({ created: 1 });
    expect(dep.container.resolve(SERVICE_TOKENS.Journal)).toBeInstanceOf(JournalStore);
  });
});

describe("a plugin's replacement journal", () => {
  it("is resolved after its plugin's initialize(), and core's journal is never opened (its lock not asked for)", async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    // Core's journal is held elsewhere: a deployment whose journal is a plugin's does not use it.
    first = JournalStore.open(journalIn(dataDir), { onError: () => {} });
    const journal = file(
      'replacement-journal.mjs',
      `const Journal = { symbol: Symbol.for('cwts.Journal'), description: 'Journal', multi: false };
       const Detector = { symbol: Symbol.for('cwts.Detector'), description: 'Detector', multi: true };
       let connected = false;
       export const plugin = {
         name: 'acme-journal', kind: 'detector', coreApi: '1.0', overrides: [Journal],
         register({ registrar }) {
           registrar.value(Detector, { name: 'journal-noop', onMarketEvent() {} });
           registrar.factory(Journal, () => {
             if (!connected) throw new Error('acme-journal: resolved before initialize() connected it');
             return { path: 'acme://journal', records: [], append(r) { this.records.push(r); return true; }, flush() {}, close() {} };
           });
         },
         async initialize() { connected = true; },
       };`,
    );
    const cfg = file('config.toml', readFileSync(trackedDeployment('__replacementDetector', '__replacementBackend'), 'utf8') + `\n[detectors.journal]\nplugin = ${JSON.stringify(journal)}\n`);
    dep = await composeFile(cfg, { journal: true, dataDir });
    expect(dep.container.resolve(SERVICE_TOKENS.Journal).path).toBe('acme://journal');
    expect(dep.container.ownersOf(SERVICE_TOKENS.Journal)).toEqual(['acme-journal']);
  });
});
