import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLines } from './file-lines.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-file-lines-'));
const write = (name: string, content: string | Buffer) => {
  const f = join(dir, name);
  writeFileSync(f, content);
  return f;
};

describe('fileLines', () => {
  it('yields the same lines whatever the read size, with characters and CRLF cut across reads', () => {
    const f = write('mixed.txt', 'first\r\nsecond é€😀 line\n\n' + 'x'.repeat(100) + '\nlast\n');
    for (const chunkBytes of [1, 2, 3, 5, 13, 1 << 20]) {
      expect([...fileLines(f, { chunkBytes })]).toEqual(['first', 'second é€😀 line', '', 'x'.repeat(100), 'last']);
    }
  });

  it('does not yield a last line without its newline (a record cut while written)', () => {
    expect([...fileLines(write('cut.txt', 'a\nb\n{"type":"tra'), { chunkBytes: 4 })]).toEqual(['a', 'b']);
    expect([...fileLines(write('empty.txt', ''))]).toEqual([]);
  });

  it('drops a line over the limit as it reads it (null in its place) and goes on', () => {
    const f = write('long.txt', 'short\n' + 'y'.repeat(1000) + '\n' + 'z'.repeat(64) + '\nend\n');
    for (const chunkBytes of [7, 64, 4096]) {
      expect([...fileLines(f, { chunkBytes, maxLineBytes: 64 })]).toEqual(['short', null, 'z'.repeat(64), 'end']);
    }
  });

  it('reads as it goes: lines appended after the first was yielded are read too', () => {
    const f = write('grow.txt', 'one\ntwo\n');
    const it = fileLines(f, { chunkBytes: 4 });
    expect(it.next().value).toBe('one');
    writeFileSync(f, 'one\ntwo\nthree\n');
    expect([...it]).toEqual(['two', 'three']);
  });

  it('decodes invalid UTF-8 as replacement characters rather than failing', () => {
    const f = write('bin.txt', Buffer.concat([Buffer.from('ok\n'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\nend\n')]));
    expect([...fileLines(f, { chunkBytes: 2 })]).toEqual(['ok', '\ufffd\ufffdA', 'end']);
  });
});
