// The ELF reader behind the glibc floor check: it must see the version-needed table the dynamic
// loader checks, which objdump -T shows too.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-ignore: plain ESM without type declarations
import { compareVersions, glibcNeedsAbove, neededVersions, newestGlibcNeeded } from '../glibc-floor/elf-versions.mjs';

type Need = { file: string; version: string; symbols: string[] };
const hasObjdump = spawnSync('/bin/sh', ['-c', 'command -v objdump'], { stdio: 'ignore' }).status === 0;

describe.runIf(process.platform === 'linux')('glibc versions a binary needs', () => {
  it('reads Node\'s own needs: libc versions, each with the symbols that need it', () => {
    const needs = neededVersions(process.execPath) as Need[];
    expect(needs.some((n) => n.file === 'libc.so.6' && /^GLIBC_2\.\d+/.test(n.version))).toBe(true);
    const newest = newestGlibcNeeded(process.execPath) as string;
    expect(glibcNeedsAbove(process.execPath, newest)).toEqual([]);
    const above = glibcNeedsAbove(process.execPath, '2.0') as (Need & { glibc: string })[];
    expect(above.length).toBeGreaterThan(0);
    expect(above[0]!.glibc).toBe(newest);
    // A version can be needed with no symbol of its own (ld.so's base version); the newest has one.
    expect(above[0]!.symbols.length).toBeGreaterThan(0);
  });

  it.runIf(hasObjdump)('agrees with objdump -T', () => {
    const r = spawnSync('objdump', ['-T', process.execPath], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const fromObjdump = new Set<string>();
    for (const line of r.stdout.split('\n')) {
      const m = /\*UND\*\s+\S+\s+\(?(GLIBC_[0-9.]+)\)?\s+(\S+)$/.exec(line.trim());
      if (m) fromObjdump.add(`${m[1]} ${m[2]}`);
    }
    const ours = new Set((neededVersions(process.execPath) as Need[]).filter((n) => n.version.startsWith('GLIBC_')).flatMap((n) => n.symbols.map((s) => `${n.version} ${s}`)));
    expect(fromObjdump.size).toBeGreaterThan(0);
    expect([...ours].sort()).toEqual([...fromObjdump].sort());
  });

  it('compares versions numerically and refuses what is not a 64-bit ELF file', () => {
    expect(compareVersions('2.9', '2.28')).toBeLessThan(0);
    expect(compareVersions('2.28', '2.28.0')).toBe(0);
    expect(compareVersions('2.36', '2.28')).toBeGreaterThan(0);
    const dir = mkdtempSync(join(tmpdir(), 'cwts-elf-'));
    try {
      writeFileSync(join(dir, 'x.node'), 'not a binary, just text long enough to be read as a header ............');
      expect(() => neededVersions(join(dir, 'x.node'))).toThrow(/not an ELF file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
