import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './index.js';
import { readRoutingSection } from './routing-schema.js';

const SIM = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../../../examples/reference-app/config'), 'sim.toml');
const base = readFileSync(SIM, 'utf8');

function issues(extra: string): string[] {
  try {
    parseConfig(base + '\n' + extra, {});
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
}

describe('[routing]', () => {
  it('is optional and off by default', () => {
    expect(parseConfig(base, {}).config.routing?.enabled ?? false).toBe(false);
  });

  it('turns basis points into millionths of notional, with defaults', () => {
    const { config } = parseConfig(base + '\n[routing]\nenabled = true\nlatency_bps_per_ms = 0.5\n[routing.venue.sim]\ntaker_fee_bps = 7.5\nlatency_penalty_bps = 0.25\nmax_orders_per_second = 20\n', {});
    const r = config.routing!;
    expect(r.enabled).toBe(true);
    expect(r.venue.sim).toEqual({ taker_fee_bps: 750, latency_penalty_bps: 25, max_orders_per_second: 20, symbols: {} });
    expect([r.max_children, r.depth_levels, r.reroute_unfilled_ioc, r.reroute_max_age_ms, r.default_taker_fee_bps]).toEqual([4, 20, true, 1000, 1000]);
  });

  it('takes reroute_max_age_ms as whole milliseconds, 1 to 60000', () => {
    expect(parseConfig(base + '\n[routing]\nreroute_max_age_ms = 250\n', {}).config.routing!.reroute_max_age_ms).toBe(250);
    for (const bad of ['0', '60001', '1.5', '"1s"']) expect(issues(`[routing]\nreroute_max_age_ms = ${bad}\n`).some((f) => f.startsWith('routing.reroute_max_age_ms:')), bad).toBe(true);
  });

  it('names the key of every problem', () => {
    const found = issues('[routing]\nenabled = "yes"\nmax_chidren = 2\nvenues = ["nope"]\n[routing.venue.sim]\ntaker_fee_bps = 0.001\n[routing.venue.other]\n');
    expect(found.some((f) => f.startsWith('routing.enabled:'))).toBe(true);
    expect(found.some((f) => f.startsWith('routing.max_chidren:') && f.includes('max_children'))).toBe(true);
    expect(found.some((f) => f.startsWith('routing.venue.sim.taker_fee_bps:') && f.includes('0.01 bp'))).toBe(true);
    // venue names are checked against exchanges.enabled once the table itself is valid
    expect(issues('[routing]\nvenues = ["nope"]\n[routing.venue.other]\n')).toEqual([
      'routing.venues[0]: "nope" is not in exchanges.enabled',
      'routing.venue.other: "other" is not in exchanges.enabled',
    ]);
  });

  it('refuses a venue listed twice in venues (its book would be counted twice: two IOC children for liquidity it has once)', () => {
    const r = readRoutingSection({ enabled: true, venues: ['a', 'a', 'b'] }, ['a', 'b']);
    expect(r.value).toBeUndefined();
    expect(r.issues).toEqual([{ path: 'routing.venues[1]', message: 'duplicate venue "a"' }]);
    // through the whole loader, in the style of a duplicate in exchanges.enabled
    const toml = '[system]\nname = "t"\n[exchanges]\nenabled = ["a", "b"]\n[a]\nplugin = "@cwts/exchange-sim"\n[b]\nplugin = "@cwts/exchange-sim"\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.99\n';
    expect(() => parseConfig(toml + '[routing]\nenabled = true\nvenues = ["a", "a", "b"]\n', {})).toThrow('routing.venues[1]: duplicate venue "a"');
    expect(() => parseConfig(toml.replace('["a", "b"]', '["a", "a", "b"]'), {})).toThrow('exchanges.enabled[1]: duplicate venue "a"');
  });
});
