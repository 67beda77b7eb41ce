/**
 * The dependency audit policy (docs/operations.md, "Security audit"): which advisories of a
 * `pnpm audit --json` report fail the audit. Pure: the report, the allowlist and today's date in,
 * a verdict out (scripts/audit.mjs runs pnpm and prints it; test/audit-policy.test.ts checks it).
 *
 * - An advisory at or above `level` fails unless the allowlist names it (by advisory id and
 *   package) with a reason and an expiry date not yet passed: advisories change daily, so an
 *   exception is re-reviewed, never permanent.
 * - An expired allowlist entry fails even when its advisory is gone (the list is kept honest).
 * - An entry that matches no advisory any more is reported as stale, not a failure.
 */
export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'];

/** Checks the allowlist file's shape; throws with every problem found. */
export function parseAllowlist(json) {
  const problems = [];
  if (!Array.isArray(json)) throw new Error('audit allowlist: expected a JSON array of {id, module, reason, expires}');
  const out = json.map((e, i) => {
    const where = `audit allowlist entry ${i}`;
    if (e === null || typeof e !== 'object') {
      problems.push(`${where}: not an object`);
      return undefined;
    }
    if (!Number.isSafeInteger(e.id) && typeof e.id !== 'string') problems.push(`${where}: id must be the advisory id`);
    if (typeof e.module !== 'string' || e.module === '') problems.push(`${where}: module must name the package`);
    if (typeof e.reason !== 'string' || e.reason.trim().length < 10) problems.push(`${where}: reason must say why (10 characters at least)`);
    if (typeof e.expires !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(e.expires) || Number.isNaN(Date.parse(`${e.expires}T00:00:00Z`))) problems.push(`${where}: expires must be a date YYYY-MM-DD`);
    return { id: String(e.id), module: e.module, reason: e.reason, expires: e.expires };
  });
  if (problems.length > 0) throw new Error(problems.join('\n'));
  return out;
}

/**
 * @param {unknown} report `pnpm audit --json` output: { advisories: { [id]: { id, module_name, severity, title, url, vulnerable_versions } }, metadata }
 * @param {{id: string, module: string, reason: string, expires: string}[]} allowlist
 * @param {string} today YYYY-MM-DD
 * @param {string} level the lowest severity that fails
 */
export function judgeAudit(report, allowlist, today, level = 'moderate') {
  if (report === null || typeof report !== 'object' || typeof report.advisories !== 'object' || report.advisories === null) {
    throw new Error('not a pnpm audit report (no "advisories" object)');
  }
  const min = SEVERITIES.indexOf(level);
  if (min < 0) throw new Error(`unknown severity level ${JSON.stringify(level)} (one of ${SEVERITIES.join(', ')})`);
  const failures = [];
  const allowed = [];
  const below = [];
  const used = new Set();
  for (const a of Object.values(report.advisories)) {
    const sev = SEVERITIES.indexOf(a.severity);
    const what = `${a.severity} ${a.module_name} ${a.vulnerable_versions ?? ''}: ${a.title ?? ''} (advisory ${a.id}${a.url ? `, ${a.url}` : ''})`.replace(/\s+/g, ' ');
    // an unknown severity is treated as critical: better a false alarm than a silent pass
    if (sev >= 0 && sev < min) {
      below.push(what);
      continue;
    }
    const entry = allowlist.find((e) => e.id === String(a.id) && e.module === a.module_name);
    if (entry === undefined) failures.push(`not allowed: ${what}`);
    else {
      used.add(entry);
      if (entry.expires < today) failures.push(`allowlist entry expired on ${entry.expires}: ${what} (${entry.reason})`);
      else allowed.push(`allowed until ${entry.expires}: ${what} (${entry.reason})`);
    }
  }
  const stale = [];
  for (const e of allowlist) {
    if (used.has(e)) continue;
    if (e.expires < today) failures.push(`allowlist entry expired on ${e.expires} (advisory ${e.id}, ${e.module}): remove it`);
    else stale.push(`allowlist entry matches no advisory now (advisory ${e.id}, ${e.module}): remove it when convenient`);
  }
  return { ok: failures.length === 0, failures, allowed, below, stale };
}
