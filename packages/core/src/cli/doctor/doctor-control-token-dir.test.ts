/**
 * doctor's control-token check once PASSed ("run writes a new one to <data dir>/control.token")
 * on a data directory run cannot write, while journal-location beside it FAILed: run would then
 * fail at start writing the token. Without CWTS_CONTROL_TOKEN the token file must be writable
 * where run writes it, by the same probe as journal-location; with the variable no file is needed.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { checkControlToken } from './deploy-checks.js';
import { runDoctor } from './index.js';

const TOKEN = 'a-long-enough-control-token-1234';
const noHost = { readFile: () => undefined, listDir: () => undefined, run: () => undefined };

describe('doctor control-token: the token file must be writable where run writes it', () => {
  it('a data directory behind a file in the way: control-token FAILs with journal-location, naming the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-token-'));
    writeFileSync(join(dir, 'file'), 'x');
    const dataDir = join(dir, 'file', 'data');
    const checks = await runDoctor({ offline: true, dataDir, env: {}, host: noHost });
    const status = (id: string) => checks.find((c) => c.id === id)!;
    expect(status('journal-location').status).toBe('FAIL');
    expect(status('control-token')).toMatchObject({
      status: 'FAIL',
      detail: `not set, and run cannot write it to ${join(dataDir, 'control.token')}: ${join(dir, 'file')} is in the way and is not a directory`,
      fix: expect.stringContaining('CWTS_CONTROL_TOKEN'),
    });
  });

  it('set in CWTS_CONTROL_TOKEN: no file is needed, PASS whatever the data directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-token-'));
    writeFileSync(join(dir, 'file'), 'x');
    expect(checkControlToken({ CWTS_CONTROL_TOKEN: TOKEN }, join(dir, 'file', 'data'))).toMatchObject({ status: 'PASS' });
  });

  it('a writable data directory (or one that will be created in a writable one): PASS', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-token-'));
    expect(checkControlToken({}, join(dir, 'data'))).toMatchObject({ status: 'PASS', detail: `not set: run writes a new one to ${join(dir, 'data', 'control.token')} at each start` });
  });

  // root writes through any mode bits: only another user sees a read-only directory as one
  it.skipIf(process.getuid?.() === 0)('a directory without write permission: FAIL', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-doctor-token-'));
    chmodSync(dir, 0o500);
    try {
      expect(checkControlToken({}, dir)).toMatchObject({ status: 'FAIL', detail: expect.stringContaining(`${dir} is not writable by this user`) });
    } finally {
      chmodSync(dir, 0o700);
    }
  });
});
