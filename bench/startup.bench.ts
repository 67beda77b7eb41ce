/**
 * Start-up cost of the entry points: how long `import('@cwts/core')` (and each heavier subpath,
 * as peers) takes inside a fresh Node process, measured in-process with process.hrtime around the
 * dynamic import (scripts/import-probe.mjs --untraced), so Node's own start-up (~95 ms for a bare
 * `node -e 0` here) is not counted. Median of 5 fresh processes per entry, interleaved so a
 * load spike hits every entry alike. Goal for the root entry: <= 60 ms on this machine.
 * Env: STARTUP_REPEATS (default 5).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, writeResults, type BenchResult } from './lib/harness.js';

const REPEATS = Number(process.env.STARTUP_REPEATS ?? 5);
const PROBE = join(ROOT, 'scripts/import-probe.mjs');
const ENTRIES = ['@cwts/core', '@cwts/core/adapter-kit', '@cwts/core/observability', '@cwts/core/engine'] as const;
const ROOT_GOAL_MS = 60;

interface Sample {
  ms: number;
  cpuMs: number;
}

function importOnce(entry: string): Sample {
  const out = execFileSync(process.execPath, [PROBE, entry, '--untraced'], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as Sample;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

// One warm-up round: the first process after a build pays for a cold file cache.
for (const e of ENTRIES) importOnce(e);
const samples = new Map<string, Sample[]>(ENTRIES.map((e) => [e, []]));
for (let r = 0; r < REPEATS; r++) for (const e of ENTRIES) samples.get(e)!.push(importOnce(e));

const round = (x: number) => Math.round(x * 10) / 10;
const rootMs = median(samples.get('@cwts/core')!.map((s) => s.ms));
const rootCpuMs = median(samples.get('@cwts/core')!.map((s) => s.cpuMs));
const results: BenchResult[] = [];
for (const e of ENTRIES) {
  const xs = samples.get(e)!;
  const isRoot = e === '@cwts/core';
  results.push({
    name: `import('${e}')`,
    metric: 'in-process import wall time (median)',
    unit: 'ms',
    value: round(median(xs.map((s) => s.ms))),
    ...(isRoot ? {} : { peer: "import('@cwts/core')", peerValue: round(rootMs) }),
    note: `median of ${REPEATS} fresh processes (samples ${xs.map((s) => round(s.ms)).join(', ')} ms)${isRoot ? `; goal <= ${ROOT_GOAL_MS} ms` : ''}`,
  });
  results.push({
    name: `import('${e}') cpu`,
    metric: 'in-process import CPU time, user+system (median)',
    unit: 'ms',
    value: round(median(xs.map((s) => s.cpuMs))),
    ...(isRoot ? {} : { peer: "import('@cwts/core') cpu", peerValue: round(rootCpuMs) }),
    note: `median of ${REPEATS} fresh processes; less sensitive to a loaded machine than wall time`,
  });
}

console.log('entry'.padEnd(38), 'median ms');
for (const r of results) console.log(r.name.padEnd(38), String(r.value).padStart(9), ' ', r.note);
console.log(`root entry: ${round(rootMs)} ms wall, ${round(rootCpuMs)} ms CPU; ${rootMs <= ROOT_GOAL_MS ? 'meets' : 'MISSES'} the ${ROOT_GOAL_MS} ms goal (wall)`);
console.log(`wrote ${writeResults('startup', results)}`);
