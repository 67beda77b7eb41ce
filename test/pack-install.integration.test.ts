import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Composable from npm: pack @cwts/core and @cwts/exchange-sim exactly as they would be
 * published, install the tarballs with npm in a directory outside the workspace, and run a
 * deployment that names the installed plugin. Only what `files`/`exports`/`publishConfig` ship
 * is there: no path into the workspace, no source files.
 */
describe('pack and install', () => {
  it('a deployment composed from the packed tarballs runs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-pack-'));
    for (const pkg of ['packages/core', 'packages/exchange-sim']) {
      execFileSync('pnpm', ['pack', '--pack-destination', dir], { cwd: join(root, pkg), stdio: 'pipe' });
    }
    const tarballs = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
    expect(tarballs.sort()).toEqual([expect.stringMatching(/^cwts-core-.*\.tgz$/), expect.stringMatching(/^cwts-exchange-sim-.*\.tgz$/)]);
    const deps = Object.fromEntries(tarballs.map((t) => [t.startsWith('cwts-core') ? '@cwts/core' : '@cwts/exchange-sim', `file:./${t}`]));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-desk', private: true, type: 'module', dependencies: deps }, null, 2));
    // @cwts/core depends on better-sqlite3 (the journal), whose addon compiles when no prebuilt
    // binary can be downloaded: against the installed Node's headers, as .ci/run sets up.
    const prefix = dirname(dirname(process.execPath));
    const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node_version.h')) ? prefix : undefined);
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'pipe', timeout: 600_000, env: { ...process.env, ...(nodedir ? { npm_config_nodedir: nodedir } : {}) } });

    writeFileSync(
      join(dir, 'desk.toml'),
      [
        '[system]', 'name = "my-desk"', 'log_level = "info"',
        '[exchanges]', 'enabled = ["sim"]',
        '[sim]', 'plugin = "@cwts/exchange-sim"', 'symbols = ["BTCUSDT"]',
        '[sim.options]', 'seed = 7',
        '[risk]', 'max_position = 1000', 'max_drawdown = 0.1', 'kelly_fraction = 0.25', 'var_confidence = 0.99',
        '[monitoring]', 'metrics_port = 0', 'health_check_port = 0', 'control_port = 0',
        '[compute]', 'backends = ["js"]',
        '[journal]', 'path = "./journal.jsonl"',
      ].join('\n'),
    );
    const r = spawnSync(join(dir, 'node_modules/.bin/cwts-ultra'), ['run', '--config', 'desk.toml', '--duration', '3'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const out = r.stdout + r.stderr;
    expect(r.status, out).toBe(0);
    expect(out).toMatch(/my-desk running in paper mode on sim/);
    const m = /stopped: (\d+) events/.exec(out);
    expect(m, out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
  }, 720_000);
});
