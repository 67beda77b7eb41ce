/**
 * `load-test` exit codes (main.ts description, LOAD_TEST_EXIT, docs/operations.md): 0 every step
 * passed, 1 a target missed, 2 the load test could not run. Attached to an app (--url) that cannot
 * be scraped, nothing was measured: that is "could not run", not "a target missed" (it exited 1).
 * Servers on loopback only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../main.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
});

async function cli(...args: string[]): Promise<{ code: number; stderr: string }> {
  const written: string[] = [];
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => (written.push(String(s)), true));
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return { code: await main(['node', 'cwts-ultra', ...args]), stderr: written.join('') };
  } finally {
    err.mockRestore();
    out.mockRestore();
  }
}

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('load-test --url: nothing measured is exit 2 (could not run), never 1 (target missed)', () => {
  it('an app that is not there', async () => {
    const port = await closedPort();
    const r = await cli('load-test', '--url', `http://127.0.0.1:${port}/metrics`, '--step-seconds', '0.2', '--windows', '3');
    expect(r.code).toBe(2);
    // the reason, not fetch's bare "fetch failed", and once: the windows after it are not tried
    expect(r.stderr).toContain(`window 1 could not be measured: http://127.0.0.1:${port}/metrics: connect ECONNREFUSED`);
    expect(r.stderr).not.toContain('window 2');
  });

  it('a URL that answers 404 (not a /metrics endpoint)', async () => {
    const s = createServer((_req, res) => {
      res.writeHead(404);
      res.end('no');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const r = await cli('load-test', '--url', `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`, '--step-seconds', '0.2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/window 1 could not be measured: http:\/\/127\.0\.0\.1:\d+\/metrics: HTTP 404/);
  });

  it('an app measured that misses a target is still exit 1', async () => {
    // a /metrics without a single order: the p99 check fails ("no order at all is a FAIL")
    const s = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('# TYPE cwts_orders_total counter\ncwts_orders_total{exchange="sim",status="submitted"} 0\n');
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const r = await cli('load-test', '--url', `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`, '--step-seconds', '0.2');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('could not be measured');
  });
});
