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
