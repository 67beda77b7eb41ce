// Every TOML snippet in README.md is a config a reader may copy: it must pass validate-config
// as written (the "Composing a deployment" one did not: [system] and [risk] were missing).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateConfigCommand } from '../packages/core/src/cli/validate.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const app = join(root, 'examples/reference-app');
const dir = mkdtempSync(join(tmpdir(), 'cwts-readme-'));

/** The ```toml blocks of a Markdown file, with the line each starts on. */
function tomlSnippets(markdown: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== '```toml') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1]!.trim() !== '```') i++;
    out.push({ line: start + 1, text: lines.slice(start, i + 1).join('\n') + '\n' });
    i++;
  }
  return out;
}

describe('README.md TOML snippets', () => {
  const snippets = tomlSnippets(readFileSync(join(root, 'README.md'), 'utf8'));

  it('there is at least one (the extraction finds them)', () => {
    expect(snippets.length).toBeGreaterThan(0);
  });

  for (const s of snippets) {
    it(`the snippet at README.md:${s.line} passes validate-config, plugins included`, async () => {
      // Its plugin paths are the reference app's, relative to a config in examples/reference-app/config.
      const file = join(dir, `readme-${s.line}.toml`);
      writeFileSync(file, s.text.replaceAll('"../dist/', `"${app}/dist/`));
      const lines: string[] = [];
      const code = await validateConfigCommand({ config: file }, (l) => lines.push(l));
      expect(code, lines.join('\n')).toBe(0);
      expect(lines[0]).toBe(`${file}: valid`);
    }, 60_000);
  }
});
