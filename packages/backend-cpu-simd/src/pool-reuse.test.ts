// The addon's thread pool runs one job after another for the life of the backend. A worker that
// woke only after its job had finished used to join the next job with the finished job's cleared
// task function and crash the process (SIGSEGV within ~2,000 back-to-back jobs on 2 cores; seen in
// `cwts-ultra benchmark`'s pattern-store row). Run in a child process, so that a crash fails this
// test instead of the test runner's worker.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { skipUnlessRequired } from '@cwts/core/testing';
import { describe, expect, it } from 'vitest';
import { cpuSimdProvider } from './index.js';

const child = fileURLToPath(new URL('../test/pool-reuse.child.mjs', import.meta.url));
const entry = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('cpu-simd thread pool', () => {
  it('runs 30,000 small multi-task jobs back to back without a crash', async (ctx) => {
    const p = await cpuSimdProvider.probe();
    if (!p.available) skipUnlessRequired(ctx, 'cpu-simd', p.reason);
    const r = spawnSync(process.execPath, [child, entry, '30000'], { encoding: 'utf8', timeout: 120_000 });
    expect(r.signal, `child killed by ${String(r.signal)}: ${r.stderr}`).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; calls: number; sum: number };
    expect(out).toMatchObject({ ok: true, calls: 30000 });
    expect(Number.isFinite(out.sum)).toBe(true);
  }, 150_000);
});
