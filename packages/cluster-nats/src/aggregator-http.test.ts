import { request } from 'node:http';
import { HttpEndpoint } from '@cwts/core/observability';
import { afterEach, describe, expect, it } from 'vitest';
import { aggregatorRoutes, type AggregateView } from './aggregator-http.js';

const open: HttpEndpoint[] = [];
afterEach(async () => {
  for (const e of open.splice(0)) await e.close();
});

/** One GET with the Host header exactly as given (fetch cannot set it). */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host }, setHost: true }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// The whole portfolio view: exposures by instrument, equity, drawdown.
const view: AggregateView = {
  shards: 1, stale: [], equity: 123_000n, peak: 124_000n, drawdown: 0.01, grossExposure: 50_000n, reserved: 0n, halted: [], superseded: 0,
  reservedInKv: null, budgetError: null, limit: null, rejectedMessages: 0,
  var: { method: 'historical', confidence: 0.99, value: 10, cvar: 12, observations: 100, exposures: { 'binance:BTCUSDT': 50_000 }, missing: [], at: 1 },
  varError: null, maxVar: null, reducing: false, reduceError: null, controlError: null, controlReadAt: 1, metricsUrl: null,
};

describe('risk aggregator HTTP routes', () => {
  it("/status on loopback refuses a request addressed to a foreign host name (DNS rebinding), as a shard's /status does", async () => {
    const refused: [string, string][] = [];
    const http = new HttpEndpoint('risk-aggregator', aggregatorRoutes(() => view, true, (path, host) => refused.push([path, host])));
    open.push(http);
    const port = await http.listen(0, '127.0.0.1');
    // addressed to loopback (any port, as through an SSH tunnel): answered
    expect((await get(port, '/status', `127.0.0.1:${port}`)).status).toBe(200);
    expect((await get(port, '/status', 'localhost:18080')).status).toBe(200);
    // what a web page on attacker.example, re-pointed at 127.0.0.1, sends from a browser on the host
    const r = await get(port, '/status', `attacker.example:${port}`);
    expect({ status: r.status, leaksExposures: r.body.includes('BTCUSDT') }).toEqual({ status: 403, leaksExposures: false });
    expect(refused).toEqual([['/status', `attacker.example:${port}`]]);
    // /metrics stays open to any Host: Prometheus scrapes it by whatever name it knows the host by
    expect((await get(port, '/metrics', `attacker.example:${port}`)).status).toBe(200);
  });

  it('serves no /status when not bound to loopback', async () => {
    const http = new HttpEndpoint('risk-aggregator', aggregatorRoutes(() => view, false));
    open.push(http);
    const port = await http.listen(0, '127.0.0.1');
    expect((await get(port, '/status', `127.0.0.1:${port}`)).status).toBe(404);
    expect((await get(port, '/metrics', `127.0.0.1:${port}`)).status).toBe(200);
  });
});
