import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeTinyEx } from '../examples/third-party-exchange/test/fake-tinyex.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Every package a user can install (each folder of packages/, so a new package is covered the
 * day it lands), plus the third-party exchange and compute backend examples (packed like a
 * third party's).
 */
const PACKAGES = [
  ...readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(root, 'packages', d.name, 'package.json')))
    .map((d) => `packages/${d.name}`),
  'examples/third-party-exchange',
  'examples/third-party-backend',
];

/** The first yaml block of a `## ` section of a markdown file: the pnpm-workspace.yaml a doc tells a user to write. */
function yamlBlock(file: string, heading: string): string {
  const section = readFileSync(join(root, file), 'utf8').split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  const yaml = section && /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  if (!yaml) throw new Error(`${file}: no yaml block in "## ${heading}"`);
  return yaml.trimEnd();
}

/** What README.md's "Composing a deployment" tells a pnpm user to write, the same as docs/native-packages.md. */
function documentedWorkspaceYaml(): string {
  const readme = yamlBlock('README.md', 'Composing a deployment');
  expect(readme).toBe(yamlBlock('docs/native-packages.md', "better-sqlite3 (core's journal)"));
  return readme;
}

/** Every package packed once, exactly as it would be published: package name -> tarball file name in packDir. */
let packDir: string;
const tarballs: Record<string, string> = {};
let tinyex: FakeTinyEx | undefined;
beforeAll(() => {
  packDir = mkdtempSync(join(tmpdir(), 'cwts-pack-'));
  for (const pkg of PACKAGES) {
    const before = new Set(readdirSync(packDir));
    execFileSync('pnpm', ['pack', '--pack-destination', packDir], { cwd: join(root, pkg), stdio: 'pipe', timeout: 600_000 });
    const tarball = readdirSync(packDir).find((f) => !before.has(f) && f.endsWith('.tgz'));
    if (!tarball) throw new Error(`pnpm pack made no tarball for ${pkg}`);
    tarballs[JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')).name as string] = tarball;
  }
}, 1_200_000);
afterAll(async () => {
  await tinyex?.close();
});

/**
 * Composable from npm: pack every package exactly as it would be published, install the
 * tarballs with pnpm (12, its defaults: dependency scripts need approval) in a directory outside
 * the workspace, and run a deployment composed from them: the simulated venue plus the
 * third-party TinyEx plugin (against its local server), on the CPU SIMD backend's prebuilt
 * binary. Only what `files`/`exports`/`publishConfig` ship is there: no path into the workspace,
 * no source file.
 */
describe('pack and install', () => {
  it('a deployment composed from every packed package runs, on the native backend, with a third-party plugin', async () => {
    const dir = packDir;
    expect(PACKAGES).toEqual(expect.arrayContaining(['packages/core', 'packages/exchange-sim', 'packages/backend-cpu-simd', 'packages/cluster-nats']));
    const deps = Object.fromEntries(Object.entries(tarballs).map(([name, tarball]) => [name, `file:./${tarball}`]));
    // vitest: the desk runs the compute conformance suite (@cwts/core/testing) on the third-party backend.
    const vitestVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).devDependencies.vitest as string;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-desk', private: true, type: 'module', dependencies: deps, devDependencies: { vitest: vitestVersion } }, null, 2));
    // What a pnpm user writes (README.md, docs/native-packages.md): the journal's SQLite binding
    // may build; no @cwts package has an install script (the native backends ship prebuilt
    // binaries or build when asked), so none needs a line. The three more come with
    // @cwts/exchange-ccxt's ccxt: its script only prints a banner, bufferutil is an optional
    // speed-up for ws.
    writeFileSync(
      join(dir, 'pnpm-workspace.yaml'),
      [
        documentedWorkspaceYaml(), '  ccxt: false', '  bufferutil: false', '  protobufjs: false',
        // Packages that depend on each other (e.g. metal on cuda's kernel sources) take the
        // tarballs too, not the registry, where this version is not published.
        'overrides:', ...Object.entries(deps).map(([name, spec]) => `  "${name}": "${spec}"`),
        '',
      ].join('\n'),
    );
    const install = spawnSync('pnpm', ['install', '--prefer-offline'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
    expect(install.status, install.stdout + install.stderr).toBe(0);

    const backends = spawnSync(join(dir, 'node_modules/.bin/cwts-ultra'), ['backends'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(backends.status, `signal ${backends.signal}, error ${backends.error?.message}\n${backends.stdout}\n${backends.stderr}`).toBe(0);
    // Every backend package is installed and answers for itself (available or with its reason).
    for (const name of ['cpu-simd', 'vulkan', 'cuda', 'rocm', 'metal']) {
      expect(backends.stdout, name).toMatch(new RegExp(`^${name}(?:\\s+\\S+)+?\\s+(available|unavailable)\\s`, 'm'));
    }
    expect(backends.stdout).toMatch(/^cpu-simd(?:\s+\S+)+?\s+available\s+.*prebuilds\/linux-x64\/cwts_cpu_simd\.node/m);

    // The third-party compute backend, from its tarball, passes the compute conformance suite
    // from core's tarball, and `backends --config` lists it as the deployment configures it.
    writeFileSync(
      join(dir, 'naive.conformance.test.js'),
      "import { describeComputeConformance } from '@cwts/core/testing';\nimport { naiveProvider } from 'acme-compute-naive';\ndescribeComputeConformance('naive from its tarball', () => naiveProvider);\n",
    );
    const conformance = spawnSync(join(dir, 'node_modules/.bin/vitest'), ['run', '--root', dir, '--testTimeout', '90000', 'naive.conformance.test.js'], { cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' } });
    const conformanceText = conformance.stdout + conformance.stderr;
    expect(conformance.status, conformanceText).toBe(0);
    expect(conformanceText).toMatch(/Tests\s+\d+ passed/);
    expect(conformanceText).not.toMatch(/\d+ failed/);
    writeFileSync(
      join(dir, 'naive.toml'),
      [
        '[system]', 'name = "naive-check"', '[exchanges]', 'enabled = ["sim"]', '[sim]', 'plugin = "@cwts/exchange-sim"', 'symbols = ["BTCUSDT"]',
        '[risk]', 'max_position = 1000', 'max_drawdown = 0.1', 'var_confidence = 0.99',
        '[compute]', 'backends = ["naive"]', '[compute.naive]', 'plugin = "acme-compute-naive"', 'max_window = 64',
      ].join('\n'));
    const listed = spawnSync(join(dir, 'node_modules/.bin/cwts-ultra'), ['backends', '--config', 'naive.toml'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    expect(listed.status, listed.stdout + listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^naive\s+cpu\s+\d+\s+available\s/m);

    tinyex = await FakeTinyEx.start(5);
    writeFileSync(
      join(dir, 'desk.toml'),
      [
        '[system]', 'name = "my-desk"', 'log_level = "info"',
        '[exchanges]', 'enabled = ["sim", "tinyex"]',
        '[sim]', 'plugin = "@cwts/exchange-sim"', 'symbols = ["BTCUSDT"]',
        '[sim.options]', 'seed = 7',
        '[tinyex]', 'plugin = "acme-exchange-tinyex"', `api_url = "ws://${tinyex.url}"`, `rest_url = "http://${tinyex.url}"`, 'symbols = ["BTC-USD"]',
        '[risk]', 'max_position = 1000', 'max_drawdown = 0.1', 'var_confidence = 0.99',
        '[monitoring]', 'metrics_port = 0', 'health_check_port = 0', 'control_port = 0',
        '[compute]', 'backends = ["cpu-simd"]',
      ].join('\n'),
    );
    const out = await new Promise<{ code: number | null; text: string }>((resolveRun) => {
      const child = spawn(join(dir, 'node_modules/.bin/cwts-ultra'), ['run', '--config', 'desk.toml', '--duration', '4'], {
        cwd: dir,
        env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') },
      });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.stderr.on('data', (d) => (text += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolveRun({ code, text });
      });
    });
    expect(out.code, out.text).toBe(0);
    expect(out.text).toMatch(/my-desk running in paper mode on sim, tinyex with the cpu-simd compute backend/);
    const m = /stopped: (\d+) events/.exec(out.text);
    expect(m, out.text).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
  }, 1_200_000);

  it("README's \"Composing a deployment\", as written: its pnpm-workspace.yaml, pnpm add, validate-config, run (the journal's SQLite binding built)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-readme-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'desk', private: true, type: 'module' }));
    // overrides: the tarballs stand in for the registry, where this version is not published.
    writeFileSync(
      join(dir, 'pnpm-workspace.yaml'),
      [documentedWorkspaceYaml(), 'overrides:', ...Object.entries(tarballs).map(([name, tarball]) => `  "${name}": "file:${join(packDir, tarball)}"`), ''].join('\n'),
    );
    const add = spawnSync('pnpm', ['add', join(packDir, tarballs['@cwts/core']!), join(packDir, tarballs['@cwts/exchange-sim']!), '--prefer-offline'], { cwd: dir, encoding: 'utf8', timeout: 600_000 });
    const addText = add.stdout + add.stderr;
    expect(addText).not.toMatch(/ERR_PNPM_IGNORED_BUILDS/);
    expect(add.status, addText).toBe(0);
    writeFileSync(
      join(dir, 'desk.toml'),
      [
        '[system]', 'name = "desk"', '[exchanges]', 'enabled = ["sim"]', '[sim]', 'plugin = "@cwts/exchange-sim"', 'symbols = ["BTCUSDT"]',
        '[compute]', 'backends = ["js"]',
        '[risk]', 'max_position = 100000', 'max_drawdown = 0.15', 'var_confidence = 0.99',
        '[monitoring]', 'metrics_port = 0', 'health_check_port = 0', 'control_port = 0',
      ].join('\n'),
    );
    const env = { ...process.env, CWTS_DATA_DIR: join(dir, 'data') };
    const validate = spawnSync('pnpm', ['exec', 'cwts-ultra', 'validate-config', '--config', 'desk.toml'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env });
    expect(validate.status, validate.stdout + validate.stderr).toBe(0);
    // `run` opens the journal (<data dir>/desk.db): without the approved build, better-sqlite3's
    // "Could not locate the bindings file".
    const run = spawnSync('pnpm', ['exec', 'cwts-ultra', 'run', '--config', 'desk.toml', '--duration', '2'], { cwd: dir, encoding: 'utf8', timeout: 120_000, env });
    const runText = run.stdout + run.stderr;
    expect(run.status, runText).toBe(0);
    expect(runText).not.toMatch(/bindings file/);
    expect(runText).toMatch(/desk running in paper mode on sim with the js compute backend/);
    expect(existsSync(join(dir, 'data', 'desk.db')), runText).toBe(true);
  }, 600_000);
});
