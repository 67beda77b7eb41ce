import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// @ts-expect-error plain ESM script without types
import { judgeAudit, parseAllowlist } from '../scripts/lib/audit-policy.mjs';

const advisory = (id: number, module_name: string, severity: string) => ({ id, module_name, severity, title: `issue in ${module_name}`, url: `https://example.invalid/${id}`, vulnerable_versions: '<2.0.0' });
const report = (...a: ReturnType<typeof advisory>[]) => ({ advisories: Object.fromEntries(a.map((x) => [String(x.id), x])), metadata: { vulnerabilities: {} } });

describe('dependency audit policy', () => {
  it('fails an advisory at or above the level unless allowlisted with a reason and an unexpired date', () => {
    const allow = parseAllowlist([{ id: 11, module: 'a', reason: 'not reachable: only used by the build', expires: '2027-01-31' }]);
    const v = judgeAudit(report(advisory(11, 'a', 'high'), advisory(12, 'b', 'moderate'), advisory(13, 'c', 'low')), allow, '2026-12-05');
    expect(v.ok).toBe(false);
    expect(v.failures).toEqual([expect.stringMatching(/^not allowed: moderate b .*advisory 12/)]);
    expect(v.allowed).toEqual([expect.stringMatching(/^allowed until 2027-01-31: high a/)]);
    expect(v.below).toHaveLength(1);
    // the same report passes at level high (b is moderate), and the allowlisted one still passes
    expect(judgeAudit(report(advisory(11, 'a', 'high'), advisory(12, 'b', 'moderate')), allow, '2026-12-05', 'high').ok).toBe(true);
  });

  it('an expired exception fails, even when its advisory is gone; a stale one is only reported', () => {
    const allow = parseAllowlist([
      { id: 11, module: 'a', reason: 'waiting for the upstream fix', expires: '2026-12-01' },
      { id: 21, module: 'z', reason: 'fixed upstream, entry left over', expires: '2027-06-30' },
    ]);
    const withIt = judgeAudit(report(advisory(11, 'a', 'critical')), allow, '2026-12-05');
    expect(withIt.ok).toBe(false);
    expect(withIt.failures).toEqual([expect.stringMatching(/^allowlist entry expired on 2026-12-01: critical a/)]);
    expect(withIt.stale).toEqual([expect.stringMatching(/advisory 21, z/)]);
    const gone = judgeAudit(report(), allow, '2026-12-05');
    expect(gone.failures).toEqual([expect.stringMatching(/expired on 2026-12-01 \(advisory 11, a\): remove it/)]);
    // the day it expires it still holds; the day after it fails
    expect(judgeAudit(report(advisory(11, 'a', 'critical')), allow, '2026-12-01').ok).toBe(true);
  });

  it('refuses an allowlist without reasons or dates, an unknown severity counts as failing, and a non-report is an error', () => {
    expect(() => parseAllowlist([{ id: 1, module: 'a', reason: '', expires: 'soon' }])).toThrow(/reason must say why[\s\S]*expires must be a date/);
    expect(judgeAudit(report(advisory(5, 'q', 'severe')), [], '2026-12-05').ok).toBe(false);
    expect(() => judgeAudit({ error: 'x' }, [], '2026-12-05')).toThrow(/not a pnpm audit report/);
  });

  it('scripts/audit.mjs judges a saved report: exit 1 on a refused advisory, 0 on a clean one, 3 when it cannot audit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-audit-'));
    const bad = join(dir, 'bad.json');
    const clean = join(dir, 'clean.json');
    const broken = join(dir, 'broken.json');
    writeFileSync(bad, JSON.stringify(report(advisory(99, 'left-pad', 'high'))));
    writeFileSync(clean, JSON.stringify(report(advisory(98, 'tiny', 'low'))));
    writeFileSync(broken, 'ERR_PNPM_AUDIT_BAD_RESPONSE');
    const run = (file: string) => spawnSync(process.execPath, ['scripts/audit.mjs', '--report', file, '--today', '2026-12-05'], { encoding: 'utf8' });
    const r1 = run(bad);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(/not allowed: high left-pad/);
    const r2 = run(clean);
    expect(r2.status, r2.stderr).toBe(0);
    expect(r2.stdout).toMatch(/audit: PASS/);
    expect(run(broken).status).toBe(3);
  });
});
