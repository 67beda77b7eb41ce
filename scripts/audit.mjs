#!/usr/bin/env node
// `pnpm audit:prod`: `pnpm audit --prod --json`, judged by the policy in scripts/lib/audit-policy.mjs
// against audit-allowlist.json. Exit 0 pass, 1 advisories the policy refuses, 3 the audit could
// not run (the registry's advisory endpoint unreachable: that is not a pass).
// Options: --level SEVERITY (default moderate), --report FILE (judge a saved report), --today YYYY-MM-DD.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { judgeAudit, parseAllowlist } from './lib/audit-policy.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const level = opt('--level') ?? 'moderate';
const today = opt('--today') ?? new Date().toISOString().slice(0, 10);

let text;
const saved = opt('--report');
if (saved) text = readFileSync(saved, 'utf8');
else {
  const r = spawnSync('pnpm', ['audit', '--prod', '--json'], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  text = r.stdout;
  // pnpm exits 1 when it finds advisories; the JSON on stdout is what counts
  if (!text || !text.trim().startsWith('{')) {
    const why = `${r.stderr ?? ''}${r.stdout ?? ''}`.replace(/\s+/g, ' ').trim().slice(0, 400) || `pnpm exited ${r.status}`;
    console.error(`audit: could not audit (this is not a pass): ${why}`);
    process.exit(3);
  }
}
const allowPath = join(root, 'audit-allowlist.json');
let verdict;
try {
  const allowlist = existsSync(allowPath) ? parseAllowlist(JSON.parse(readFileSync(allowPath, 'utf8'))) : [];
  verdict = judgeAudit(JSON.parse(text), allowlist, today, level);
} catch (err) {
  console.error(`audit: ${err.message}`);
  process.exit(3);
}
for (const l of verdict.allowed) console.log(l);
for (const l of verdict.stale) console.log(l);
if (verdict.below.length > 0) console.log(`${verdict.below.length} advisories below ${level} (not failing)`);
for (const l of verdict.failures) console.error(l);
console.log(verdict.ok ? `audit: PASS (level ${level}, ${today})` : `audit: FAIL, ${verdict.failures.length} problem(s)`);
process.exit(verdict.ok ? 0 : 1);
