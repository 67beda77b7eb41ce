/**
 * Meta-tests of the public conformance suites: each runs a suite (in a child vitest, on the
 * fixtures in conformance-meta-fixture.test.ts) against an implementation with one deliberate
 * defect and asserts the suite FAILS it, so a gap that lets such a defect through shows here.
 * Only the suite's tests that catch each defect are run, to keep this fast.
 * (The exchange suite's fill test has its own, on the Binance adapter: exchange-binance's
 * conformance.integration.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const FIXTURE = 'packages/core/src/testing/conformance-meta-fixture.test.ts';
const dir = mkdtempSync(join(tmpdir(), 'cwts-conformance-meta-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  fullName: string;
  status: string;
}

/** Runs the fixture with CWTS_CONFORMANCE_META=`which`, the tests matching `filter`; every test's outcome. */
function runFixture(which: string, filter: string, env: Record<string, string> = {}): Outcome[] {
  const out = join(dir, `${which}.json`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
  // Never with coverage: a child vitest with CI's CWTS_COVERAGE=1 cleans the parent run's coverage
  // directory (the same reportsDirectory) at its start, and the parent run fails at its end.
  const r = spawnSync('npx', ['vitest', 'run', FIXTURE, '-t', filter, '--reporter=json', `--outputFile=${out}`, '--coverage.enabled=false'], { cwd: ROOT, env: { ...base, ...env, CWTS_COVERAGE: '0', CWTS_CONFORMANCE_META: which }, encoding: 'utf8', timeout: 240_000 });
  let json: { testResults: { assertionResults: Outcome[] }[] };
  try {
    json = JSON.parse(readFileSync(out, 'utf8'));
  } catch {
    throw new Error(`the child vitest wrote no report: ${r.stderr}`);
  }
  const all = json.testResults.flatMap((f) => f.assertionResults).filter((a) => a.status === 'passed' || a.status === 'failed');
  if (all.length === 0) throw new Error(`no tests ran: ${r.stderr}`);
  return all;
}

const failedOf = (all: Outcome[], label: string) => all.filter((a) => a.fullName.includes(`compute conformance: ${label} `) && a.status === 'failed').map((a) => a.fullName);

describe('the compute conformance suite fails broken backends', () => {
  let all: Outcome[] | undefined;
  const results = () => (all ??= runFixture('compute', 'compute conformance: broken-.*(rejects bad arguments|host views|NaN or Infinity)'));

  it('fails a backend whose sgemm and rollingMoments compute in place over outputs overlapping their inputs', () => {
    const f = failedOf(results(), 'broken-alias');
    expect(f.some((n) => /sgemm/.test(n)), `sgemm (C over A or B) not caught; failed: ${f.join('; ')}`).toBe(true);
    expect(f.some((n) => /rollingMoments/.test(n)), `rollingMoments (out over the series) not caught; failed: ${f.join('; ')}`).toBe(true);
  }, 300_000);

  it("fails a backend whose sync kernels ignore a host view's byteOffset", () => {
    const f = failedOf(results(), 'broken-syncview');
    expect(f.some((n) => /patternScores/.test(n)) && f.some((n) => /rollingMoments/.test(n)), `failed: ${f.join('; ')}`).toBe(true);
  }, 300_000);

  it('fails a backend whose sync kernels read NaN and Infinity as 0', () => {
    const f = failedOf(results(), 'broken-syncnan');
    expect(f.some((n) => /patternScores/.test(n)) && f.some((n) => /rollingMoments/.test(n)), `failed: ${f.join('; ')}`).toBe(true);
  }, 300_000);
});

const REPEATING_HARNESS = (root: string) => `
import { createTinyExFrameHarness } from '${root}examples/third-party-exchange/dist/index.js';
/** Refuses only non-positive and far-ahead ids: a repeated or older trade id is emitted again. */
class JumpOnlyGuard {
  last = 41;
  check(id) {
    if (id <= 0 || id > this.last + 100000) return 2;
    if (id > this.last) this.last = id;
    return 0;
  }
}
export function createRepeatingHarness() {
  const h = createTinyExFrameHarness();
  const patch = () => { for (const s of h.pipeline.syms.values()) s.trades = new JumpOnlyGuard(); };
  patch();
  const reset = h.reset.bind(h);
  h.reset = (mode) => { reset(mode); patch(); return h.state(); };
  return h;
}
`;

it('the malformed-input section fails a feed that emits a repeated or older trade again', () => {
  const module = join(dir, 'repeating-harness.mjs');
  writeFileSync(module, REPEATING_HARNESS(ROOT));
  const all = runFixture('repeat-trade', 'repeated frame', { CWTS_CONFORMANCE_META_HARNESS: module });
  expect(all.filter((a) => a.status === 'failed').map((a) => a.fullName), 'the section passed a feed that emits a repeated trade id twice').toHaveLength(1);
}, 300_000);
