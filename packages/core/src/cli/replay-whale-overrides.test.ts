/**
 * Whale per-symbol overrides must name a configured venue:symbol; replay replaces the venues with
 * the recording's one exchange and its recorded symbols, so an override for the deployment's other
 * venue or a symbol the recording does not hold once made `cwts-ultra replay` refuse a config that
 * validates and runs live. They are checked against the config's venues, and simply do not apply
 * to what the replay lacks.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfigCommand } from './validate.js';
import { replayCommand } from './replay.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-review-replay-whale-'));
const T = 1_700_000_000_000;

const config = `[system]
name = "review-replay-whale"
[exchanges]
enabled = ["sim", "sim2"]
[sim]
plugin = "@cwts/exchange-sim"
symbols = ["BTCUSDT", "ETHUSDT"]
[sim2]
plugin = "@cwts/exchange-sim"
symbols = ["ETHUSDT"]
[risk]
max_position = 100000
max_drawdown = 0.15
var_confidence = 0.99
[compute]
backends = ["js"]
[detectors.whale]
enabled = true
[detectors.whale.symbols."sim:ETHUSDT"]
min_notional = 250000
[detectors.whale.symbols."sim2:ETHUSDT"]
min_notional = 250000
`;

function recording(): string {
  const header = { kind: 'cwts-recording', version: 1, instruments: [{ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001', minNotional: '0' }] };
  const ev: unknown[] = [
    { type: 'book_snapshot', exchange: 'sim', symbol: 'BTCUSDT', ts: T, recvTs: T, seq: 1, reason: 'initial', bids: [{ price: 5_999_900, qty: 1_000_000 }], asks: [{ price: 6_000_000, qty: 1_000_000 }] },
  ];
  for (let i = 1; i <= 10; i++) ev.push({ type: 'trade', exchange: 'sim', symbol: 'BTCUSDT', ts: T + i * 100, recvTs: T + i * 100, tradeId: `n${i}`, price: 6_000_000, qty: 3_000, side: i % 2 ? 'buy' : 'sell' });
  const file = join(dir, 'btc.jsonl');
  writeFileSync(file, [header, ...ev].map((l) => JSON.stringify(l)).join('\n') + '\n');
  return file;
}

describe('replay of a deployment with whale per-symbol overrides', () => {
  it('a config that validates replays a one-venue recording (the overrides for what the recording lacks simply do not apply)', async () => {
    const cfg = join(dir, 'live.toml');
    writeFileSync(cfg, config);
    // the live deployment is valid
    await validateConfigCommand({ config: cfg }, () => {});
    const out: string[] = [];
    const code = await replayCommand({ config: cfg, data: recording(), json: true, err: () => {} }, (l) => out.push(l)).catch((e: unknown) => (e as Error).message);
    expect(code).toBe(0);
  }, 120_000);
});
