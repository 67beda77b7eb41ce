import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, venueUrlEnv } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const PRODUCTION = readFileSync(resolve(here, '../../../../examples/reference-app/config/production.toml'), 'utf8');
const KEYS = { BINANCE_API_KEY: 'k1', BINANCE_API_SECRET: 's1', KRAKEN_API_KEY: 'k2', KRAKEN_API_SECRET: 's2' };

const venue = (env: NodeJS.ProcessEnv, name: string) => parseConfig(PRODUCTION, { ...KEYS, ...env }).config.venues.find((v) => v.name === name)!;

describe('environment overrides of venue URLs and ports', () => {
  it('names the variable after the venue: CWTS_<VENUE>_API_URL / _REST_URL', () => {
    expect(venueUrlEnv('binance', 'api_url')).toBe('CWTS_BINANCE_API_URL');
    expect(venueUrlEnv('okx-eu', 'rest_url')).toBe('CWTS_OKX_EU_REST_URL');
  });

  it('replaces a URL the file sets, and gives a venue without a table its URLs', () => {
    const env = { CWTS_BINANCE_API_URL: 'ws://127.0.0.1:7001/ws', CWTS_BINANCE_REST_URL: 'http://127.0.0.1:7001', CWTS_BYBIT_API_URL: 'ws://127.0.0.1:7002' };
    const loaded = parseConfig(PRODUCTION, { ...KEYS, ...env });
    const binance = loaded.config.venues.find((v) => v.name === 'binance')!;
    expect(binance.api_url).toBe('ws://127.0.0.1:7001/ws');
    expect(binance.rest_url).toBe('http://127.0.0.1:7001');
    expect(binance.hasCredentials).toBe(true); // the rest of the table is kept
    expect(venue(env, 'bybit').api_url).toBe('ws://127.0.0.1:7002');
    expect(venue(env, 'kraken').api_url).toBe('wss://ws.kraken.com'); // untouched
    expect(loaded.notices).toEqual(['binance.api_url from CWTS_BINANCE_API_URL', 'binance.rest_url from CWTS_BINANCE_REST_URL', 'bybit.api_url from CWTS_BYBIT_API_URL']);
  });

  it('ignores variables of venues that are not enabled, and empty values', () => {
    const loaded = parseConfig(PRODUCTION, { ...KEYS, CWTS_OKX_API_URL: 'ws://127.0.0.1:1', CWTS_KRAKEN_API_URL: '  ' });
    expect(loaded.config.venues.map((v) => v.name)).toEqual(['binance', 'coinbase', 'kraken', 'bybit']);
    expect(venue({}, 'kraken').api_url).toBe('wss://ws.kraken.com');
    expect(loaded.notices).toEqual([]);
  });

  it('checks an overriding URL like one in the file, and the issue names the variable it came from', () => {
    const issues = (env: NodeJS.ProcessEnv) => {
      try {
        parseConfig(PRODUCTION, { ...KEYS, ...env });
      } catch (e) {
        return (e as ConfigError).issues;
      }
      return [];
    };
    const [ws] = issues({ CWTS_COINBASE_API_URL: 'http://127.0.0.1:1' });
    expect(ws!.path).toBe('coinbase.api_url');
    expect(ws!.message).toMatch(/^expected a ws:\/\/ or wss:\/\/ URL.* \(from CWTS_COINBASE_API_URL\)$/);
    expect(issues({ CWTS_BINANCE_REST_URL: 'not a url' }).map((i) => i.message.endsWith('(from CWTS_BINANCE_REST_URL)'))).toEqual([true]);
    expect(issues({ CWTS_BIND_ADDRESS: 'not a host!' }).map((i) => `${i.path} ${i.message.endsWith('(from CWTS_BIND_ADDRESS)')}`)).toEqual(['monitoring.bind_address true']);
    // a port clash caused by an override says which value is not in the file
    expect(issues({ CWTS_HEALTH_PORT: '9090' })).toEqual([expect.objectContaining({ path: 'monitoring.health_check_port', message: expect.stringMatching(/is also monitoring\.metrics_port.*\(from CWTS_HEALTH_PORT\)$/) })]);
    // the file's own values are not blamed on a variable
    expect(issues({}).length).toBe(0);
  });

  it('lists CWTS_BIND_ADDRESS among the overrides applied, like the venue URLs (validate-config prints them, run logs them)', () => {
    const loaded = parseConfig(PRODUCTION, { ...KEYS, CWTS_BIND_ADDRESS: ' 0.0.0.0 ', CWTS_METRICS_PORT: '0', CWTS_KRAKEN_API_URL: 'ws://127.0.0.1:7003' });
    expect(loaded.config.monitoring.bind_address).toBe('0.0.0.0');
    expect(loaded.notices).toEqual(['monitoring.metrics_port from CWTS_METRICS_PORT', 'monitoring.bind_address from CWTS_BIND_ADDRESS', 'kraken.api_url from CWTS_KRAKEN_API_URL']);
  });

  it('moves the metrics and health ports, and refuses a value that is not a port', () => {
    const m = parseConfig(PRODUCTION, { ...KEYS, CWTS_METRICS_PORT: '0', CWTS_HEALTH_PORT: '18080' }).config.monitoring;
    expect(m.metrics_port).toBe(0);
    expect(m.health_check_port).toBe(18080);
    for (const bad of ['http', '-1', '65536', '80.5']) {
      let err: unknown;
      try {
        parseConfig(PRODUCTION, { ...KEYS, CWTS_HEALTH_PORT: bad });
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ path: 'monitoring.health_check_port', message: 'CWTS_HEALTH_PORT must be a port number 0-65535' }]);
    }
  });

  it('CWTS_CONTROL_PORT moves the kill switch\'s port like the other two (a second instance on one host), listed and checked the same way', () => {
    const loaded = parseConfig(PRODUCTION, { ...KEYS, CWTS_METRICS_PORT: '19090', CWTS_HEALTH_PORT: '18080', CWTS_CONTROL_PORT: '18081' });
    expect(loaded.config.monitoring.control_port).toBe(18081);
    expect(loaded.notices).toEqual(['monitoring.metrics_port from CWTS_METRICS_PORT', 'monitoring.health_check_port from CWTS_HEALTH_PORT', 'monitoring.control_port from CWTS_CONTROL_PORT']);
    expect(parseConfig(PRODUCTION, { ...KEYS, CWTS_CONTROL_PORT: '0' }).config.monitoring.control_port).toBe(0);
    const refusal = (env: NodeJS.ProcessEnv): ConfigError => {
      try {
        parseConfig(PRODUCTION, { ...KEYS, ...env });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    };
    for (const bad of ['http', '-1', '65536', '80.5']) {
      expect(refusal({ CWTS_CONTROL_PORT: bad }).issues, bad).toEqual([{ path: 'monitoring.control_port', message: 'CWTS_CONTROL_PORT must be a port number 0-65535' }]);
    }
    // a clash it causes names the variable, as for the other two
    expect(refusal({ CWTS_CONTROL_PORT: '9090' }).issues).toEqual([expect.objectContaining({ path: 'monitoring.control_port', message: expect.stringMatching(/is also monitoring\.metrics_port.*\(from CWTS_CONTROL_PORT\)$/) })]);
  });

  it('quotes an overriding value that fails as the environment gave it, not the file\'s ${VAR} it replaced, its credentials masked', () => {
    const toml = '[system]\nname = "t"\n[exchanges]\nenabled = ["binance"]\n[binance]\napi_url = "${BINANCE_WS}"\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.99\n';
    const issues = (env: NodeJS.ProcessEnv): string[] => {
      try {
        parseConfig(toml, { BINANCE_WS: 'wss://stream.binance.com:9443/ws', ...env });
      } catch (e) {
        return (e as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
      }
      return [];
    };
    expect(issues({ CWTS_BINANCE_API_URL: 'http://127.0.0.1:1/ws' })).toEqual(['binance.api_url: expected a ws:// or wss:// URL, got "http://127.0.0.1:1/ws" (from CWTS_BINANCE_API_URL)']);
    // the value now quoted may carry a password: never shown, whatever characters it holds
    const withPassword = issues({ CWTS_BINANCE_API_URL: "http://bob:pw'SEK@RIT@127.0.0.1:1/ws" });
    expect(withPassword).toEqual(['binance.api_url: expected a ws:// or wss:// URL, got "http://[redacted]@127.0.0.1:1/ws" (from CWTS_BINANCE_API_URL)']);
    // and the loaded config's redactor masks that password alone too (a log line quoting it)
    const loaded = parseConfig(toml, { BINANCE_WS: 'wss://h/ws', CWTS_BINANCE_API_URL: "wss://bob:pw'SEK@RIT@127.0.0.1:1/ws" });
    expect(loaded.redactor.redact("auth failed for password pw'SEK@RIT")).toBe('auth failed for password [redacted]');
  });

  it('leaves the file alone without any override', () => {
    const loaded = parseConfig(PRODUCTION, KEYS);
    expect(loaded.config.monitoring.metrics_port).toBe(9090);
    expect(loaded.config.venues.find((v) => v.name === 'binance')!.api_url).toBe('wss://stream.binance.com:9443/ws');
  });
});
