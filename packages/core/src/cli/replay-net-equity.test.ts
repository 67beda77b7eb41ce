/**
 * The replay summary called net PnL "equity" (`equity -0.5`) while the statistics, the report
 * and /status call equity the starting capital plus net PnL: the text line now says `net`, and
 * equity is printed only as starting capital + net. `--json` adds `net`; its old `equity` field
 * keeps its meaning (net PnL) for existing consumers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-replay-net-equity-'));
const T = 1_700_000_000_000;
const strategyPlugin = resolve(__dirname, '../../../../examples/reference-app/dist/strategy/index.js');

/** A whale the reference strategy follows with a taker buy of ~1000 USDT: a fee, so net PnL is not zero. */
function recording(): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
  const ev: unknown[] = [
    { type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 1_000_000 }], asks: [{ price: 6_000_000, qty: 1_000_000 }] },
    { type: 'feed_status', exchange: 'sim', symbol: 'BTCUSDT', state: 'synced', reason: 'snapshot', ts: T },
  ];
  for (let i = 1; i <= 40; i++) ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + i * 100, recvTs: T + i * 100, tradeId: `n${i}`, price: 6_000_000, qty: 3_000 + (i % 7) * 100, side: i % 2 ? 'buy' : 'sell' });
  ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_100, recvTs: T + 4_100, tradeId: 'whale', price: 6_000_000, qty: 500_000, side: 'buy' });
  for (let i = 1; i <= 5; i++) ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + 4_200 + i * 100, recvTs: T + 4_200 + i * 100, tradeId: `a${i}`, price: 6_000_000, qty: 3_000, side: 'buy' });
  const file = join(dir, 'rec.jsonl');
  writeFileSync(file, [header, ...ev].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

const cfg = join(dir, 'c.toml');
writeFileSync(cfg, simConfig('replay-net-equity', `[detectors.whale]
enabled = true
warmup_trades = 20
bursts = false
walls = false
[strategy]
plugin = ${JSON.stringify(strategyPlugin)}
order_notional = 1000
`).replace('var_confidence = 0.99', 'var_confidence = 0.99\ninitial_equity = 5000'));

describe('replay summary: net PnL and equity', () => {
  it('--json has net (PnL only) beside the old equity field of the same meaning, and equity in stats', async () => {
    const out: string[] = [];
    expect(await replayCommand({ config: cfg, data: recording(), json: true, err: () => {} }, (l) => out.push(l))).toBe(0);
    const s = JSON.parse(out[0]!);
    expect(s.fills).toBeGreaterThan(0);
    expect(Number(s.net)).toBeLessThan(0);
    expect(s.equity).toBe(s.net);
    expect(s.net).toBe(s.stats.net);
    expect(s.stats.initialEquity).toBe('5000');
    expect(Number(s.stats.finalEquity)).toBeCloseTo(5000 + Number(s.net), 9);
  }, 120_000);

  it('the text summary labels net PnL "net" and prints equity as starting capital + net', async () => {
    const json: string[] = [];
    await replayCommand({ config: cfg, data: recording(), json: true, err: () => {} }, (l) => json.push(l));
    const s = JSON.parse(json[0]!);
    const out: string[] = [];
    expect(await replayCommand({ config: cfg, data: recording(), json: false, err: () => {} }, (l) => out.push(l))).toBe(0);
    expect(out).toContain(`PnL realized ${s.realizedPnl}, unrealized ${s.unrealizedPnl}, fees ${s.fees}, net ${s.net}`);
    expect(out).toContain(`equity ${s.stats.finalEquity} (initial 5000 + net)`);
    expect(out.filter((l) => /\bequity\b/.test(l))).toEqual([`equity ${s.stats.finalEquity} (initial 5000 + net)`]);
  }, 120_000);
});
