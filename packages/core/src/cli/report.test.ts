import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { configDigest, loadConfigFile } from '../config/index.js';
import { writeSimRecording } from '../../test/fixtures/sim-recording.js';
import { MIGRATIONS } from '../journal/schema.js';
import { EXIT_RECORDING_DAMAGED, replayCommand } from './replay.js';
import { reportCommand } from './report.js';

/**
 * The HTML report embeds "Config (secrets redacted)". Credentials of a URL and `${VAR}` values are
 * secrets everywhere else (the config's redactor masks them in every log line and error), and
 * NATS credentials go in the URL through ${VAR} (docs/scale-out.md): a report is meant to be
 * shared, so neither may be written into it.
 */
const dir = mkdtempSync(join(tmpdir(), 'cwts-report-'));
const NATS_PW = 'nats-Pa55word-SEKRIT';
const OTEL_PW = 'otel-Pa55word-SEKRIT';
const LITERAL_PW = 'literal-Pa55word-in-the-file';
const VENUE_URL_PW = 'venue-Pa55word-SEKRIT';
const ENV = { NATS_PASSWORD: NATS_PW, OTEL_PASSWORD: OTEL_PW, SIM_URL: `wss://u:${VENUE_URL_PW}@127.0.0.1:1/ws` };

const CONFIG = `[system]
name = "leak"
[exchanges]
enabled = ["sim"]
[sim]
plugin = "@cwts/exchange-sim"
symbols = ["BTCUSDT"]
api_url = "\${SIM_URL}"
[risk]
max_position = 100000
max_drawdown = 0.15
var_confidence = 0.99
[monitoring]
tracing_endpoint = "https://otel:\${OTEL_PASSWORD}@collector.example:4318"
[compute]
backends = ["js"]
[cluster]
enabled = false
servers = ["nats://cwts:\${NATS_PASSWORD}@10.0.0.5:4222", "nats://cwts:${LITERAL_PW}@10.0.0.6:4222"]
`;

const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function config(): string {
  Object.assign(process.env, ENV);
  const p = join(dir, 'c.toml');
  writeFileSync(p, CONFIG);
  return p;
}

function expectNoSecret(html: string): void {
  expect(html).toContain('Config (secrets redacted)');
  for (const pw of [NATS_PW, OTEL_PW, LITERAL_PW, VENUE_URL_PW]) expect(html.includes(pw), `${pw.slice(0, 6)}... is in the report`).toBe(false);
  // Still the config: the hosts are shown, the credentials masked.
  expect(html).toContain('nats://[redacted]@10.0.0.5:4222');
  expect(html).toContain('collector.example:4318');
}

/** A journal with the real schema: one run, one fill, one snapshot. */
function journal(name = 'j.db'): string {
  const p = join(dir, name);
  const db = new Database(p);
  db.exec(MIGRATIONS[0]!);
  db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001', priceScale: { mantissa: '1n', exponent: 2 } }));
  db.prepare('INSERT INTO runs (run_id, started_at, pid, host, system_name, config_digest) VALUES (1, 0, 1, ?, ?, ?)').run('h', 'leak', 'abc');
  db.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(1, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '2000', 'USDT', 1000, 1000);
  db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(2, 'timer', (10n ** 21n).toString(), '0', '0', '0', JSON.stringify({ 'sim:BTCUSDT': 2_000_000 }), 1000);
  db.close();
  return p;
}

function recording(): string {
  return writeSimRecording(join(dir, 'rec.jsonl'), { seed: 7, seconds: 5 });
}

describe('the config shown in an HTML report', () => {
  it('report --config: no URL credentials or ${VAR} values', async () => {
    const out = join(dir, 'session.html');
    const code = await reportCommand({ journal: journal(), out, config: config(), json: true }, () => {});
    expect(code).toBe(0);
    expectNoSecret(readFileSync(out, 'utf8'));
  });

  it('replay --report: no URL credentials or ${VAR} values', async () => {
    const report = join(dir, 'replay.html');
    const code = await replayCommand({ config: config(), data: recording(), json: true, report, err: () => {} }, () => {});
    expect(code).toBe(0);
    expectNoSecret(readFileSync(report, 'utf8'));
  }, 120_000);
});

describe('report --data on a damaged recording', () => {
  it('writes the page, says what was wrong (with --json too), and exits as replay does on damage', async () => {
    const rec = recording();
    const lines = readFileSync(rec, 'utf8').trimEnd().split('\n');
    const k = lines.findIndex((l) => l.includes('"type":"trade"'));
    expect(k).toBeGreaterThan(0);
    lines.splice(k + 1, 0, JSON.stringify({ ...JSON.parse(lines[k]!), price: 0 }));
    const damaged = join(dir, 'damaged.jsonl');
    writeFileSync(damaged, lines.join('\n') + '\n');
    const printed: string[] = [];
    const out = join(dir, 'damaged.html');
    const db = journal('damaged.db');
    expect(await reportCommand({ journal: db, out, data: damaged }, (l) => printed.push(l))).toBe(EXIT_RECORDING_DAMAGED);
    expect(printed.join('\n')).toMatch(/warning: 1 trade line of the recording is not a valid trade/);
    expect(readFileSync(out, 'utf8')).toContain('not a valid trade');
    const json: string[] = [];
    expect(await reportCommand({ journal: db, out, data: damaged, json: true }, (l) => json.push(l))).toBe(EXIT_RECORDING_DAMAGED);
    expect(JSON.parse(json[0]!).warnings).toEqual([expect.stringMatching(/not a valid trade/)]);
    // the clean recording: exit 0, no warnings
    const clean: string[] = [];
    expect(await reportCommand({ journal: db, out, data: rec, json: true }, (l) => clean.push(l))).toBe(0);
    expect(JSON.parse(clean[0]!).warnings).toBeUndefined();
  });
});

describe('report --config without the venue keys in the environment', () => {
  it('loads the config (its secrets are shown as [redacted] anyway) and still matches the digest the run journaled', async () => {
    const p = join(dir, 'keys.toml');
    writeFileSync(p, CONFIG.replace('api_url = "${SIM_URL}"', 'api_url = "${SIM_URL}"\napi_key = "${SIM_API_KEY}"\napi_secret = "${SIM_API_SECRET}"'));
    Object.assign(process.env, ENV);
    // the digest run journaled, with the keys set
    const run = loadConfigFile(p, { ...process.env, SIM_API_KEY: 'sim-key-1234', SIM_API_SECRET: 'sim-secret-5678' });
    const db = journal('keys.db');
    const j = new Database(db);
    j.prepare('UPDATE runs SET config_digest = ?').run(configDigest(run.config));
    j.close();
    delete process.env.SIM_API_KEY;
    delete process.env.SIM_API_SECRET;
    const out = join(dir, 'keys.html');
    expect(await reportCommand({ journal: db, out, config: p, json: true }, () => {})).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('config digest, loaded (matches the journal)');
    expectNoSecret(html);
  });
});

describe('report --config: what the Inputs table and the Config section say about the config', () => {
  it('lists the file\'s sha256 as the config\'s, the loaded-config digest under its own label, and [routing] rates in bp as written', async () => {
    const p = join(dir, 'routing.toml');
    writeFileSync(p, CONFIG.replace('[compute]', '[routing]\ndefault_taker_fee_bps = 10\n[routing.venue.sim]\ntaker_fee_bps = 2.5\nlatency_penalty_bps = 0.01\n[compute]'));
    Object.assign(process.env, ENV);
    const loaded = loadConfigFile(p);
    const digest = configDigest(loaded.config);
    const db = journal('routing.db');
    const j = new Database(db);
    j.prepare('UPDATE runs SET config_digest = ?').run(digest);
    j.close();
    const out = join(dir, 'routing.html');
    expect(await reportCommand({ journal: db, out, config: p, json: true }, () => {})).toBe(0);
    const html = readFileSync(out, 'utf8');
    const inputs = /<table class="grid" id="inputs">(.*?)<\/table>/s.exec(html)![1]!;
    const rows = [...inputs.matchAll(/<tr><th>(.*?)<\/th><td>(.*?)<\/td><td class="mono">sha256 ([0-9a-f]{64})<\/td><\/tr>/g)].map((m) => ({ kind: m[1], path: m[2], sha256: m[3] }));
    // the file's hash, as replay --report lists it (sha256sum of the file), is what "config" says
    expect(rows).toContainEqual({ kind: 'config', path: p, sha256: createHash('sha256').update(readFileSync(p)).digest('hex') });
    // the digest is not the file's hash, and says what it is
    expect(rows).toContainEqual({ kind: 'config digest, loaded (matches the journal)', path: p, sha256: digest });
    expect(rows.filter((r) => r.kind === 'config').map((r) => r.sha256)).not.toContain(digest);
    // [routing] as the file writes it: 10 bp, not the router's 1000 millionths
    const shown = JSON.parse(/<pre id="config">(.*?)<\/pre>/s.exec(html)![1]!.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&#39;', "'"));
    expect(shown.routing.default_taker_fee_bps).toBe(10);
    expect(shown.routing.venue.sim).toMatchObject({ taker_fee_bps: 2.5, latency_penalty_bps: 0.01 });
    // the config itself still computes in millionths
    expect(loaded.config.routing!.default_taker_fee_bps).toBe(1000);
  });
});

describe('report --data with the recording of one run of a two-run journal, --to past the last record', () => {
  /** Snapshots every 10 s from 0 to 120 s with a mark (a position held from the fill at 1 s). */
  function twoRunJournal(): string {
    const p = join(dir, 'two-runs.db');
    const db = new Database(p);
    db.exec(MIGRATIONS[0]!);
    db.prepare('INSERT INTO instruments VALUES (?, ?, ?)').run('sim', 'BTCUSDT', JSON.stringify({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' }));
    db.prepare('INSERT INTO fills (seq, exchange, symbol, client_id, side, price, qty, fee_atoms, fee_asset, venue_ts, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run(1, 'sim', 'BTCUSDT', 'a', 'buy', 1_000_000, 2, '0', 'USDT', 1000, 1000);
    const snap = db.prepare('INSERT INTO snapshots (seq, why, equity, realized, unrealized, fees, marks, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (let t = 0; t <= 120_000; t += 10_000) snap.run(2 + t / 10_000, 'timer', (10n ** 21n).toString(), '0', '0', '0', JSON.stringify({ 'sim:BTCUSDT': 2_000_000 }), t);
    db.close();
    return p;
  }

  it('says which span the recording covered (--json and the page), exit 0; the statistics end at the last record', async () => {
    const rec = join(dir, 'run2.jsonl');
    const trade = (ts: number) => JSON.stringify({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: ts, tradeId: `t${ts}`, price: 1_000_000, qty: 1, side: 'buy' });
    writeFileSync(rec, [JSON.stringify({ kind: 'cwts-recording', version: 1, instruments: [] }), trade(90_000), trade(110_000)].join('\n') + '\n');
    const out = join(dir, 'two-runs.html');
    const db = twoRunJournal();
    const json: string[] = [];
    expect(await reportCommand({ journal: db, out, data: rec, to: '9999-12-31T23:59:59Z', json: true }, (l) => json.push(l))).toBe(0);
    const r = JSON.parse(json[0]!);
    expect(r.recordingSpan).toEqual({ firstTrade: '1970-01-01T00:01:30.000Z', lastTrade: '1970-01-01T00:01:50.000Z' });
    expect(r.warnings).toBeUndefined();
    expect(r.notes).toEqual([expect.stringMatching(/^prices are from the recording .* from 1970-01-01T00:01:30.000Z to 1970-01-01T00:01:50.000Z; the report covers 1970-01-01T00:00:00.000Z → 1970-01-01T00:02:00.000Z/)]);
    expect([r.stats.start, r.stats.end, r.stats.durationMs, r.stats.exposureMs]).toEqual([0, 120_000, 120_000, 119_000]);
    const html = readFileSync(out, 'utf8');
    expect(html).toContain('<p class="note">prices are from the recording');
    // the title still names the window asked for
    expect(html).toContain('(start → 9999-12-31T23:59:59Z)');
    const text: string[] = [];
    expect(await reportCommand({ journal: db, out, data: rec }, (l) => text.push(l))).toBe(0);
    expect(text[1]).toMatch(/^note: prices are from the recording/);
  });
});
