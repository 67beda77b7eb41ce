/**
 * `replay --data rec.jsonl.gz`: the sim's `replay_file` reads gzip, and the header read before
 * it now does too (it read the raw bytes: "the first line is not JSON"). Only as much is inflated
 * as the first line needs, so a file that inflates to gigabytes costs no more than its header.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { readRecordingHeader, replayCommand } from './replay.js';
import { MAX_HEADER_BYTES } from './replay-header.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-gzip-'));
const header = JSON.stringify({ kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] });

function file(name: string, bytes: Buffer | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** `count` gzip members of `member` each: zlib inflates them as one stream (1 GiB from ~1 MiB here). */
function bomb(prefix: string, member: Buffer, count: number): Buffer {
  const z = gzipSync(member);
  return Buffer.concat([gzipSync(prefix), ...Array.from({ length: count }, () => z)]);
}

describe('replay of a gzip recording', () => {
  it('replays rec.jsonl.gz as it replays rec.jsonl', async () => {
    const plain = writeSimRecording(join(dir, 'rec.jsonl'), { seed: 3, seconds: 5 });
    const gz = file('rec.jsonl.gz', gzipSync(readFileSync(plain)));
    const cfg = file('c.toml', simConfig('replay-gzip'));
    const run = async (data: string) => {
      const out: string[] = [];
      expect(await replayCommand({ config: cfg, data, json: true, err: () => {} }, (l) => out.push(l))).toBe(0);
      return JSON.parse(out[0]!);
    };
    const a = await run(plain);
    expect(a.events).toBeGreaterThan(100);
    expect(await run(gz)).toEqual(a);
  }, 120_000);

  it('inflates only as far as the first line', async () => {
    // The header, then 1 GiB of zeros (inflating it all would take seconds and a 1 GiB buffer).
    const gz = file('bomb.jsonl.gz', bomb(header + '\n', Buffer.alloc(16 << 20), 64));
    expect((await readRecordingHeader(gz)).instruments).toHaveLength(1);
    // A first line that never ends stops at the header limit, not at the end of the stream.
    const endless = file('endless.jsonl.gz', bomb('{"kind":"', Buffer.alloc(16 << 20, 'a'), 64));
    await expect(readRecordingHeader(endless)).rejects.toThrow(`its first line (the header) never ends within ${MAX_HEADER_BYTES >> 20} MiB`);
  }, 60_000);

  it('a damaged gzip file is said to be one', async () => {
    const whole = gzipSync(header + '\n' + '{"type":"trade"}\n'.repeat(1000));
    // Cut inside the first line.
    await expect(readRecordingHeader(file('cut.jsonl.gz', whole.subarray(0, 30)))).rejects.toThrow(/cut\.jsonl\.gz is a damaged gzip file: unexpected end of file/);
    // A corrupt deflate block right after the gzip header (10 bytes).
    const corrupt = Buffer.from(whole);
    corrupt.fill(0xff, 10, 20);
    await expect(readRecordingHeader(file('corrupt.jsonl.gz', corrupt))).rejects.toThrow(/corrupt\.jsonl\.gz is a damaged gzip file: /);
    // Cut after the header: the header is read; the replay counts the cut (as `truncated`).
    expect((await readRecordingHeader(file('cut-later.jsonl.gz', whole.subarray(0, whole.length - 20)))).instruments).toHaveLength(1);
  });

  it('a file whose name and content disagree about gzip is refused with the reason', async () => {
    await expect(readRecordingHeader(file('named-plain.jsonl', gzipSync(header + '\n')))).rejects.toThrow(/is gzip-compressed but its name does not end in \.gz/);
    await expect(readRecordingHeader(file('not-gzip.jsonl.gz', header + '\n'))).rejects.toThrow(/is not a gzip file/);
    await expect(readRecordingHeader(join(dir, 'missing.jsonl.gz'))).rejects.toThrow(/cannot read recording .*ENOENT/);
  });
});
