// `testnet` and `market` are core's venue keys, but only the plugin can act on them. Coinbase,
// Kraken, ccxt and the sim ignored `testnet = true` and connected to production, while
// validate-config called the live config valid: an operator who believed they were on a testnet
// sent real orders. A venue table may now ask only for what its plugin declares (venueKeys).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/load.js';
import { CwtsContainer } from '../di/container.js';
import { silentLogger } from '../observability/logger.js';
import { preparePlugins } from './prepare-plugins.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-venue-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A third party's exchange plugin, plain JavaScript as published, with `extra` manifest fields. */
function thirdParty(file: string, extra: string): void {
  writeFileSync(join(dir, file), `export const plugin = { name: 'acme-exchange', kind: 'exchange', coreApi: '1.0', register() {}${extra} };\n`);
}
thirdParty('acme-none.mjs', '');
thirdParty('acme-testnet.mjs', ", venueKeys: { testnet: true, markets: ['spot', 'usdm'] }");
// A declaration that is not exactly `true` or a list declares nothing.
thirdParty('acme-loose.mjs', ", venueKeys: { testnet: 'yes', markets: 'usdm' }");

const toml = (venue: string, table: string) => `
[system]
name = "venue-keys"
[exchanges]
enabled = ["${venue}"]
[${venue}]
symbols = ["BTC-USD"]
${table}
[risk]
max_position = 1000
max_drawdown = 0.1
var_confidence = 0.99
`;

/** The issues preparePlugins (the path of both run and validate-config) reports; [] when it registers. */
async function issues(venue: string, table: string): Promise<{ path: string; message: string }[]> {
  const loaded = parseConfig(toml(venue, table), {}, 'c.toml', dir);
  try {
    await preparePlugins({ loaded, root: CwtsContainer.createRoot('test'), logger: silentLogger() });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
}

describe('venue keys a plugin does not declare', () => {
  it.each(['coinbase', 'kraken', 'ccxt', 'sim'])('%s: testnet = true is refused, naming the key, the venue and the plugin', async (venue) => {
    const found = await issues(venue, 'testnet = true');
    expect(found).toEqual([{ path: `${venue}.testnet`, message: expect.stringMatching(new RegExp(`^@cwts/exchange-${venue} \\(venue ${venue}\\) has no testnet: it would connect to the venue's production endpoints`)) }]);
  });

  it.each(['coinbase', 'kraken', 'ccxt', 'sim'])('%s: market = "usdm" is refused', async (venue) => {
    expect(await issues(venue, 'market = "usdm"')).toEqual([{ path: `${venue}.market`, message: `@cwts/exchange-${venue} (venue ${venue}) does not trade market "usdm" (it declares: "spot")` }]);
  });

  it.each(['coinbase', 'kraken', 'ccxt', 'sim'])('%s: testnet = false and market = "spot" (the defaults, written out) load', async (venue) => {
    expect(await issues(venue, 'testnet = false\nmarket = "spot"')).toEqual([]);
  });

  it.each(['binance', 'bybit'])('%s declares both: testnet = true with market = "usdm" loads', async (venue) => {
    expect(await issues(venue, 'testnet = true\nmarket = "usdm"')).toEqual([]);
  });

  it('a third-party plugin that declares nothing: testnet = true is refused (the safe default), spot loads', async () => {
    expect((await issues('acme', 'plugin = "./acme-none.mjs"\ntestnet = true')).map((i) => i.path)).toEqual(['acme.testnet']);
    expect(await issues('acme', 'plugin = "./acme-none.mjs"')).toEqual([]);
  });

  it('a third-party plugin that declares venueKeys gets what it declares', async () => {
    expect(await issues('acme', 'plugin = "./acme-testnet.mjs"\ntestnet = true\nmarket = "usdm"')).toEqual([]);
  });

  it('a declaration that is not exactly true / a list counts as none', async () => {
    expect((await issues('acme', 'plugin = "./acme-loose.mjs"\ntestnet = true\nmarket = "usdm"')).map((i) => i.path)).toEqual(['acme.testnet', 'acme.market']);
  });
});
