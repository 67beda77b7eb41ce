import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { gunzipChunks } from './replay-gunzip.js';
import { LINE_NOT_UTF8, LINE_TOO_LONG, MAX_LINE_CHARS, readLines } from './replay-lines.js';
import { ReplaySource } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-lines-'));

function read(name: string, content: string | Buffer) {
  const f = join(dir, name);
  writeFileSync(f, content);
  const cuts: string[] = [];
  const unreadable: string[] = [];
  const bad: string[] = [];
  const lines = [...readLines(f, { onTruncated: (d) => cuts.push(d), onUnreadable: (d) => unreadable.push(d), onBadLine: (d) => bad.push(d) })];
  return { lines, cuts, unreadable, bad };
}

const T = 1_700_000_000_000;

describe('readLines', () => {
  it('yields every terminated line (CRLF too) and reports nothing for a whole file', () => {
    expect(read('a.txt', 'one\r\ntwo\n\nthree\n')).toEqual({ lines: ['one', 'two', '', 'three'], cuts: [], unreadable: [], bad: [] });
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
    expect(r.bad).toEqual([LINE_TOO_LONG, LINE_TOO_LONG]);
  });

  it('yields null for a line that is not UTF-8, wherever it lies in the read chunks, and keeps U+FFFD written as UTF-8', () => {
    // StringDecoder turned the bad bytes into U+FFFD, which JSON.parse accepts inside a string:
    // a damaged line read as clean text.
    const fffd = Buffer.from('ok \uFFFD\n'); // the replacement character itself, as valid UTF-8
    const lone = Buffer.from([0x78, 0xff, 0x79, 0x0a]); // x, a byte no UTF-8 has, y
    const cutChar = Buffer.from([0x61, 0xe2, 0x82, 0x0a]); // a three-byte character missing its last byte
    const filler = Buffer.alloc((1 << 20) - 3, 0x7a); // a line across the 1 MiB read chunk, bad before the chunk ends
    filler[10] = 0xff;
    filler[filler.length - 1] = 0x0a;
    const r = read('bad-utf8.txt', Buffer.concat([Buffer.from('first\n'), lone, fffd, cutChar, filler, Buffer.from([0x41, 0x42, 0xc3, 0x28, 0x43, 0x0a]), Buffer.from('last\n')]));
    expect(r.lines.map((l) => (l === null ? null : l.slice(0, 8)))).toEqual(['first', null, 'ok \uFFFD', null, null, null, 'last']);
    expect(r.bad).toEqual([LINE_NOT_UTF8, LINE_NOT_UTF8, LINE_NOT_UTF8, LINE_NOT_UTF8]);
    expect(r.cuts).toEqual([]);
  });

  it('a recorded trade line with an invalid UTF-8 byte is counted malformed and not replayed', () => {
    const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'binance', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
    const good = JSON.stringify({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T, recvTs: T, tradeId: '1', price: 6_000_000, qty: 5, side: 'buy' });
    const bad = Buffer.from(JSON.stringify({ type: 'trade', exchange: 'binance', symbol: 'BTCUSDT', ts: T + 1, recvTs: T + 1, tradeId: '2X', price: 6_000_100, qty: 5, side: 'buy' }));
    bad[bad.indexOf('2X') + 1] = 0xff; // one corrupted byte: not UTF-8
    const f = join(dir, 'bad-utf8.jsonl');
    writeFileSync(f, Buffer.concat([Buffer.from(JSON.stringify(header) + '\n' + good + '\n'), bad, Buffer.from('\n')]));
    const errors: string[] = [];
    const src = new ReplaySource({ files: [f], onError: (_c, m) => errors.push(m) });
    const items = [...src];
    expect(src.integrity()).toEqual({ malformed: 1, skipped: 0, outOfOrder: 0, truncated: 0 });
    expect(items.map((i) => (i.type === 'trade' ? i.tradeId : i.type))).toEqual(['1']);
    expect(errors).toEqual([expect.stringContaining(`line 3: ${LINE_NOT_UTF8}`)]);
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

  it('reads a .gz of several gzip members as one text, lines spanning members included', () => {
    const gz = Buffer.concat([gzipSync('one\ntw'), gzipSync('o\nthree\n')]);
    expect(read('members.csv.gz', gz)).toEqual({ lines: ['one', 'two', 'three'], cuts: [], unreadable: [], bad: [] });
  });

  it('a gzip stream damaged part way: the lines before the damage are read, the damage reported', () => {
    const text = Array.from({ length: 200_000 }, (_, i) => `row ${i}`).join('\n') + '\n';
    const gz = Buffer.from(gzipSync(text));
    gz[gz.length - 6]! ^= 0xff; // the CRC of the inflated text no longer matches
    const r = read('crc.csv.gz', gz);
    expect(r.lines.length).toBeGreaterThan(0);
    expect(r.lines.every((l, i) => l === `row ${i}`)).toBe(true);
    expect(r.unreadable).toEqual([expect.stringMatching(/^the gzip stream is damaged after \d+ bytes \(incorrect data check\)/)]);
    expect(r.cuts).toEqual([]);
  });

  it('reads a .gz from a process whose flags would make a worker thread fail to start (an ES module given with -e)', () => {
    // Worker threads inherit the process's flags by default: with --input-type=module a
    // CommonJS worker program threw at start, and the reader, blocked waiting for its first
    // chunk, hung for ever. The child is killed after a minute should that come back.
    const f = join(dir, 'flags.csv.gz');
    writeFileSync(f, gzipSync('a\nb\nc\n'));
    const source = fileURLToPath(new URL('./replay-lines.ts', import.meta.url));
    const code = `import { readLines } from ${JSON.stringify(source)}; console.log([...readLines(${JSON.stringify(f)}, { onTruncated: console.log, onUnreadable: console.log })].join(','));`;
    const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
    expect({ status: child.status, stdout: child.stdout.trim() }).toEqual({ status: 0, stdout: 'a,b,c' });
  }, 90_000);

  it('a .gz that cannot be opened throws, as a plain file does', () => {
    expect(() => [...readLines(join(dir, 'absent.csv.gz'), { onTruncated: () => {}, onUnreadable: () => {} })]).toThrow(/ENOENT/);
  });

  it('streams a .gz that inflates past the longest string V8 can make (a tardis.dev day file): never inflated whole', () => {
    // ~545 MB of trade rows once inflated, past 0x1fffffe8 characters, written as concatenated
    // gzip members of one 1 MiB block, so the file on disk is ~50 MB.
    const head = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
    const row = (k: number) => `binance,BTCUSDT,${1_700_000_000_000_000 + k},${1_700_000_000_000_100 + k},t${String(k).padStart(8, '0')},buy,60000.1,0.002\n`;
    const rows: string[] = [];
    for (let k = 0, bytes = 0; bytes < 1 << 20; k++) {
      rows.push(row(k));
      bytes += rows[k]!.length;
    }
    const block = gzipSync(rows.join(''), { level: 9 });
    const f = join(dir, 'binance_trades_2023-11-14_BTCUSDT.csv.gz');
    const fd = openSync(f, 'w');
    writeSync(fd, gzipSync(head));
    for (let i = 0; i < 520; i++) writeSync(fd, block);
    closeSync(fd);
    try {
      const errors: string[] = [];
      const src = new ReplaySource({ files: [f], instruments: { BTCUSDT: { tickSize: '0.1', lotSize: '0.001' } }, onError: (_c, m) => errors.push(m) });
      expect(src.next()).toMatchObject({ type: 'trade', symbol: 'BTCUSDT', tradeId: 't00000000' });
      expect(src.next()).toMatchObject({ type: 'trade', tradeId: 't00000001' });
      expect(errors).toEqual([]);
      expect(src.integrity()).toEqual({ malformed: 0, skipped: 0, outOfOrder: 0, truncated: 0 });
    } finally {
      rmSync(f, { force: true });
    }
  }, 120_000);
});

describe('gunzipChunks: the thread inflating a .gz', () => {
  const gz = join(dir, 'alive.jsonl.gz');
  writeFileSync(gz, gzipSync('{"a":1}\n'.repeat(1000)));
  // Started (as the real program marks it), then gone without a word or hung: what a thread that
  // ran out of memory or was terminated looks like from the reader, which waits on shared counters.
  const startedThen = (what: string) => `(async () => { const { workerData } = await import('node:worker_threads'); Atomics.store(workerData.counters, 3, 1); ${what} })();`;

  it('a thread that dies after starting ends the read with an error instead of leaving the reader waiting for ever', () => {
    expect(() => [...gunzipChunks(gz, { workerSource: startedThen('process.exit(0);'), silentAfterMs: 300 })]).toThrow(/the thread inflating it stopped \(no sign of life for \d+ s/);
  });

  it('so does one that hangs', () => {
    expect(() => [...gunzipChunks(gz, { workerSource: startedThen('Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);'), silentAfterMs: 300 })]).toThrow(/the thread inflating it stopped/);
  });

  it('a live one beats: a bound of 2 s is never reached while it inflates', () => {
    const chunks = [...gunzipChunks(gz, { silentAfterMs: 2000 })];
    expect(Buffer.concat(chunks).toString()).toBe('{"a":1}\n'.repeat(1000));
  });
});
