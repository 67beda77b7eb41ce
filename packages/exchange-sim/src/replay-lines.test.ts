import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MAX_LINE_CHARS, readLines } from './replay-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-lines-'));

function read(name: string, content: string | Buffer) {
  const f = join(dir, name);
  writeFileSync(f, content);
  const cuts: string[] = [];
  const unreadable: string[] = [];
  const lines = [...readLines(f, { onTruncated: (d) => cuts.push(d), onUnreadable: (d) => unreadable.push(d) })];
  return { lines, cuts, unreadable };
}

describe('readLines', () => {
  it('yields every terminated line (CRLF too) and reports nothing for a whole file', () => {
    expect(read('a.txt', 'one\r\ntwo\n\nthree\n')).toEqual({ lines: ['one', 'two', '', 'three'], cuts: [], unreadable: [] });
  });

  it('does not yield a last line without a newline and reports the cut', () => {
    const r = read('cut.txt', 'one\ntwo\nthr');
    expect(r.lines).toEqual(['one', 'two']);
    expect(r.cuts).toEqual(['the last line has no newline (3 characters cut)']);
  });

  it('keeps lines that span read chunks and multi-byte characters split across them', () => {
    const long = 'é'.repeat(700_000); // 1.4 MB of 2-byte characters: crosses the 1 MiB chunk inside a character
    expect(read('wide.txt', `${long}\nend\n`).lines).toEqual([long, 'end']);
  });

  it('yields null for a line over the limit and discards it without holding it', () => {
    const r = read('huge.txt', `a\n${'x'.repeat(MAX_LINE_CHARS + 10)}\nb\n${'y'.repeat(3 * MAX_LINE_CHARS)}\nc\n`);
    expect(r.lines.map((l) => (l === null ? null : l.slice(0, 10)))).toEqual(['a', null, 'b', null, 'c']);
    expect(r.cuts).toEqual([]);
  });

  it('reports a file that is one endless line as truncated, yielding nothing', () => {
    const r = read('endless.bin', Buffer.alloc(MAX_LINE_CHARS + 5, 0x41));
    expect(r.lines.length).toBe(0);
    expect(r.cuts).toHaveLength(1);
  });

  it('reads .gz files, reports a cut gzip stream, and a .gz that is not gzip as unreadable', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i} ${(i * 7919) % 10007}`).join('\n') + '\n';
    const gz = gzipSync(text);
    expect(read('ok.csv.gz', gz).lines).toHaveLength(5000);
    const cut = read('cut.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    expect(cut.lines.length).toBeLessThan(5000);
    expect(cut.lines.every((l, i) => l === `line ${i} ${(i * 7919) % 10007}`)).toBe(true);
    expect(cut.cuts).toEqual([expect.stringMatching(/^the gzip stream ends early/)]);
    const bogus = read('bogus.csv.gz', 'plain text\n');
    expect(bogus.lines).toEqual([]);
    expect(bogus.unreadable).toEqual([expect.stringMatching(/not a readable gzip file/)]);
  });
});
