import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './index.js';

/**
 * `credentials: 'not-needed'`: how the commands that talk to no venue (journal, report, doctor,
 * backends, risk-aggregator) load a config. A backup timer runs without the venue keys, so an
 * unset `${VAR}` in a credential must not fail it; nothing else may get through.
 */
const PRODUCTION = readFileSync(fileURLToPath(new URL('../../../../examples/reference-app/config/production.toml', import.meta.url)), 'utf8');
const KEYS = { BINANCE_API_KEY: 'binance-key-1234', BINANCE_API_SECRET: 'binance-secret-5678', KRAKEN_API_KEY: 'kraken-key-1234', KRAKEN_API_SECRET: 'kraken-secret-5678' };
const NOT_NEEDED = { credentials: 'not-needed' } as const;
const load = (toml: string, env: NodeJS.ProcessEnv) => parseConfig(toml, env, '<config>', process.cwd(), NOT_NEEDED);
const issuesOf = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

describe("config load with credentials: 'not-needed'", () => {
  it('by default (run, validate-config) an unset credential variable is an error naming it', () => {
    expect(issuesOf(() => parseConfig(PRODUCTION, {}))).toEqual([
      'binance.api_key: environment variable BINANCE_API_KEY is not set',
      'binance.api_secret: environment variable BINANCE_API_SECRET is not set',
      'kraken.api_key: environment variable KRAKEN_API_KEY is not set',
      'kraken.api_secret: environment variable KRAKEN_API_SECRET is not set',
    ]);
  });

  it('loads production.toml without the venue keys; each credential is configured but unusable and never shown', () => {
    const loaded = load(PRODUCTION, {});
    expect(loaded.credentialsNotLoaded).toEqual(['binance.api_key (BINANCE_API_KEY)', 'binance.api_secret (BINANCE_API_SECRET)', 'kraken.api_key (KRAKEN_API_KEY)', 'kraken.api_secret (KRAKEN_API_SECRET)']);
    const binance = loaded.config.venues.find((v) => v.name === 'binance')!;
    // configured as run will load it: the same hasCredentials, no "market data only" warning
    expect(binance.hasCredentials).toBe(true);
    expect(loaded.warnings.filter((w) => w.startsWith('binance:'))).toEqual([]);
    const key = binance.api_key!;
    expect([String(key), JSON.stringify(key), inspect(key), `${key}`]).toEqual(['[redacted]', '"[redacted]"', '[redacted]', '[redacted]']);
    expect(key.isLoaded).toBe(false);
    expect(key.isEmpty).toBe(false);
    expect(() => key.reveal()).toThrow('credential not loaded (binance.api_key: environment variable BINANCE_API_KEY is not set)');
  });

  it('gives the config run loads with the keys, as the report digests it (secrets serialize as [redacted])', () => {
    expect(JSON.stringify(load(PRODUCTION, {}).config)).toBe(JSON.stringify(parseConfig(PRODUCTION, KEYS).config));
  });

  it('a credential whose variable is set is loaded as usual', () => {
    const loaded = load(PRODUCTION, { BINANCE_API_KEY: KEYS.BINANCE_API_KEY });
    const binance = loaded.config.venues.find((v) => v.name === 'binance')!;
    expect(binance.api_key!.reveal()).toBe(KEYS.BINANCE_API_KEY);
    expect(binance.api_secret!.isLoaded).toBe(false);
    expect(loaded.redactor.redact(`key ${KEYS.BINANCE_API_KEY}`)).toBe('key ${BINANCE_API_KEY}');
  });

  it('live mode counts a configured credential (run refuses it later if the variable is still unset there)', () => {
    const live = PRODUCTION.replace('environment = "production"', 'environment = "production"\nmode = "live"');
    expect(load(live, {}).config.system.mode).toBe('live');
    expect(issuesOf(() => parseConfig(live, {}))).toContain('binance.api_key: environment variable BINANCE_API_KEY is not set');
  });

  it('every other check still runs: unset variables outside credentials, malformed references, ranges, unknown keys', () => {
    const broken = PRODUCTION
      .replace('name = "cwts-ultra-prod"', 'name = "${SYSTEM_NAME}"')
      .replace('api_secret = "${KRAKEN_API_SECRET}"', 'api_secret = "${KRAKEN API SECRET}"')
      .replace('max_drawdown = 0.15', 'max_drawdown = 1.5')
      .replace('[binance]', '[binance]\napi_kye = "x"');
    const found = issuesOf(() => load(broken, {}));
    expect(found).toContain('system.name: environment variable SYSTEM_NAME is not set');
    expect(found).toContain('kraken.api_secret: malformed ${...} reference (a name is letters, digits and _; write $${ for a literal ${)');
    expect(found.some((f) => f.startsWith('risk.max_drawdown:'))).toBe(true);
    expect(found.some((f) => f.startsWith('binance.api_kye: unknown key'))).toBe(true);
    // and the unset credentials themselves are not among the problems
    expect(found.filter((f) => /API_KEY|API_SECRET is not set/.test(f))).toEqual([]);
  });

  it('a password inside a URL is not a credential key: still required (risk-aggregator connects with it)', () => {
    const cluster = PRODUCTION + '\n[cluster]\nservers = ["nats://cwts:${NATS_PASSWORD}@127.0.0.1:4222"]\n';
    expect(issuesOf(() => load(cluster, {}))).toEqual(['cluster.servers[0]: environment variable NATS_PASSWORD is not set']);
  });
});
