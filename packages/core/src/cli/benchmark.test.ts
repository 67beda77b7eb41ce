import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { benchmarkCommand, formatReport, runBenchmark, type BenchmarkReport } from './benchmark.js';

// The adapter, sim and backend packages are found from the repo root, as from a deployment's directory.
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SEED_LABELS = ['Whale Detection', 'HFT Order Execution', 'Atomic Order Matching', 'Cascade Detection', 'Lock-free Buffer', 'Pattern Store SIMD', 'Smart Order Routing', 'Memory Allocation', 'End-to-End Flow'];
const dir = mkdtempSync(join(tmpdir(), 'cwts-benchmark-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Structure only, never a speed: tiny iteration counts (scale), every row measured for real.
describe('cwts-ultra benchmark (tiny quick run)', () => {
  let report: BenchmarkReport;

  it('measures the nine seed rows, each with finite positive percentiles', { timeout: 180_000 }, async () => {
    report = await runBenchmark({ scale: 0.002, progress: 'off', baseDir: ROOT });
    expect(report.rows.map((r) => r.label)).toEqual(SEED_LABELS);
    for (const r of report.rows) {
      expect(r.error, `${r.label}: ${r.error}`).toBeUndefined();
      for (const v of [r.p50Us, r.p99Us, r.p999Us, r.maxUs]) {
        expect(Number.isFinite(v) && v! > 0, `${r.label}: ${v}`).toBe(true);
      }
      expect(r.p50Us!).toBeLessThanOrEqual(r.p99Us!);
      expect(r.samples!).toBeGreaterThan(0);
      expect(r.pass).toBe(r.p99Us! <= r.budgetUs);
      if (r.goal !== undefined) expect(typeof r.goalMet).toBe('boolean');
    }
    // the order execution row reports its throughput; the e2e row the rate it ran at
    expect(report.rows[1]!.figures?.find((f) => f.name.startsWith('orders per second'))?.value).toBeGreaterThan(0);
    expect(report.rows[8]!.figures?.find((f) => f.name === 'e2e achieved rate')?.value).toBeGreaterThan(0);
    const text = formatReport(report).join('\n');
    expect(text).not.toMatch(/NOT MEASURED/);
    for (const label of SEED_LABELS) expect(text).toMatch(new RegExp(`${label}\\s+\\S+ us\\s+\\S+ us\\s+\\d+ us\\s+(PASS|FAIL)`));
  });

  it('--json prints one report object and writes benchmark.json in the results format', { timeout: 180_000 }, async () => {
    const lines: string[] = [];
    const code = await benchmarkCommand({ json: true, scale: 0.002, progress: 'off', baseDir: ROOT, resultsDir: dir, only: ['routing', 'pool'] }, (l) => lines.push(l));
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const printed = JSON.parse(lines[0]!) as BenchmarkReport;
    expect(printed.mode).toBe('quick');
    expect(printed.rows.map((r) => r.key)).toEqual(['routing', 'pool']);
    const file = JSON.parse(readFileSync(join(dir, 'benchmark.json'), 'utf8'));
    expect(file).toMatchObject({ suite: 'benchmark', machine: { cores: expect.any(Number), cpu: expect.any(String) } });
    expect(Number.isNaN(Date.parse(file.date))).toBe(false);
    for (const r of file.results) {
      expect(typeof r.name).toBe('string');
      expect(typeof r.unit).toBe('string');
      expect(Number.isFinite(r.value)).toBe(true);
    }
    expect(file.results.map((r: { name: string }) => r.name)).toContain('Smart Order Routing p99');
  });

  it('a row that cannot run is reported as an error with its reason and exit code 1, never as a figure', async () => {
    const lines: string[] = [];
    const broken = { key: 'x', label: 'End-to-End Flow', budgetUs: 2341, suite: 'e2e', measure: async () => Promise.reject(new Error('@cwts/exchange-kraken is not installed')) };
    const empty = { key: 'y', label: 'Memory Allocation', budgetUs: 45, suite: 'microstructure', measure: async () => ({ latency: { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN, mean: NaN }, what: 'nothing' }) };
    const code = await benchmarkCommand({ progress: 'off', resultsDir: false, rows: [broken, empty] }, (l) => lines.push(l));
    expect(code).toBe(1);
    const text = lines.join('\n');
    expect(text).toMatch(/End-to-End Flow\s+ERROR: @cwts\/exchange-kraken is not installed/);
    expect(text).toMatch(/Memory Allocation\s+ERROR: no valid samples/);
    expect(text).not.toMatch(/PASS/);
  });
});
