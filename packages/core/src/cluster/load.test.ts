import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config/errors.js';
import { parseConfig } from '../config/load.js';
import { createLogger } from '../observability/logger.js';
import { riskAggregatorCommand } from '../cli/risk-aggregator.js';
import { loadClusterModule } from './load.js';
import { createClusterShard } from './shard-runtime.js';

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
const here = dirname(fileURLToPath(import.meta.url));
const logger = createLogger({ level: 'silent' });

describe('cluster loading', () => {
  it('without [cluster] (or with enabled = false) no shard is created and nothing is imported', async () => {
    const spec = './does-not-exist.js'; // would fail loudly if anything tried to import it
    expect(await createClusterShard(parseConfig(BASE, {}), logger)).toBeUndefined();
    expect(await createClusterShard(parseConfig(BASE + `[cluster]\nenabled = false\nplugin = "${spec}"\n`, {}), logger)).toBeUndefined();
  });

  it('core never imports a NATS client statically: only the cluster package does', () => {
    const files = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? files(join(d, f)) : f.endsWith('.ts') ? [join(d, f)] : []));
    for (const f of files(join(here, '..'))) expect(readFileSync(f, 'utf8'), f).not.toMatch(/from ['"]@nats-io\//);
  });

  it('a missing or wrong cluster package is one ConfigError at cluster.plugin', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-cluster-load-'));
    writeFileSync(join(dir, 'not-a-cluster.mjs'), 'export const something = 1;\n');
    writeFileSync(join(dir, 'old-api.mjs'), 'export const cluster = { apiVersion: 0, createShard() {}, runAggregator() {} };\n');
    const cfg = (plugin: string) => parseConfig(BASE + `[cluster]\nplugin = "${plugin}"\n`, {}).config.cluster!;
    for (const [plugin, message] of [
      ['./nowhere.mjs', /is not installed/],
      ['./not-a-cluster.mjs', /does not export a cluster module/],
      ['./old-api.mjs', /implements cluster API 0/],
    ] as const) {
      const err = await loadClusterModule(cfg(plugin), dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([{ path: 'cluster.plugin', message: expect.stringMatching(message) }]);
    }
  });

  it('a cluster module whose top-level code never completes is a ConfigError at its deadline, not a start that waits for ever', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-cluster-hang-'));
    writeFileSync(join(dir, 'hangs.mjs'), 'await new Promise(() => {});\nexport const cluster = {};\n');
    const cluster = parseConfig(BASE + `[cluster]\nplugin = "./hangs.mjs"\n`, {}).config.cluster!;
    const err = await loadClusterModule(cluster, dir, 200).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues).toEqual([{ path: 'cluster.plugin', message: expect.stringMatching(/did not finish loading within 200 ms \(\[system\] plugin_init_timeout_ms\)/) }]);
  });

  it('risk-aggregator refuses a config without [cluster]', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-cluster-agg-'));
    writeFileSync(join(dir, 'c.toml'), BASE);
    const err = await riskAggregatorCommand({ config: join(dir, 'c.toml') }, () => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).issues[0]).toMatchObject({ path: 'cluster', message: expect.stringMatching(/needs an enabled \[cluster\]/) });
  });
});
