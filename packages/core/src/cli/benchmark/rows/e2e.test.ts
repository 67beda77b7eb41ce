// The End-to-End row says which intake it measured (the deployed default is worker intake, which
// this harness can pace only with a core per thread), and a run times exactly the events it was
// asked for: a warm-up longer than the timed run used to be capped at half the total, so
// `pnpm bench e2e`'s "10k events/s (30,000 events)" timed 35,000.
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadE2EVenues } from '../e2e-venues.js';
import { generateFrames, runE2E } from '../e2e.js';
import { describeE2EIntake, e2eRowIntake } from './e2e-intake.js';
import { measureE2E } from './e2e.js';

const ROOT = fileURLToPath(new URL('../../../../../../', import.meta.url));

describe('End-to-End row: event count and intake mode', () => {
  it('times exactly `events` when the warm-up asked for is longer', { timeout: 120_000 }, async () => {
    const intakes = await loadE2EVenues(ROOT);
    const frames = generateFrames(intakes, 200);
    const r = await runE2E(intakes, frames, 'max', { events: 300, warmup: 400, triggerEvery: 20 });
    expect(r.events).toBe(300);
    expect(r.parents).toBe(15);
  });

  it('worker intake (the deployed default) where the host has a core per thread, inline and named so otherwise', () => {
    expect(e2eRowIntake(16, 4)).toBe('worker');
    expect(e2eRowIntake(6, 4)).toBe('worker');
    expect(e2eRowIntake(5, 4)).toBe('inline');
    expect(e2eRowIntake(2, 4)).toBe('inline');
    expect(describeE2EIntake('inline', 4, 2)).toBe('inline intake (every venue parsed on the engine thread; the deployed default, worker intake, is measured on hosts with 6+ cores, this one has 2)');
    expect(describeE2EIntake('worker', 4, 16)).toMatch(/^worker intake \(the deployed default/);
  });

  it("the row's line names the intake it measured on this host", { timeout: 120_000 }, async () => {
    const m = await measureE2E({ full: false, scale: 0.001, baseDir: ROOT, progress: () => {} });
    const mode = e2eRowIntake(availableParallelism(), 4);
    expect(m.what.startsWith(`${describeE2EIntake(mode, 4, availableParallelism())}: frame`)).toBe(true);
    expect(m.what).toMatch(/, 200 events, 10 parents/);
  });
});
