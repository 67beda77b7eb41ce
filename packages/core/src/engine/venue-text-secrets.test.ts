/**
 * What a venue says reaches places the log's redactor never sees: a rejection's text is journaled,
 * exported in the OTel ack span and handed to the strategy; a failed reconciliation's error is on
 * /health/ready (open without the control token), /status and in the journal; a feed status
 * reason is on /health/ready and /status. ccxt puts the request URL in its errors, and htx signs
 * with the API key in it (AccessKeyId=...); a proxy URL carries its password. The engine masks
 * such text by value (EngineOptions.redact: composition passes the config's Redactor) and by
 * pattern (redactCredentials), before any of them sees it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { loadConfigFile } from '../config/load.js';
import { Redactor } from '../config/redact.js';
import type { BookSnapshotEvent } from '../domain/events.js';
import { defineInstrument } from '../domain/instrument.js';
import type { ExecutionReport } from '../domain/orders.js';
import type { JournalRecord } from '../journal/records.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import type { EngineTracing } from '../observability/tracing/hooks.js';
import { composeDeployment } from './compose.js';
import { Engine, type EngineTimers } from './engine.js';
import { engineHealth, engineStatus } from './status.js';
import { ScriptedVenue } from './test-venue.js';

const KEY = 'SEKRET-apikey-engine-123';
const PASS = 'SEKRET-proxypass-engine-123';
const BTC = defineInstrument({ exchange: 'v', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });
const timers: EngineTimers = { setTimeout: () => ({}), clearTimeout: () => {} };
const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
const snapshot = (): BookSnapshotEvent => ({ type: 'book_snapshot', exchange: 'v', symbol: 'BTCUSDT', ts: 1, recvTs: 1, seq: 10, reason: 'initial', bids: [{ price: 5_000_000, qty: 1000 }], asks: [{ price: 5_000_100, qty: 1000 }] });

/** The config's redactor as the loader fills it: the key by value, the proxy URL's credentials. */
function configRedactor(): Redactor {
  const r = new Redactor();
  r.add(KEY, '${VENUE_API_KEY}');
  r.addUrlCredentials(`http://trader:${PASS}@proxy.example.com`);
  return r;
}

function engineWith(venue: ScriptedVenue, redact?: (text: string) => string) {
  const engine = new Engine({
    clock: new ManualClock(1_000_000), logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), watchdog: false, timers,
    venues: [{ name: 'v', symbols: ['BTCUSDT'], marketData: venue, execution: venue }],
    ...(redact ? { redact } : {}),
  });
  const journaled: JournalRecord[] = [];
  vi.spyOn(engine, 'journal').mockImplementation((rec) => void journaled.push(rec));
  return { engine, journaled };
}

/** OTel hooks that keep the reports they are shown (every other hook a no-op). */
function tracingSpy(seen: ExecutionReport[]): EngineTracing {
  return new Proxy({}, { get: (_t, k) => (k === 'report' ? (r: ExecutionReport) => void seen.push(r) : () => undefined) }) as EngineTracing;
}

describe('venue text and secrets: masked by value before the journal, /status, /health/ready and spans', () => {
  it('a failed reconciliation whose error quotes the api key bare (no pattern can tell it)', async () => {
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    venue.tradesSince = async () => {
      throw new Error(`htx GET http://trader:${PASS}@proxy.example.com/v1/order/matchresults 502 Bad Gateway: unknown key ${KEY}`);
    };
    const r = configRedactor();
    const { engine, journaled } = engineWith(venue, (t) => r.redact(t));
    await engine.start();
    const health = json(engineHealth(engine, () => []));
    for (const [where, text] of [['/health/ready', health], ['/status', json(engineStatus(engine))], ['journal', json(journaled)]] as const) {
      expect(text, where).not.toContain(KEY);
      expect(text, where).not.toContain(PASS);
    }
    // still told: only the secrets are masked
    expect(health).toContain('unknown key ${VENUE_API_KEY}');
    expect(health).toContain('http://[redacted]@proxy.example.com');
    await engine.stop('test');
  });

  it("a rejection's text: journal, OTel ack span and strategy see it masked; a report without text is passed as it came", async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const r = configRedactor();
    const { engine, journaled } = engineWith(venue, (t) => r.redact(t));
    const j = { path: 'mem', append: (rec: JournalRecord) => (journaled.push(rec), true), flush: () => {}, close: () => {} };
    (engine as unknown as { opts: { journal: unknown } }).opts.journal = j;
    await engine.start();
    const seen: ExecutionReport[] = [];
    engine.tracing = tracingSpy(seen);
    const sent: ExecutionReport[] = [];
    const intake = venue.onReport!;
    venue.onReport = (rep) => (sent.push(rep), intake(rep));
    venue.sink!.onMarketEvent(snapshot());
    const intent = { exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty: 10, tif: 'GTC', source: 't' } as const;
    expect(engine.submit(intent)).toMatchObject({ accepted: true });
    expect(engine.submit(intent)).toMatchObject({ accepted: true });
    const [first, second] = venue.submitted;
    venue.report(first!, { kind: 'ack', venueOrderId: 'V1', leavesQty: 10 });
    const ack = seen[0]!;
    venue.report(second!, { kind: 'rejected', rejects: 'order', rejectReason: 'AUTH_FAILED', text: `htx POST http://trader:${PASS}@proxy.example.com/v1/order?AccessKeyId=${KEY}&Signature=x 401: key ${KEY} refused` });
    const shown = json([seen, journaled]);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(PASS);
    expect(seen[1]!.text).toBe('htx POST http://[redacted]@proxy.example.com/v1/order?AccessKeyId=[redacted]&Signature=[redacted] 401: key ${VENUE_API_KEY} refused');
    expect(engine.orders.get(second!.clientOrderId)?.text ?? '').not.toContain(KEY);
    // no text, nothing done: the adapter's own object, not a copy
    expect(ack).toBe(sent[0]);
    expect(ack.text).toBeUndefined();
    await engine.stop('test');
  });

  it('the pattern scrubber applies without a redactor: a key in the query string (htx AccessKeyId)', async () => {
    const venue = new ScriptedVenue('v', [BTC], { canTrade: true }, false);
    venue.tradesSince = async () => {
      throw new Error(`htx GET http://127.0.0.1:9/v1/order/matchresults?AccessKeyId=${KEY}&SignatureMethod=HmacSHA256&Signature=abc 502 Bad Gateway`);
    };
    const { engine, journaled } = engineWith(venue);
    await engine.start();
    const shown = json([engineHealth(engine, () => []), engineStatus(engine), journaled]);
    expect(shown).not.toContain(KEY);
    expect(shown).toContain('AccessKeyId=[redacted]');
    await engine.stop('test');
  });

  it('a feed status reason on /health/ready and /status', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    const r = configRedactor();
    const { engine } = engineWith(venue, (t) => r.redact(t));
    await engine.start();
    venue.sink!.onFeedStatus({ type: 'feed_status', exchange: 'v', symbol: 'BTCUSDT', state: 'disconnected', reason: `socket closed: 401 at ws://trader:${PASS}@proxy.example.com/ws?listenKey=abc (key ${KEY})`, ts: 1 });
    const shown = json([engineHealth(engine, () => []), engineStatus(engine)]);
    expect(shown).not.toContain(KEY);
    expect(shown).not.toContain(PASS);
    expect(shown).toContain('socket closed: 401');
    await engine.stop('test');
  });
});

describe('composeDeployment wires the config redactor into the engine', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cwts-venue-text-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("EngineOptions.redact masks the config's ${VAR} values and URL passwords", async () => {
    const f = path.join(dir, 'config.toml');
    writeFileSync(
      f,
      `[system]\nname = "venue-text-secrets"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\napi_key = "\${CWTS_TEST_VENUE_KEY}"\napi_secret = "\${CWTS_TEST_VENUE_KEY}"\nrest_url = "http://trader:\${CWTS_TEST_VENUE_PASS}@127.0.0.1:9"\n\n` +
        `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n`,
    );
    const loaded = loadConfigFile(f, { ...process.env, CWTS_TEST_VENUE_KEY: KEY, CWTS_TEST_VENUE_PASS: PASS });
    const dep = await composeDeployment({ loaded, logger: silentLogger(), metrics: new MetricsRegistry(), journal: false, watchdog: false });
    try {
      const redact = (dep.engine as unknown as { opts: { redact?: (t: string) => string } }).opts.redact;
      expect(redact).toBeTypeOf('function');
      const out = redact!(`refused: key ${KEY} via http://trader:${PASS}@127.0.0.1:9/x`);
      expect(out).not.toContain(KEY);
      expect(out).not.toContain(PASS);
    } finally {
      await dep.dispose();
    }
  });
});
