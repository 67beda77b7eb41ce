#!/usr/bin/env node
// Which modules does importing one entry load? `node scripts/import-probe.mjs @cwts/core`
// prints a JSON object: the entry, the milliseconds the dynamic import took in this process
// (process.hrtime around `import()`, the process's own start-up excluded), its CPU time, and every module URL
// Node resolved on the way, as recorded by a resolve hook. Used by the structural test of the
// root entry (test/core-entry.test.ts) and the start-up benchmark (bench/startup.bench.ts).
// Run from the repository root, where every workspace package resolves by name.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const entry = process.argv[2];
const traced = !process.argv.includes('--untraced');
if (!entry) {
  console.error('usage: import-probe.mjs <specifier> [--untraced]');
  process.exit(2);
}
let dir;
let logFile;
if (traced) {
  dir = mkdtempSync(join(tmpdir(), 'cwts-import-probe-'));
  logFile = join(dir, 'resolved.log');
  register(pathToFileURL(join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'lib/import-probe-hooks.mjs')).href, import.meta.url, { data: { logFile } });
}
// A file path is taken from the current directory; a package name resolves from the repository.
const asFile = entry.startsWith('/') ? entry : join(process.cwd(), entry);
const target = existsSync(asFile) ? pathToFileURL(asFile).href : entry;
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await import(target);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
// CPU time (user + system) beside wall time: on a loaded shared machine the wall figure is
// mostly waiting for a core, the CPU figure is the work the import itself costs.
const cpu = process.cpuUsage(c0);
const cpuMs = (cpu.user + cpu.system) / 1000;
let modules = [];
if (traced) {
  try {
    modules = [...new Set(readFileSync(logFile, 'utf8').split('\n').filter(Boolean))];
  } catch {
    modules = [];
  }
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ entry, ms, cpuMs, modules }) + '\n');
