// Failures the addon meets as C++ exceptions must reach JS as errors. One that leaves an N-API
// callback instead ends the whole process (std::terminate, SIGABRT): an allocation failure while
// an async call copied its arrays, a thread pool that could not start all its threads, and a
// Worker that exits or is terminated while a call it made is in flight (the call completes during
// the environment's teardown, when its promise can no longer be settled). Each scenario runs in a
// child process (test/no-abort.child.mjs), limits set with ulimit through sh, so that an abort
// fails the test instead of taking the test runner's worker with it.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';
import { describe, expect, it, type TestContext } from 'vitest';
import { cpuSimdProvider } from './index.js';

const child = fileURLToPath(new URL('../test/no-abort.child.mjs', import.meta.url));
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function runChild(args: string[], limits = ''): SpawnSyncReturns<string> {
  const cmd = `${limits}exec ${[process.execPath, child, entry, ...args].map(quote).join(' ')}`;
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8', timeout: 60_000 });
}

function outcome(r: SpawnSyncReturns<string>): Record<string, unknown> {
  expect(r.signal, `child killed by ${String(r.signal)} (stderr: ${r.stderr.slice(0, 300)})`).toBeNull();
  expect(r.status, r.stderr.slice(0, 300)).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
}

async function requireAddon(ctx: TestContext): Promise<void> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
}

describe('cpu-simd: failures reported as C++ exceptions do not abort the process', () => {
  it('an async call whose copies of its arrays cannot be allocated rejects with a RangeError', async (ctx) => {
    await requireAddon(ctx);
    // 3 arrays of 256 MiB. The address-space limit leaves room for the caller's arrays (in
    // VmSize already) and half of one more: the addon's copies do not all fit. Which copy is the
    // first that does not depends on what else the process mapped meanwhile (a loaded CI host
    // ran out at the output's copy, not the series'): any of them is the case under test.
    const n = 64 << 20;
    const { vmKb } = outcome(runChild(['alloc-measure', String(n)])) as { vmKb: number };
    const limitKb = vmKb + (n * 4) / 1024 / 2;
    expect(outcome(runChild(['alloc', String(n)], `ulimit -v ${limitKb}; `))).toEqual({
      outcome: 'rejected',
      name: 'RangeError',
      message: expect.stringMatching(/^cpu-simd: out of memory: could not allocate 268435456 bytes for the async call's copy of (series|out\.mean|out\.variance)$/),
      after: 2,
    });
  }, 60_000);

  it('a thread pool that cannot start its threads: create() rejects, naming why; the started threads are stopped', async (ctx) => {
    await requireAddon(ctx);
    // 2 GB stacks in a 30 GB address space: 64 pool threads cannot start, 1 can.
    const r = outcome(runChild(['threads'], 'ulimit -s 2000000; ulimit -v 30000000; '));
    expect(r).toMatchObject({ outcome: 'rejected', name: 'Error', after: 3 });
    expect(r.message).toMatch(/^cpu-simd: could not start the thread pool \(threadPoolSize 64\): .+; lower threadPoolSize/);
  }, 60_000);

  it('Workers that exit or are terminated with an async call in flight end alone, not the process', async (ctx) => {
    await requireAddon(ctx);
    expect(outcome(runChild(['worker']))).toEqual({ outcome: 'survived', ran: ['exit', 'exit-detached', 'terminate', 'exit', 'terminate'] });
  }, 60_000);
});
