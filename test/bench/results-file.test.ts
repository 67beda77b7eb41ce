import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { recordUnavailable, sourceRevision, writeResults, type GitRunner } from '../../bench/lib/harness.js';
import { runGpuSuite } from '../../bench/lib/gpu-suite.js';
import type { ComputeBackendProvider } from '../../packages/core/dist/index.js';

// What `pnpm bench` leaves in bench/results: figures measured elsewhere survive a machine that
// cannot measure them, and every file says which code it measured.

const REAL_RESULTS = join(import.meta.dirname, '..', '..', 'bench', 'results');
const tempDirs: string[] = [];
const tempDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-bench-results-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

// Suite names no real results file has: a writer that ignored the temporary folder would land in
// bench/results under one of them (not over a committed file), and the check after each test
// removes it and fails.
let scratchCount = 0;
const scratchFiles: string[] = [];
function scratchSuite(label: string): string {
  const suite = `test-${label}-${process.pid}-${scratchCount++}`;
  scratchFiles.push(join(REAL_RESULTS, `${suite}.json`));
  return suite;
}
afterEach(() => {
  const stray = scratchFiles.filter((f) => existsSync(f));
  for (const f of stray) rmSync(f);
  scratchFiles.length = 0;
  expect(stray, 'written into bench/results instead of the given folder').toEqual([]);
});

/** A committed results file as the H100 run left it. */
const MEASURED = JSON.stringify({ suite: 'cuda', date: '2026-12-05T19:46:55.886Z', results: [{ name: 'sgemm 512x512x512', metric: 'end-to-end ms (median)', unit: 'ms', value: 0.412 }] }, null, 2) + '\n';

/** A provider whose probe fails, as on a machine without the device; create must never run. */
const absentDevice = (reason: string): ComputeBackendProvider =>
  ({
    name: 'absent',
    probe: async () => ({ available: false, reason }),
    create: async () => {
      throw new Error('create() called on an unavailable backend');
    },
  }) as unknown as ComputeBackendProvider;

describe('bench results when the backend is unavailable', () => {
  it('runGpuSuite keeps an existing results file byte for byte', async () => {
    const dir = tempDir();
    const suite = scratchSuite('cuda');
    writeFileSync(join(dir, `${suite}.json`), MEASURED);
    await runGpuSuite({ suite, provider: absentDevice('no CUDA device'), resultsDir: dir });
    expect(readFileSync(join(dir, `${suite}.json`), 'utf8')).toBe(MEASURED);
  });

  it('runGpuSuite writes a file with no rows and the reason only where there was none', async () => {
    const dir = tempDir();
    const suite = scratchSuite('vulkan');
    await runGpuSuite({ suite, provider: absentDevice('no Vulkan loader'), resultsDir: dir });
    const doc = JSON.parse(readFileSync(join(dir, `${suite}.json`), 'utf8'));
    expect(doc).toMatchObject({ suite, results: [], unavailable: 'no Vulkan loader' });
  });

  it('recordUnavailable (the cpu-simd suite) keeps an existing file and says it did', () => {
    const dir = tempDir();
    const suite = scratchSuite('cpu-simd');
    writeFileSync(join(dir, `${suite}.json`), MEASURED);
    expect(recordUnavailable(suite, 'addon not built', dir)).toEqual({ file: join(dir, `${suite}.json`), written: false });
    expect(readFileSync(join(dir, `${suite}.json`), 'utf8')).toBe(MEASURED);

    const fresh = tempDir();
    expect(recordUnavailable(suite, 'addon not built', fresh).written).toBe(true);
    expect(JSON.parse(readFileSync(join(fresh, `${suite}.json`), 'utf8'))).toMatchObject({ results: [], unavailable: 'addon not built' });
  });
});

describe('which code a results file measured', () => {
  /** Answers rev-parse and status from a table; records each call's arguments. */
  function fakeGit(answers: { head?: string | Error; status?: string | Error }): { git: GitRunner; calls: string[][] } {
    const calls: string[][] = [];
    const git: GitRunner = (args) => {
      calls.push(args);
      const a = args[0] === 'rev-parse' ? answers.head : args[0] === 'status' ? answers.status : new Error(`unexpected git ${args.join(' ')}`);
      if (a === undefined || a instanceof Error) throw a ?? new Error('no answer');
      return a;
    };
    return { git, calls };
  }

  it('records the short commit and a clean tree', () => {
    const { git, calls } = fakeGit({ head: '124b637\n', status: '' });
    expect(sourceRevision('/repo', git)).toEqual({ commit: '124b637', dirty: false });
    expect(calls[0]).toEqual(['rev-parse', '--short', 'HEAD']);
  });

  it('marks the tree dirty on any change, but not on the results files the suites rewrite', () => {
    const { git, calls } = fakeGit({ head: '124b637', status: ' M packages/core/src/engine/engine.ts\n?? bench/new.bench.ts\n' });
    expect(sourceRevision('/repo', git)).toEqual({ commit: '124b637', dirty: true });
    const status = calls.find((c) => c[0] === 'status')!;
    expect(status).toContain('--porcelain');
    expect(status).toContain(':(exclude)bench/results');
  });

  it('records null for both outside a git checkout', () => {
    const { git, calls } = fakeGit({ head: new Error('fatal: not a git repository') });
    expect(sourceRevision('/unpacked', git)).toEqual({ commit: null, dirty: null });
    expect(calls).toHaveLength(1);
    // And with the real git: a fresh temporary folder is no checkout.
    expect(sourceRevision(tempDir())).toEqual({ commit: null, dirty: null });
  });

  it('records an unknown dirty flag when status fails after the commit was read', () => {
    const { git } = fakeGit({ head: '124b637', status: new Error('index.lock') });
    expect(sourceRevision('/repo', git)).toEqual({ commit: '124b637', dirty: null });
  });

  it('every results file carries commit and dirty beside date and machine', () => {
    const dir = tempDir();
    const suite = scratchSuite('metadata');
    const file = writeResults(suite, [{ name: 'x', metric: 'median', unit: 'ms', value: 1 }], { goal: 'none' }, dir);
    expect(file).toBe(join(dir, `${suite}.json`));
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(doc)).toEqual(['suite', 'date', 'commit', 'dirty', 'machine', 'results', 'goal']);
    expect(doc.commit === null || /^[0-9a-f]{4,40}$/.test(doc.commit)).toBe(true);
    expect(doc.dirty === null || typeof doc.dirty === 'boolean').toBe(true);
  });
});
