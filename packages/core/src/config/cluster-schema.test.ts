import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from './cluster-schema.js';
import { ConfigError } from './errors.js';
import { parseConfig } from './load.js';

const BASE = `
[system]
name = "shard"
[exchanges]
enabled = ["sim"]
[sim]
plugin = "@cwts/exchange-sim"
symbols = ["BTCUSDT"]
[risk]
max_position = 1000
max_drawdown = 0.1
kelly_fraction = 0.25
var_confidence = 0.99
`;

function issues(extra: string): { path: string; message: string }[] {
  try {
    parseConfig(BASE + extra, {});
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('[cluster]', () => {
  it('absent: no cluster at all (the embedded single process)', () => {
    expect(parseConfig(BASE, {}).config.cluster).toBeUndefined();
  });

  it('present: defaults filled, shard id from ${VAR} substitution', () => {
    const c = parseConfig(BASE + '[cluster]\nshard_id = "${POD}"\nservers = ["nats://10.0.0.5:4222"]\n', { POD: 'cwts-2' }).config.cluster!;
    expect(c).toMatchObject({ enabled: true, plugin: '@cwts/cluster-nats', name: 'cwts', shard_id: 'cwts-2', servers: ['nats://10.0.0.5:4222'], takeover_ms: 10_000, publish_interval_ms: 1000, replicas: 1 });
    expect(c.max_total_position).toBeUndefined();
  });

  it('without shard_id: a name from system.name and the host, usable as a NATS token', () => {
    const c = parseConfig(BASE + '[cluster]\n', {}).config.cluster!;
    expect(c.shard_id).toMatch(/^shard-[A-Za-z0-9_-]+$/);
  });

  it('bad values fail with their key paths before anything connects', () => {
    const found = issues('[cluster]\nname = "a.b"\ntakeover_ms = 10\nservers = ["http://x"]\nmax_total_position = -5\nshard = "x"\n');
    const paths = found.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['cluster.name', 'cluster.takeover_ms', 'cluster.servers[0]', 'cluster.max_total_position', 'cluster.shard']));
    expect(found.find((i) => i.path === 'cluster.shard')!.message).toMatch(/unknown key.*shard_id/);
  });

  it('a budget chunk needs the budget and must fit in it', () => {
    expect(issues('[cluster]\nbudget_chunk = 10\n')).toEqual([{ path: 'cluster.budget_chunk', message: expect.stringMatching(/needs cluster.max_total_position/) }]);
    expect(issues('[cluster]\nmax_total_position = 5\nbudget_chunk = 10\n')[0]!.path).toBe('cluster.budget_chunk');
  });

  it('refuses [system] on_shutdown = "keep" with [cluster]: the stopped shard\'s kept orders would fill while another shard trades the symbol', () => {
    const withKeep = (BASE + '[cluster]\n').replace('[system]\n', '[system]\non_shutdown = "keep"\n');
    expect(withKeep).toContain('on_shutdown = "keep"');
    expect(() => parseConfig(withKeep, {})).toThrow(ConfigError);
    const found = (() => {
      try {
        parseConfig(withKeep, {});
      } catch (err) {
        return (err as ConfigError).issues;
      }
      return [];
    })();
    expect(found).toEqual([{ path: 'system.on_shutdown', message: expect.stringMatching(/"keep" cannot be used with \[cluster\].*use "cancel"/) }]);
    // Without [cluster] it stays a valid choice.
    expect(parseConfig(BASE.replace('[system]\n', '[system]\non_shutdown = "keep"\n'), {}).config.system.on_shutdown).toBe('keep');
  });

  it('budget release defaults to the takeover bound and is never shorter; the VaR keys are checked', () => {
    const c = parseConfig(BASE + '[cluster]\ntakeover_ms = 4000\n', {}).config.cluster!;
    expect(c).toMatchObject({ budget_release_ms: 4000, var_method: 'historical', var_sample_ms: 60_000, var_window: 500, var_min_returns: 30 });
    expect(c.max_var).toBeUndefined();
    expect(parseConfig(BASE + '[cluster]\nbudget_release_ms = 60000\nmax_var = 2500\n', {}).config.cluster).toMatchObject({ budget_release_ms: 60_000, max_var: 2500 });
    expect(issues('[cluster]\nbudget_release_ms = 5000\n')).toEqual([{ path: 'cluster.budget_release_ms', message: expect.stringMatching(/at least cluster.takeover_ms \(10000\)/) }]);
    expect(issues('[cluster]\nvar_window = 10\nvar_min_returns = 20\n')).toEqual([{ path: 'cluster.var_min_returns', message: expect.stringMatching(/at most cluster.var_window/) }]);
    const paths = issues('[cluster]\nmax_var = 0\nvar_method = "montecarlo"\nvar_sample_ms = 1\naggregator_port = 70000\n').map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['cluster.max_var', 'cluster.var_method', 'cluster.var_sample_ms', 'cluster.aggregator_port']));
  });

  it('docs/configuration.md lists every [cluster] key', () => {
    const doc = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../../docs/configuration.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## [cluster]'));
    expect(section.length).toBeGreaterThan(100);
    expect(Object.keys(clusterConfigSchema.shape).filter((k) => !section.includes(`\`${k}\``))).toEqual([]);
  });
});
