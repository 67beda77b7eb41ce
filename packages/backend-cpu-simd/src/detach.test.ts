// Detaching (transferring with postMessage/structuredClone) the ArrayBuffer of a typed-array
// argument of an async call while it is in flight or queued. The worker never uses the caller's
// memory in place: inputs are captured at the call, outputs are written on the JS thread at
// completion if their arrays are still attached, else the call rejects with a
// ComputeArgumentError. Each scenario runs in a child process: without that rule it crashes
// (SIGSEGV) when the freed memory is reused, which would take the test runner's worker with it.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';
import { describe, expect, it, type TestContext } from 'vitest';
import { cpuSimdProvider } from './index.js';

const child = fileURLToPath(new URL('../test/detach.child.mjs', import.meta.url));
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

async function scenario(ctx: TestContext, name: string): Promise<Record<string, unknown>> {
  const p = await cpuSimdProvider.probe();
  if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
  const r = spawnSync(process.execPath, [child, entry, name], { encoding: 'utf8', timeout: 120_000 });
  expect(r.signal, `child killed by ${String(r.signal)} (stderr: ${r.stderr.slice(0, 300)})`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

const detachedRejection = { outcome: 'rejected', name: 'ComputeArgumentError', message: expect.stringMatching(/was detached/) };

describe('cpu-simd async calls vs detached ArrayBuffers', () => {
  it('detaching every argument of an in-flight sgemm: no crash; it rejects naming the detached output', async (ctx) => {
    expect(await scenario(ctx, 'sgemm-all')).toMatchObject({ ...detachedRejection, message: expect.stringMatching(/sgemm: c was detached/) });
  }, 150_000);

  it('inputs detached or rewritten after the call: the call computes on what they held at the call', async (ctx) => {
    expect(await scenario(ctx, 'sgemm-inputs')).toEqual({ outcome: 'resolved', wrong: 0 });
  }, 150_000);

  it('an output detached while rollingMoments runs: it rejects, nothing is written to freed memory', async (ctx) => {
    expect(await scenario(ctx, 'rolling-out')).toMatchObject({ ...detachedRejection, message: expect.stringMatching(/rollingMoments: out.mean was detached/) });
  }, 150_000);

  it('patternScores with out arrays: an output detached in flight rejects', async (ctx) => {
    expect(await scenario(ctx, 'pattern-out')).toMatchObject({ ...detachedRejection, message: expect.stringMatching(/out.scores was detached/) });
  }, 150_000);

  it('calls queued behind a running one: inputs captured at the call, a detached output rejects at its turn', async (ctx) => {
    expect(await scenario(ctx, 'queued')).toMatchObject({
      first: 'resolved',
      detachedOut: { ...detachedRejection, message: expect.stringMatching(/out.variance was detached .*queued/) },
      detachedIn: true,
    });
  }, 150_000);
});
