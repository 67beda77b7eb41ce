import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/bench.mjs in a scratch root: its own copy, a stand-in for tsc that fails or passes the
// full build, and one suite that leaves a marker when it runs. The real packages and tsx are
// linked in, so a run that goes past the build behaves as in the repository.
const REPO = join(import.meta.dirname, '..', '..');

const roots: string[] = [];
afterAll(() => {
  // The links into the repository are removed, not followed.
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function scratchRoot(fullBuild: 'fails' | 'passes'): string {
  const root = mkdtempSync(join(tmpdir(), 'cwts-bench-script-'));
  roots.push(root);
  mkdirSync(join(root, 'scripts'));
  copyFileSync(join(REPO, 'scripts', 'bench.mjs'), join(root, 'scripts', 'bench.mjs'));
  mkdirSync(join(root, 'node_modules', 'typescript', 'bin'), { recursive: true });
  // `tsc -b` alone is the full build; `tsc -b packages/core` (the old fallback) always succeeds.
  writeFileSync(
    join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    `const a = process.argv.slice(2);\nprocess.exit(a.length === 1 && a[0] === '-b' ? ${fullBuild === 'fails' ? 2 : 0} : 0);\n`,
  );
  symlinkSync(realpathSync(join(REPO, 'node_modules', 'tsx')), join(root, 'node_modules', 'tsx'), 'dir');
  symlinkSync(join(REPO, 'packages'), join(root, 'packages'), 'dir');
  mkdirSync(join(root, 'bench'));
  writeFileSync(join(root, 'bench', 'marker.bench.ts'), "import { writeFileSync } from 'node:fs';\nwriteFileSync(new URL('../suite-ran', import.meta.url), 'ran');\n");
  return root;
}

const runBench = (root: string) => spawnSync(process.execPath, [join(root, 'scripts', 'bench.mjs'), 'marker'], { cwd: root, encoding: 'utf8' });

describe('pnpm bench and the build', () => {
  it('runs the suites after a build that succeeded', () => {
    const root = scratchRoot('passes');
    const r = runBench(root);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(root, 'suite-ran'))).toBe(true);
  });

  it('runs no suite and exits non-zero when the full build fails (no figures from a stale dist)', () => {
    const root = scratchRoot('fails');
    const r = runBench(root);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('`tsc -b` failed');
    expect(existsSync(join(root, 'suite-ran'))).toBe(false);
    expect(r.stdout).not.toContain('=== bench:');
  });
});
