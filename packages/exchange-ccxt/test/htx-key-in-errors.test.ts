/**
 * A ccxt venue that signs in the query string (htx, bittrade: `AccessKeyId=<api_key>`) puts the
 * API key in every private request URL, and ccxt puts that URL in its error messages (HTTP 5xx,
 * 429, timeouts, network errors). A failed read reaches the engine's reconciliation (shown on the
 * open /health/ready, on /status, journaled); a refused cancel's text is journaled and exported in
 * the OTel ack span. Neither may carry the key (fake keys, a gateway on 127.0.0.1).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExecutionReport, Order } from '@cwts/core';
import { Secret } from '../../core/src/config/secret.js';
import { ManualClock } from '../../core/src/contracts/clock.js';
import { silentLogger } from '../../core/src/observability/logger.js';
import { MetricsRegistry } from '../../core/src/observability/metrics.js';
import { Engine, type EngineTimers } from '../../core/src/engine/engine.js';
import { engineHealth, engineStatus } from '../../core/src/engine/status.js';
import { ScriptedVenue } from '../../core/src/engine/test-venue.js';
import { createCcxtVenue } from '../src/plugin.js';

const KEY = 'SEKRET-apikey-xyz-123';
const timers: EngineTimers = { setTimeout: () => ({}), clearTimeout: () => {} };
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

/** An htx venue whose gateway answers every request with `status`; markets as ccxt would have loaded them. */
async function htxBehind(status: number) {
  server = createServer((_q, r) => void r.writeHead(status, { 'content-type': 'text/html' }).end(`<html>${status}</html>`));
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const venue = createCcxtVenue(
    { api_key: new Secret(KEY), api_secret: new Secret('SEKRET-secret-xyz-123'), rest_url: `http://127.0.0.1:${port}`, options: { ccxt_id: 'htx' } },
    { exchange: 'htx', clock: new ManualClock(1_000_000) },
  );
  const ex = (await venue.ccxt()) as any;
  ex.setMarkets([{ id: 'btcusdt', symbol: 'BTC/USDT', base: 'BTC', quote: 'USDT', baseId: 'btc', quoteId: 'usdt', type: 'spot', spot: true, active: true, precision: { price: 0.01, amount: 0.0001 }, limits: { amount: {}, price: {}, cost: {} }, info: {} }]);
  ex.loadMarkets = async () => ex.markets;
  const instruments = await venue.marketData.loadInstruments(['btcusdt']);
  return { venue, instruments };
}

describe('htx via @cwts/exchange-ccxt: the API key in venue error text', () => {
  it('a failed read rethrows ccxt error with the key masked, its class kept', async () => {
    const { venue } = await htxBehind(502);
    await venue.execution.start(() => {});
    const err = (await venue.execution.tradesSince!(['btcusdt'], 0).catch((e: unknown) => e)) as Error;
    await venue.execution.stop();
    expect(err).toBeInstanceOf(Error);
    expect(err.constructor.name).toBe('ExchangeNotAvailable');
    expect(err.message).toContain('AccessKeyId=[redacted]');
    expect(err.message).not.toContain(KEY);
    expect(String(err.stack)).not.toContain(KEY);
  });

  it('a 502 during reconciliation: the key reaches neither /health/ready, /status nor the journal', async () => {
    const { venue, instruments } = await htxBehind(502);
    const md = new ScriptedVenue('htx', instruments, { canTrade: true }, false);
    // no redactor: the adapter's own masking is what is tested here
    const engine = new Engine({
      clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
      venues: [{ name: 'htx', symbols: ['btcusdt'], marketData: md, execution: venue.execution }],
    });
    const journaled: unknown[] = [];
    vi.spyOn(engine, 'journal').mockImplementation((rec) => void journaled.push(rec));
    await engine.start();
    const health = json(engineHealth(engine, () => []));
    const status = json(engineStatus(engine));
    const journal = json(journaled);
    await engine.stop('test');
    expect(health).toMatch(/not reconciled: htx \(reconciliation could not complete/);
    expect.soft(health, '/health/ready (open without the control token)').not.toContain(KEY);
    expect.soft(status, '/status').not.toContain(KEY);
    expect.soft(journal, 'journal').not.toContain(KEY);
  });

  it("a cancel refused with HTTP 429: the rejection's text (journal, OTel ack span) carries no key", async () => {
    const { venue } = await htxBehind(429);
    const reports: ExecutionReport[] = [];
    await venue.execution.start((r) => void reports.push(r));
    const order: Order = {
      exchange: 'htx', symbol: 'btcusdt', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 't',
      clientOrderId: 'cw-1', venueOrderId: '12345', status: 'open', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: 1, updatedTs: 1,
    };
    venue.execution.cancel(order);
    for (let i = 0; i < 200 && reports.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await venue.execution.stop();
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejects: 'request', rejectReason: 'RATE_LIMITED' });
    expect(reports[0]!.text).toContain('AccessKeyId=[redacted]');
    expect(reports[0]!.text).not.toContain(KEY);
  });
});
