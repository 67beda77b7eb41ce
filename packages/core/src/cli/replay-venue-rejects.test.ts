/**
 * Orders the simulated venue rejects are in the replay's summary and report, by reason. The
 * engine's `rejected` ("refused") counts only its own refusals, which never reached a venue; a
 * venue rejection (here BOOK_NOT_SYNCED: the recorded feed broke while the order was on its way)
 * left "orders 1 (0 refused), fills 0", what an order still working would show, and the report
 * page had no order figures at all.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-venue-rejects-'));
const T = 1_700_000_000_000;
const strategyPlugin = resolve(__dirname, '../../../../examples/reference-app/dist/strategy/index.js');

const config = simConfig('replay-venue-rejects', `[detectors.whale]
enabled = true
warmup_trades = 20
bursts = false
walls = false
[strategy]
plugin = ${JSON.stringify(strategyPlugin)}
order_notional = 1000
`);

function recording(): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
  const book = (ts: number, seq: number, reason: string) => ({ type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts, recvTs: ts, seq, reason, bids: [{ price: 5_999_900, qty: 1_000_000 }], asks: [{ price: 6_000_000, qty: 1_000_000 }] });
  const ev: unknown[] = [book(T, 1, 'initial'), { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T }];
  for (let i = 1; i <= 40; i++) ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + i * 100, recvTs: T + i * 100, tradeId: `n${i}`, price: 6_000_000, qty: 3_000 + (i % 7) * 100, side: i % 2 ? 'buy' : 'sell' });
  // the whale: the follower's IOC goes out now and reaches the venue 5 ms later
  ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_100, recvTs: T + 4_100, tradeId: 'whale', price: 6_000_000, qty: 500_000, side: 'buy' });
  // 1 ms later the feed lost updates: the venue refuses the order BOOK_NOT_SYNCED when it arrives
  ev.push({ type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'resyncing', reason: 'sequence_gap', ts: T + 4_101 });
  ev.push(book(T + 4_500, 50, 'resync'), { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T + 4_500 });
  ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_600, recvTs: T + 4_600, tradeId: 'after', price: 6_000_000, qty: 3_000, side: 'buy' });
  const file = join(dir, 'rec.jsonl');
  writeFileSync(file, [header, ...ev].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('replay: orders the venue rejected', () => {
  it('are counted by reason in the --json summary and shown on the report page', async () => {
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, config);
    const out: string[] = [];
    const page = join(dir, 'r.html');
    const code = await replayCommand({ config: cfg, data: recording(), json: true, report: page, err: () => {} }, (l) => out.push(l));
    expect(code).toBe(0);
    const s = JSON.parse(out[0]!);
    expect({ orders: s.orders, fills: s.fills, rejected: s.rejected, venueRejected: s.venueRejected, venueRejectReasons: s.venueRejectReasons, cancelled: s.cancelled, openAtEnd: s.openAtEnd }).toEqual({
      orders: 1,
      fills: 0,
      rejected: 0, // the engine refused nothing: it sent the order
      venueRejected: 1,
      venueRejectReasons: { BOOK_NOT_SYNCED: 1 },
      cancelled: 0,
      openAtEnd: 0,
    });
    const html = readFileSync(page, 'utf8');
    expect(html).toContain('<tr><th>Orders sent</th><td>1 (0 filled, 0 cancelled, 1 rejected, 0 open at the end)</td></tr>');
    expect(html).toContain('<tr><th>Orders rejected by the venue</th><td>1 (BOOK_NOT_SYNCED 1)</td></tr>');
    expect(html).toContain('<tr><th>Orders refused by the engine (not sent)</th><td>0</td></tr>');
  }, 120_000);

  it('the text summary names them', async () => {
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, config);
    const out: string[] = [];
    expect(await replayCommand({ config: cfg, data: recording(), json: false, err: () => {} }, (l) => out.push(l))).toBe(0);
    expect(out).toContain('signals 1, orders 1 sent (0 refused by the engine, not sent), fills 0');
    expect(out).toContain('orders at the venue: 1 rejected (BOOK_NOT_SYNCED 1), 0 cancelled, 0 open at the end');
  }, 120_000);
});
