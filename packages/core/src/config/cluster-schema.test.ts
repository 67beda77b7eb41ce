import { describe, expect, it } from 'vitest';
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
});
