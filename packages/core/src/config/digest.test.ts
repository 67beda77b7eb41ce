// The config digest a run journals (engine/core-services.ts) and `report --config` recomputes
// (cli/report.ts) names the configuration, not the host: the report is often made elsewhere.
import { describe, expect, it, vi } from 'vitest';

const host = vi.hoisted(() => ({ cores: 16, name: 'trader-1' }));
vi.mock('node:os', async (importOriginal) => {
  const os = await importOriginal<typeof import('node:os')>();
  const fake = { availableParallelism: () => host.cores, hostname: () => host.name };
  return { ...os, ...fake, default: { ...os, ...fake } };
});

const { parseConfig } = await import('./load.js');
const { configDigest } = await import('./digest.js');

const BASE = `
[system]
name = "digest"
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[risk]
max_position = 1000
max_drawdown = 0.1
var_confidence = 0.99
`;

const on = (cores: number, name: string, toml: string, env: NodeJS.ProcessEnv = {}) => {
  host.cores = cores;
  host.name = name;
  return parseConfig(toml, env, 'c.toml', '/etc/cwts').config;
};

describe('config digest', () => {
  it('is the same for the same file and environment on hosts with other core counts and hostnames', () => {
    const toml = `${BASE}[cluster]\nservers = ["nats://127.0.0.1:4222"]\n`;
    const production = on(16, 'trader-1', toml);
    const reportHost = on(4, 'laptop', toml);
    // The loaded config still carries the host's defaults, for the code that uses them.
    expect(production.performance.thread_pool_size).toBe(16);
    expect(reportHost.performance.thread_pool_size).toBe(4);
    expect(production.cluster!.shard_id).toBe('digest-trader-1');
    expect(reportHost.cluster!.shard_id).toBe('digest-laptop');
    expect(configDigest(reportHost)).toBe(configDigest(production));
  });

  it('still tells written values apart, host-like or not', () => {
    const base = configDigest(on(16, 'trader-1', BASE));
    // Pinning the pool to what this host has is another config: on another host it still pins.
    const pinned = configDigest(on(16, 'trader-1', BASE.replace('[risk]', '[performance]\nthread_pool_size = 16\n[risk]')));
    expect(pinned).not.toBe(base);
    expect(configDigest(on(4, 'laptop', BASE.replace('[risk]', '[performance]\nthread_pool_size = 16\n[risk]')))).toBe(pinned);
    const shard = (id: string) => configDigest(on(16, 'trader-1', `${BASE}[cluster]\nshard_id = "${id}"\n`));
    expect(shard('a')).not.toBe(shard('b'));
    expect(shard('a')).not.toBe(configDigest(on(16, 'trader-1', `${BASE}[cluster]\n`)));
    // Any other edit that changes what is loaded changes the digest; the environment counts too.
    expect(configDigest(on(16, 'trader-1', BASE.replace('max_position = 1000', 'max_position = 1001')))).not.toBe(base);
    const fromEnv = (v: string) => configDigest(on(16, 'trader-1', BASE.replace('name = "digest"', 'name = "digest"\nenvironment = "${WHERE}"'), { WHERE: v }));
    expect(fromEnv('staging')).not.toBe(fromEnv('production'));
  });
});
