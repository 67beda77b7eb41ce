import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { riskCommand } from '../cli/risk.js';
import type { RiskStateName } from './risk-state.js';
import { RiskControlServer, controlRequest, type RiskControls } from './control.js';
import { CONTROL_TOKEN_FILE, establishControlToken, readControlToken, tokensEqual } from './control-token.js';

/** Records what the endpoint asked for; the real RiskManager is covered in manager.test.ts. */
class FakeControls implements RiskControls {
  state: RiskStateName = 'ACTIVE';
  calls: string[] = [];
  halt(reason?: string) { this.state = 'HALTED'; this.calls.push(`halt:${reason}`); }
  reduce(reason?: string) { this.state = 'REDUCING'; this.calls.push(`reduce:${reason}`); }
  resume(reason?: string) { this.state = 'ACTIVE'; this.calls.push(`resume:${reason}`); return this.state; }
  status() { return { state: this.state }; }
}

interface RawResponse { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** node:http rather than fetch: fetch does not let a test choose the Host header or stream a body. */
function raw(port: number, o: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean; noHost?: boolean }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: o.method ?? 'POST', path: o.path, headers: o.headers, setHost: !o.noHost }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // the server answers 413/401 before reading a large body and closes: a write after that may fail
    req.on('error', (err) => reject(err));
    if (o.body !== undefined) {
      if (!o.chunked) req.setHeader('content-length', Buffer.byteLength(o.body));
      req.end(o.body);
    } else req.end();
  });
}

let dir: string;
let logs: string[];
let controls: FakeControls;
let server: RiskControlServer;
let port: number;
let token: string;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cwts-control-'));
  logs = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(String(chunk)); cb(); } });
  controls = new FakeControls();
  token = establishControlToken({ env: {}, dataDir: dir }).token;
  server = new RiskControlServer(controls, { token, logger: createLogger({ destination: sink, pretty: false, level: 'debug' }) });
  port = await server.listen(0, '127.0.0.1');
});

afterEach(async () => {
  vi.restoreAllMocks();
  await server.close();
});

const host = () => `127.0.0.1:${port}`;
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

describe('control endpoint: token', () => {
  it('refuses a request without a token with 401 and changes nothing', async () => {
    const r = await raw(port, { path: '/risk/resume', headers: { host: host(), 'x-cwts-control': '1' }, body: '{}' });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer');
    expect(JSON.parse(r.body).error).toMatch(/missing control token/);
    expect((await raw(port, { method: 'GET', path: '/risk', headers: { host: host() } })).status).toBe(401);
    expect(controls.calls).toEqual([]);
  });

  it('refuses a wrong token (also one of another length) with 401', async () => {
    for (const wrong of [token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A'), 'x', token + 'x']) {
      const r = await raw(port, { path: '/risk/halt', headers: { host: host(), ...bearer(wrong) }, body: '{}' });
      expect(r.status).toBe(401);
      expect(JSON.parse(r.body).error).toMatch(/wrong control token/);
    }
    expect(controls.calls).toEqual([]);
  });

  it('acts on the right token, with every loopback Host spelling', async () => {
    const r = await raw(port, { path: '/risk/halt', headers: { host: host(), ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'fat finger' }) });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ state: 'HALTED' });
    for (const h of [`localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`, `127.0.0.1:${port}`]) {
      expect((await raw(port, { method: 'GET', path: '/risk', headers: { host: h, ...bearer(token) } })).status).toBe(200);
    }
    expect(await controlRequest(`http://127.0.0.1:${port}`, 'resume', { token })).toEqual({ status: 200, body: { state: 'ACTIVE' } });
    expect(controls.calls).toEqual(['halt:fat finger', 'resume:manual (control endpoint)']);
  });

  it('never logs the token, on refusals or on success', async () => {
    await raw(port, { path: '/risk/halt', headers: { host: host(), ...bearer(token + 'x') }, body: '{}' });
    await raw(port, { path: '/risk/halt', headers: { host: host(), ...bearer(token) }, body: '{}' });
    expect(logs.length).toBeGreaterThanOrEqual(2);
    for (const line of logs) expect(line).not.toContain(token);
  });

  it('compares tokens in constant time over hashes (equal and unequal, any length)', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('', 'abc')).toBe(false);
    expect(tokensEqual('a'.repeat(1000), 'abc')).toBe(false);
  });
});

describe('control endpoint: Host header (DNS rebinding)', () => {
  it('refuses any Host that is not a loopback name with this port, even with the right token', async () => {
    for (const h of ['evil.example:' + port, 'evil.example', `127.0.0.1:${port + 1}`, '127.0.0.1', `localhost.evil.example:${port}`, `[::2]:${port}`]) {
      const r = await raw(port, { path: '/risk/resume', headers: { host: h, ...bearer(token) }, body: '{}' });
      expect(r.status, h).toBe(403);
    }
    expect((await raw(port, { method: 'GET', path: '/risk', headers: { host: 'rebind.example:' + port, ...bearer(token) } })).status).toBe(403);
    // no Host at all: node's server refuses an HTTP/1.1 request without one before routing it
    expect((await raw(port, { method: 'GET', path: '/risk', headers: bearer(token), noHost: true })).status).toBe(400);
    expect(controls.calls).toEqual([]);
  });
});

describe('control endpoint: body limit', () => {
  it('answers a 1 MB body with 413 (declared length) without acting', async () => {
    const r = await raw(port, { path: '/risk/resume', headers: { host: host(), ...bearer(token) }, body: Buffer.alloc(1 << 20, 0x20) });
    expect(r.status).toBe(413);
    expect(r.headers.connection).toBe('close');
    expect(controls.calls).toEqual([]);
  });

  it('answers a chunked body that grows past 4 KiB with 413 without acting', async () => {
    const r = await raw(port, { path: '/risk/halt', headers: { host: host(), ...bearer(token) }, body: Buffer.alloc(1 << 20, 0x20), chunked: true });
    expect(r.status).toBe(413);
    expect(controls.calls).toEqual([]);
    // the endpoint still serves the next request
    expect((await controlRequest(`http://127.0.0.1:${port}`, 'status', { token })).status).toBe(200);
  });

  it('accepts a body at the limit', async () => {
    const reason = 'r'.repeat(4096 - '{"reason":""}'.length);
    const r = await raw(port, { path: '/risk/reduce', headers: { host: host(), ...bearer(token) }, body: JSON.stringify({ reason }) });
    expect(r.status).toBe(200);
    expect(controls.calls).toEqual([`reduce:${reason.slice(0, 200)}`]);
  });
});

describe('control token file and the CLI', () => {
  it('is written with mode 0600 in the data directory, fresh at every start', () => {
    const path = join(dir, CONTROL_TOKEN_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(token);
    expect(token.length).toBeGreaterThanOrEqual(43); // 256 bits, base64url
    const again = establishControlToken({ env: {}, dataDir: dir });
    expect(again.token).not.toBe(token);
    expect(readFileSync(path, 'utf8').trim()).toBe(again.token);
  });

  it('an unwritable data directory is an error naming the path and the way out', () => {
    const blocked = join(dir, CONTROL_TOKEN_FILE, 'sub'); // under a regular file: ENOTDIR
    expect(() => establishControlToken({ env: {}, dataDir: blocked })).toThrow(/cannot write the control token to .*control\.token\/sub\/control\.token: ENOTDIR \(set CWTS_CONTROL_TOKEN, or CWTS_DATA_DIR/);
  });

  it('CWTS_CONTROL_TOKEN wins over the file, on both sides; a short one is refused', () => {
    const env = { CWTS_CONTROL_TOKEN: 'operator-chosen-token-1234' };
    expect(establishControlToken({ env, dataDir: join(dir, 'unused') })).toEqual({ token: 'operator-chosen-token-1234', source: { kind: 'env' } });
    expect(readControlToken({ env, dataDir: dir }).token).toBe('operator-chosen-token-1234');
    expect(() => establishControlToken({ env: { CWTS_CONTROL_TOKEN: 'short' }, dataDir: dir })).toThrow(/too short/);
  });

  it('`cwts-ultra risk` reads the token file from the data directory and works without flags', async () => {
    const out: string[] = [];
    const url = `http://127.0.0.1:${port}`;
    expect(await riskCommand('halt', { url, reason: 'from cli', env: { CWTS_DATA_DIR: dir } }, (l) => out.push(l))).toBe(0);
    expect(controls.calls).toEqual(['halt:from cli']);
    expect(await riskCommand('status', { url, json: true, env: { CWTS_DATA_DIR: dir } }, (l) => out.push(l))).toBe(0);
    expect(JSON.parse(out.at(-1)!)).toEqual({ state: 'HALTED' });
  });

  it('`cwts-ultra risk` does not send the token to a host that is not loopback', async () => {
    const env = { CWTS_DATA_DIR: dir };
    expect(await riskCommand('status', { url: 'http://203.0.113.7:8081', env }, () => {})).toBe(2);
    expect(await riskCommand('status', { url: 'http://localhost.evil.example:8081', env }, () => {})).toBe(2);
    expect(await riskCommand('status', { url: `http://localhost:${port}`, env }, () => {})).toBe(0);
  });

  it('`cwts-ultra risk` with no token anywhere fails naming where it looked', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'cwts-control-none-'));
    await expect(riskCommand('halt', { url: `http://127.0.0.1:${port}`, env: { CWTS_DATA_DIR: empty } }, () => {})).rejects.toThrow(new RegExp(`no control token.*${empty}/control.token: ENOENT`));
    expect(controls.calls).toEqual([]);
  });
});

// Any web page open in a browser on the trading host can fire no-cors POSTs at
// http://127.0.0.1:8081/risk/halt (Host is then a legitimate 127.0.0.1:8081, no token), and any
// local process can too: each refusal used to write one synchronous warn line on the engine thread.
describe('control endpoint: refusals are logged rate-limited', () => {
  const refusals = () => logs.filter((l) => l.includes('refused'));

  it('a flood of unauthenticated requests does not write one log line per request', async () => {
    vi.spyOn(performance, 'now').mockReturnValue(1_000_000); // the whole flood inside one 10 s
    for (let i = 0; i < 200; i++) expect((await raw(port, { path: '/risk/halt', headers: { host: host(), 'content-type': 'text/plain' }, body: '{}' })).status).toBe(401);
    expect(controls.state).toBe('ACTIVE');
    expect(refusals().length).toBeLessThanOrEqual(5);
  });

  it('a flood of DNS-rebinding requests (wrong Host) does not write one log line per request', async () => {
    vi.spyOn(performance, 'now').mockReturnValue(1_000_000); // the whole flood inside one 10 s
    for (let i = 0; i < 200; i++) expect((await raw(port, { path: '/risk/halt', headers: { host: `attacker.example:${port}` }, body: '{}' })).status).toBe(403);
    expect(refusals().length).toBeLessThanOrEqual(5);
  });

  it('logs each kind at once, then once per 10 s with the count held back; halts and resumes are logged as before', async () => {
    let now = 1_000_000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const post = (headers: Record<string, string>) => raw(port, { path: '/risk/halt', headers, body: '{}' });
    for (let i = 0; i < 3; i++) {
      expect((await post({ host: host() })).status).toBe(401);
      expect((await post({ host: host(), ...bearer(token + 'x') })).status).toBe(401);
      expect((await post({ host: `attacker.example:${port}` })).status).toBe(403);
    }
    expect(refusals().map((l) => JSON.parse(l).msg)).toEqual([
      'risk control: halt refused: no token',
      'risk control: halt refused: wrong token',
      `risk control: halt refused: Host is not loopback:${port}`,
    ]);
    now += 10_000;
    expect((await post({ host: host() })).status).toBe(401);
    expect(refusals().at(-1)).toContain('risk control: halt refused: no token (and 2 more like it not logged)');
    expect(refusals()).toHaveLength(4);
    // the refusals' throttle never holds back the actions themselves
    expect((await post({ host: host(), ...bearer(token) })).status).toBe(200);
    expect((await raw(port, { path: '/risk/resume', headers: { host: host(), ...bearer(token) }, body: '{}' })).status).toBe(200);
    const msgs = logs.map((l) => JSON.parse(l).msg);
    expect(msgs).toContain('risk control: halt (manual (control endpoint))');
    expect(msgs).toContain('risk control: resume (manual (control endpoint))');
  });
});
