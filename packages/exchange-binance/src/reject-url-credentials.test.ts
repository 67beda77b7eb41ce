/**
 * rest_url with proxy credentials (docs/configuration.md: URL credentials are supported and
 * "never shown"). ccxt puts the full request URL, userinfo included, in its errors; the rejection
 * text of an order or cancel (mapBinanceError), which the engine journals and exports in the OTel
 * ack span, must not carry the proxy password (redactCredentials masks URL credentials).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { binanceErrorMap, mapBinanceError } from './errors.js';

const PASS = 'SEKRET-proxypass-xyz-123';

describe('binance order/cancel rejection text and URL credentials', () => {
  let server: Server | undefined;
  afterEach(async () => {
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('a proxy password in rest_url does not reach the rejection text', async () => {
    server = createServer((_q, r) => void r.writeHead(503, { 'content-type': 'text/html' }).end('<html>503 Service Unavailable</html>'));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const root = `http://trader:${PASS}@127.0.0.1:${(server.address() as AddressInfo).port}`;
    const mod = (await import('ccxt')) as any;
    const ex = new (mod.binance ?? mod.default.binance)({ apiKey: 'fakekey123', secret: 'fakesecret123', enableRateLimit: false, timeout: 2000 });
    // as execution.ts start() does: every endpoint re-rooted at rest_url
    for (const [k, u] of Object.entries(ex.urls.api)) if (typeof u === 'string') ex.urls.api[k] = root + new URL(u).pathname;
    let err: unknown;
    try {
      // the signed cancel request (DELETE /api/v3/order), as cancel() sends it
      await ex.privateDeleteOrder({ symbol: 'BTCUSDT', origClientOrderId: 'abc' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeDefined();
    const mapped = mapBinanceError(binanceErrorMap('binance'), err);
    // execution.ts cancelRefused()/rejectMapped(): report({ kind: 'rejected', text: m.text }) -> journal, OTel ack span
    expect(mapped.text).not.toContain(PASS);
    // the rest is told: the request, with the userinfo masked
    expect(mapped.text).toContain('http://[redacted]@127.0.0.1:');
  });
});
