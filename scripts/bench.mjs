#!/usr/bin/env node
// `pnpm bench [suite]`: builds (tsc -b) and runs bench/<suite>.bench.ts with tsx, or every
// suite when none is named. Each suite writes bench/results/<suite>.json (with the commit and
// whether the tree was dirty). A failed build stops it before any suite runs.
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = join(root, 'bench');
const suites = readdirSync(benchDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.slice(0, -'.bench.ts'.length))
  .sort();

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const s of wanted) {
  if (!suites.includes(s)) {
    console.error(`unknown benchmark suite "${s}"; available: ${suites.join(', ') || '(none)'}`);
    process.exit(2);
  }
}
const run = wanted.length > 0 ? wanted : suites;

const tscBin = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const tsc = (args) =>
  existsSync(tscBin)
    ? spawnSync(process.execPath, [tscBin, ...args], { cwd: root, stdio: 'inherit' })
    : spawnSync('pnpm', ['exec', 'tsc', ...args], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
// Build everything (tsc -b is incremental: a no-op when up to date). The suites import the dist of
// most packages (core, the compute backends, the exchange adapters), so a failed build leaves
// some of them at whatever an earlier build wrote: the figures would belong to other code, with
// nothing in the results to say so. No build, no run.
if (tsc(['-b']).status !== 0) {
  console.error('bench: `tsc -b` failed; no suite run (they would measure the stale dist of the packages that did not build). Fix the build and run again.');
  process.exit(1);
}

// Suites print their own tables: progress is one plain line per finished suite (rate and ETA), on stderr.
const { createProgress } = await import(pathToFileURL(join(root, 'packages/core/dist/observability/progress.js')).href);
const progress = createProgress({ label: 'bench', total: run.length, unit: 'suites', mode: 'lines', intervalMs: 0 });
let failed = 0;
for (const suite of run) {
  console.log(`\n=== bench: ${suite} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(benchDir, `${suite}.bench.ts`)], { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    console.error(`suite ${suite} failed (exit ${r.status ?? r.signal})`);
    failed++;
  }
  progress.increment();
}
process.exit(failed > 0 ? 1 : 0);
