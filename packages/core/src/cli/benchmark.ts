import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface BenchRow { name: string; metric: string; unit: string; value: number; peer?: string; peerValue?: number }
interface BenchFile { suite: string; date: string; machine: unknown; results: BenchRow[] }

/**
 * The seed's validation rows, each mapped to the benchmark result that measures it. A row with
 * no measurement says so; nothing here is a made-up figure.
 */
const SEED_ROWS: { label: string; budgetUs: number; suite: string; match: RegExp }[] = [
  { label: 'Whale Detection', budgetUs: 234, suite: 'detectors', match: /whale.*p99/i },
  { label: 'HFT Order Execution', budgetUs: 156, suite: 'risk', match: /check chain.*p99|order execution.*p99/i },
  { label: 'Atomic Order Matching', budgetUs: 412, suite: 'microstructure', match: /match.*p99/i },
  { label: 'Cascade Detection', budgetUs: 189, suite: 'detectors', match: /cascade.*p99/i },
  { label: 'Lock-free Buffer', budgetUs: 98, suite: 'microstructure', match: /ring.*round.?trip.*p99/i },
  { label: 'Pattern Store SIMD', budgetUs: 567, suite: 'detectors', match: /^pattern\.cpu-simd\.n10000\.b1\.latency$/ },
  { label: 'Smart Order Routing', budgetUs: 823, suite: 'routing', match: /route.*p99/i },
  { label: 'Memory Allocation', budgetUs: 45, suite: 'microstructure', match: /pool.*p99/i },
  { label: 'End-to-End Flow', budgetUs: 2341, suite: 'e2e', match: /tick.to.order.*p99/i },
];

function toMicros(r: BenchRow): number | undefined {
  const f: Record<string, number> = { ns: 1e-3, us: 1, 'µs': 1, ms: 1e3, s: 1e6 };
  return f[r.unit] === undefined ? undefined : r.value * f[r.unit]!;
}

export function benchmarkCommand(out: (line: string) => void, resultsDir = resolve('bench/results')): number {
  const files = new Map<string, BenchFile>();
  if (existsSync(resultsDir)) {
    for (const f of readdirSync(resultsDir).filter((n) => n.endsWith('.json'))) {
      try {
        const b = JSON.parse(readFileSync(join(resultsDir, f), 'utf8')) as BenchFile;
        files.set(b.suite, b);
      } catch {
        out(`(ignoring unreadable ${f})`);
      }
    }
  }
  out('PERFORMANCE VALIDATION RESULTS (from bench/results/*.json; run `pnpm bench` to measure)');
  let missing = 0;
  for (const row of SEED_ROWS) {
    const file = files.get(row.suite);
    const hit = file?.results.find((r) => row.match.test(r.name) || row.match.test(`${r.name} ${r.metric}`));
    const us = hit ? toMicros(hit) : undefined;
    if (us === undefined) {
      missing++;
      out(`  ${row.label.padEnd(24)} NOT MEASURED YET (no '${row.suite}' benchmark result)   budget ${row.budgetUs} us`);
    } else {
      out(`  ${row.label.padEnd(24)} ${us <= row.budgetUs ? 'PASS' : 'FAIL'}  ${us.toFixed(3)} us (budget ${row.budgetUs} us; ${hit!.name}, ${file!.date})`);
    }
  }
  if (missing > 0) out(`${missing} of ${SEED_ROWS.length} rows are not measured yet.`);
  return 0;
}
