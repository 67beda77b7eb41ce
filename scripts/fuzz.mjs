#!/usr/bin/env node
/**
 * pnpm fuzz [--frames N] [--parser NAME[,NAME]] [--seed S] [--json] [--jobs J] [--max-hangs H]
 *
 * Mutation fuzzing of every input parser (see docs/reliability.md, "Fuzzing"). Runs on the
 * built packages (dist), so run `pnpm build` first. Exit status 1 when any parser hung,
 * crashed, let an invalid event through, leaked a secret, lost data, showed a wrong SYNCED book,
 * or tested nothing (`vacuous`: below its target's coverage floors, e.g. no SYNCED book checked).
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { TARGETS, defaultFindingsFile, runFuzz } from '../fuzz/runner.mjs';

const USAGE = `usage: pnpm fuzz [--frames N] [--parser ${TARGETS.join('|')}[,...]] [--seed S] [--json] [--jobs J] [--max-hangs H] [--findings FILE]`;

function parseArgs(argv) {
  const o = { frames: 1_000_000, parsers: TARGETS, seed: 1, json: false, jobs: Math.min(TARGETS.length, availableParallelism()), maxHangs: 5, findings: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v, name) => {
      const n = Number(v.replace(/_/g, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
      return n;
    };
    if (a === '--frames') o.frames = int(val(), '--frames');
    else if (a === '--parser') {
      o.parsers = val().split(',').map((s) => s.trim());
      const bad = o.parsers.filter((p) => !TARGETS.includes(p));
      if (bad.length) throw new Error(`unknown parser ${bad.join(', ')}; known: ${TARGETS.join(', ')}`);
    } else if (a === '--seed') o.seed = int(val(), '--seed');
    else if (a === '--json') o.json = true;
    else if (a === '--jobs') o.jobs = Math.max(1, int(val(), '--jobs'));
    else if (a === '--max-hangs') o.maxHangs = Math.max(1, int(val(), '--max-hangs'));
    else if (a === '--findings') o.findings = val();
    else if (a === '--help' || a === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else if (a === '--') continue;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  return o;
}

let opts;
try {
  opts = parseArgs(process.argv.slice(2));
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
for (const pkg of ['core', 'exchange-binance', 'exchange-sim', 'exchange-coinbase', 'exchange-kraken', 'exchange-bybit']) {
  if (!existsSync(`${root}packages/${pkg}/dist/index.js`)) {
    console.error(`packages/${pkg}/dist is missing: run \`pnpm build\` first`);
    process.exit(2);
  }
}

const findingsFile = opts.findings ?? defaultFindingsFile(opts.seed);

/** When each target was first seen running, for its rate and ETA (targets run `jobs` at a time). */
const startedAt = new Map();
function describeProgress(p, now) {
  if (!startedAt.has(p.target) && p.done > 0) startedAt.set(p.target, now);
  const since = startedAt.get(p.target);
  const pct = (100 * p.done) / p.frames;
  const rate = since !== undefined && now > since ? p.done / ((now - since) / 1000) : 0;
  const eta = rate > 0 ? `ETA ${Math.ceil((p.frames - p.done) / rate)} s` : 'ETA ?';
  const bar = tty ? `[${'#'.repeat(Math.floor(pct / 10)).padEnd(10, '.')}] ` : '';
  return `${p.target} ${bar}${p.done}/${p.frames} (${pct.toFixed(1)}%, ${Math.round(rate)} frames/s, ${eta})`;
}
const tty = process.stderr.isTTY;
const t0 = Date.now();
let lastPlain = 0;
console.error(`fuzz: ${opts.parsers.join(', ')}; ${opts.frames} frames each; seed ${opts.seed}; ${opts.jobs} at a time; findings -> ${findingsFile}`);
const report = await runFuzz({
  targets: opts.parsers,
  frames: opts.frames,
  seed: opts.seed,
  jobs: opts.jobs,
  maxHangs: opts.maxHangs,
  findingsFile,
  log: (line) => console.error(tty ? `\r\x1b[K${line}` : line),
  progressMs: tty ? 1000 : 2000,
  onProgress: (list) => {
    const now = Date.now();
    const line = `[${((now - t0) / 1000).toFixed(0)} s] ${list.map((p) => describeProgress(p, now)).join(', ')}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastPlain >= 10_000) {
      lastPlain = Date.now();
      console.error(line);
    }
  },
});
if (tty) process.stderr.write('\r\x1b[K');
report.seconds = Number(((Date.now() - t0) / 1000).toFixed(1));
report.findingsFile = findingsFile;

if (opts.json) console.log(JSON.stringify(report, null, 2));
else {
  console.log(`parser         frames     frames/s  hangs crashes wrong-book invalid-event other  slow(confirmed/transient)`);
  for (const r of report.results) {
    const f = r.findings;
    const other = (f['secret-leak'] ?? 0) + (f['lost-data'] ?? 0) + (f.vacuous ?? 0);
    console.log(
      `${r.parser.padEnd(14)} ${String(r.frames).padStart(9)} ${String(r.framesPerSecond).padStart(10)}  ${String(f.hang ?? 0).padStart(5)} ${String(f.crash ?? 0).padStart(7)} ${String(f['wrong-synced-book'] ?? 0).padStart(10)} ${String(f['invalid-event'] ?? 0).padStart(13)} ${String(other).padStart(5)}  ${r.slow.confirmedCount}/${r.slow.transient}${r.abandoned ? `  (${r.abandoned})` : ''}`,
    );
  }
  const sigs = report.results.flatMap((r) => Object.entries(r.signatures).map(([s, n]) => `  [${r.parser}] ${n} x ${s}`));
  if (sigs.length) console.log(`\ndistinct findings:\n${sigs.join('\n')}`);
  for (const r of report.results) for (const s of r.slow.confirmed.slice(0, 3)) console.log(`slow [${r.parser}] frame ${s.frameIndex}: ${s.ms} ms: ${JSON.stringify(s.frame).slice(0, 200)}`);
  console.log(`\n${report.ok ? 'PASS' : 'FAIL'}: ${report.seconds} s; findings in ${findingsFile}`);
}
process.exit(report.ok ? 0 : 1);
