import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from './main.js';

/**
 * docs/operations.md: exit 2 is "the config, the journal or a plugin is unusable ..., or a
 * command-line error"; 1 is a runtime failure. A bad option value is a command-line error.
 */
describe('cwts-ultra: a bad --duration is a command-line error (exit 2)', () => {
  for (const argv of [
    ['run', '--config', '/nonexistent.toml', '--duration', '0'],
    ['run', '--config', '/nonexistent.toml', '--duration=abc'],
    ['run', '--config', '/nonexistent.toml', '--duration', ''],
    ['risk-aggregator', '--config', '/nonexistent.toml', '--duration', '-5'],
  ]) {
    it(`${argv.join(' ')} exits 2, like an unknown option, naming the option`, async () => {
      const written: string[] = [];
      const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true));
      try {
        expect(await main(['node', 'cwts-ultra', 'run', '--config', '/nonexistent.toml', '--durration', '5'])).toBe(2);
        expect(await main(['node', 'cwts-ultra', ...argv])).toBe(2);
      } finally {
        err.mockRestore();
      }
      expect(written.join('')).toMatch(/--duration <seconds>.*must be a positive number of seconds/);
    });
  }
});

/**
 * Mistakes a command finds itself (an option this action needs, an unknown action, a value that
 * is not a time, two options that contradict) are command-line errors too: exit 2, the message
 * naming the option, never 1 (a failure while working) and never read as a default.
 */
describe('cwts-ultra: bad arguments a command checks itself exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-usage-'));
  const j = join(dir, 'j.db');
  async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
    const written: string[] = [];
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true));
    try {
      return { code: await main(['node', 'cwts-ultra', ...args]), stderr: written.join('') };
    } finally {
      err.mockRestore();
    }
  }

  for (const [args, message] of [
    [['journal', 'backup', '--journal', j], /journal backup needs --out <file\.db>/],
    [['journal', 'import', '--journal', j], /journal import needs --from <file\.jsonl>/],
    [['journal', 'restore', '--journal', j], /journal restore needs --from <backup\.db>/],
    [['journal', 'frob', '--journal', j], /unknown journal action "frob"/],
    [['journal', 'export'], /name the journal: --journal <file\.db> or --config <file\.toml>/],
    [['journal', 'unlock', '--journal', j], /repeat with --force/],
    [['report', '--journal', j, '--out', join(dir, 'r.html'), '--from', 'yesterday'], /--from must be an ISO-8601 time with a zone/],
    [['report', '--journal', j, '--out', join(dir, 'r.html'), '--from', '2026-12-07T03:40:30Z', '--to', '2026-12-07T03:40:00Z'], /--from 2026-12-07T03:40:30Z is after --to 2026-12-07T03:40:00Z/],
    [['benchmark', '--scale', 'abc'], /--scale <x>.*must be a number > 0/],
    [['benchmark', '--scale', '0'], /--scale <x>.*must be a number > 0/],
    [['benchmark', '--scale', '-1'], /--scale <x>.*must be a number > 0/],
    [['load-test', '--windows', '3'], /--windows is for an attached app \(--url\)/],
  ] as [string[], RegExp][]) {
    it(`${args.join(' ')} exits 2, saying what is wrong`, async () => {
      const r = await cli(...args);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
    });
  }
});
