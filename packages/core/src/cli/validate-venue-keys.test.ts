// validate-config calls preparePlugins as run does, so a venue key the plugin does not honour
// (testnet = true on Coinbase: production endpoints, real money) is refused here before a start.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/index.js';
import { validateConfigCommand } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-venue-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(venue: string, symbol: string): string {
  const p = join(dir, `${venue}.toml`);
  writeFileSync(p, `
[system]
name = "venue-keys"
mode = "live"
[exchanges]
enabled = ["${venue}"]
[${venue}]
testnet = true
api_key = "\${K}"
api_secret = "\${S}"
symbols = ["${symbol}"]
[risk]
max_position = 1000
max_drawdown = 0.1
var_confidence = 0.99
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[compute]
backends = ["js"]
[journal]
path = "${join(dir, 'j.db')}"
`);
  return p;
}

const env = { K: 'venue-keys-test-key', S: 'venue-keys-test-secret' };

describe('validate-config: testnet = true', () => {
  it('a live config asking a plugin without a testnet for one is refused, naming the key and the venue', async () => {
    const lines: string[] = [];
    const err = await validateConfigCommand({ config: config('coinbase', 'BTC-USD'), env }, (l) => lines.push(l)).then(() => undefined, (e: unknown) => e);
    expect(err, lines.join('\n')).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: 'coinbase.testnet', message: expect.stringMatching(/^@cwts\/exchange-coinbase \(venue coinbase\) has no testnet/) }]);
  }, 60_000);

  it('on a plugin that has one, it is valid and the venue line says testnet', async () => {
    const lines: string[] = [];
    const code = await validateConfigCommand({ config: config('binance', 'BTCUSDT'), env }, (l) => lines.push(l));
    expect(code, lines.join('\n')).toBe(0);
    expect(lines).toContain('  venue binance: plugin @cwts/exchange-binance, testnet, credentials set, symbols BTCUSDT');
  }, 60_000);
});
