import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { parseConfig } from '../packages/core/src/config/index.js';
import { computeBackendCandidates, computePluginSpec } from '../packages/core/src/config/compute-schema.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const text = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const all = dockerfile.getInstructions();
const stages = dockerfile.getFROMs().map((f, i) => ({ from: f, name: f.getBuildStage(), index: i }));
/** Instructions of the final (runtime) stage. */
const runtime = (() => {
  const lastFrom = dockerfile.getFROMs().at(-1)!;
  const start = all.indexOf(lastFrom);
  return all.slice(start + 1);
})();
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const ofKeyword = (list: Instruction[], kw: string) => list.filter((i) => i.getKeyword() === kw);
/** Exec-form JSON array of ENTRYPOINT/CMD (the form the file uses: signals reach tini). */
const execForm = (i: Instruction) => JSON.parse(text.split('\n')[i.getRange().start.line]!.replace(/^\s*(ENTRYPOINT|CMD)\s+/, '')) as string[];
const env = (() => {
  const out: Record<string, string> = {};
  for (const i of ofKeyword(runtime, 'ENV')) for (const p of (i as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties()) out[p.getName()] = p.getValue() ?? '';
  return out;
})();

/** production.toml reads venue keys from the environment; placeholders let it validate here. */
const PLACEHOLDER_KEYS = Object.fromEntries(
  [...readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8').matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1]!, 'placeholder-not-a-key-0123456789']),
);

describe('deploy/Dockerfile', () => {
  it('parses without problems and is multi-stage: a named build stage and a runtime stage copying from it', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const builder = stages[0]!.name;
    expect(builder).toBeTruthy();
    const fromBuilder = ofKeyword(runtime, 'COPY').filter((c) => c.getTextContent().includes(`--from=${builder}`));
    expect(fromBuilder.length).toBeGreaterThan(0);
    // No compiler in the runtime stage.
    expect(ofKeyword(runtime, 'RUN').map((r) => r.getTextContent()).join('\n')).not.toMatch(/build-essential|cmake|g\+\+/);
  });

  it('builds the native backends in the build stage and refuses to ship without them', () => {
    const buildRuns = all.slice(0, all.indexOf(dockerfile.getFROMs().at(-1)!)).filter((i) => i.getKeyword() === 'RUN').map((i) => i.getTextContent()).join('\n');
    expect(buildRuns).toMatch(/pnpm install --frozen-lockfile/);
    for (const addon of ['packages/backend-cpu-simd/build/Release/cwts_cpu_simd.node', 'packages/backend-vulkan/build/Release/cwts_vulkan.node']) {
      expect(buildRuns).toContain(`test -f ${addon}`);
      // The addon name is what the package's build script produces.
      const pkg = addon.split('/build/')[0]!;
      expect(readFileSync(join(root, pkg, 'CMakeLists.txt'), 'utf8')).toContain(addon.split('/').at(-1)!.replace('.node', ''));
    }
  });

  it('every COPY source from the build context exists in the repository', () => {
    const copies = ofKeyword(all, 'COPY').filter((c) => !c.getTextContent().includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) {
      const sources = args(c).filter((a) => !a.startsWith('--')).slice(0, -1);
      for (const s of sources) expect(existsSync(join(root, s)), `COPY source ${s}`).toBe(true);
    }
  });

  it('runs as a non-root user', () => {
    const users = ofKeyword(runtime, 'USER');
    expect(users.length).toBeGreaterThan(0);
    const user = args(users.at(-1)!)[0]!.split(':')[0]!;
    expect(['root', '0', '']).not.toContain(user);
    expect(ofKeyword(runtime, 'RUN').map((r) => r.getTextContent()).join('\n')).toMatch(new RegExp(`useradd[^\\n]*\\b${user}\\b`));
  });

  it('keeps the journal on the /data volume: CWTS_DATA_DIR points at the declared VOLUME, owned by the user', () => {
    expect(env.CWTS_DATA_DIR).toBe('/data');
    const volumes = ofKeyword(runtime, 'VOLUME').flatMap((v) => v.getTextContent().replace(/^VOLUME\s+/, '').match(/\/[\w/-]+/g) ?? []);
    expect(volumes).toContain(env.CWTS_DATA_DIR);
    expect(ofKeyword(runtime, 'RUN').map((r) => r.getTextContent()).join('\n')).toMatch(/chown cwts:cwts \/data/);
  });

  it('binds 0.0.0.0 through CWTS_BIND_ADDRESS and health-checks /health/live on the health port it exposes', () => {
    expect(env.CWTS_BIND_ADDRESS).toBe('0.0.0.0');
    const hc = ofKeyword(runtime, 'HEALTHCHECK');
    expect(hc).toHaveLength(1);
    const m = /http:\/\/127\.0\.0\.1:(\d+)\/health\/live/.exec(hc[0]!.getTextContent());
    expect(m).not.toBeNull();
    const config = parseConfig(readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8'), { CWTS_BIND_ADDRESS: '0.0.0.0', ...PLACEHOLDER_KEYS }, 'production.toml', join(root, 'examples/reference-app/config'));
    expect(Number(m![1])).toBe(config.config.monitoring.health_check_port);
    const exposed = ofKeyword(runtime, 'EXPOSE').flatMap(args).map(Number);
    expect(exposed).toEqual(expect.arrayContaining([config.config.monitoring.health_check_port, config.config.monitoring.metrics_port]));
    // curl must be installed in the runtime stage for the check to run at all.
    expect(ofKeyword(runtime, 'RUN').map((r) => r.getTextContent()).join('\n')).toMatch(/apt-get install[\s\S]*\bcurl\b/);
  });

  it("runs the CLI's `run` command with a config the image contains", () => {
    const [entry] = ofKeyword(runtime, 'ENTRYPOINT');
    const [cmd] = ofKeyword(runtime, 'CMD');
    const argv = [...execForm(entry!), ...execForm(cmd!)];
    expect(argv[0]).toBe('/usr/bin/tini');
    const binInImage = argv.find((a) => a.endsWith('cwts-ultra.js'))!;
    expect(existsSync(join(root, binInImage.replace('/opt/cwts-ultra/', '')))).toBe(true);
    expect(argv).toContain('run');
    const configInImage = argv[argv.indexOf('--config') + 1]!;
    // COPY examples/reference-app/config/production.toml /etc/cwts-ultra/config/production.toml (or
    // a directory above it): map the image path back to the repo. test/deploy-image-layout.test.ts
    // validates it in the image's layout.
    const configCopy = ofKeyword(runtime, 'COPY').map(args).find((a) => configInImage === a.at(-1) || configInImage.startsWith(a.at(-1)! + '/'))!;
    expect(configCopy, 'a COPY puts the config where CMD reads it').toBeDefined();
    const repoPath = join(root, configCopy[0]!, configInImage.slice(configCopy.at(-1)!.length));
    expect(existsSync(repoPath), repoPath).toBe(true);
  });

  it('keeps every plugin the shipped config loads after `pnpm prune --prod`', () => {
    // The image prunes to production dependencies and runs from /data with the config in /etc:
    // plugins resolve only through the root package's node_modules, so each one the config names
    // (and each default compute backend) must be a production dependency of the root package.
    expect(text).toMatch(/pnpm prune --prod/);
    const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const loaded = parseConfig(readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8'), PLACEHOLDER_KEYS);
    // Without `[compute] backends` every known backend is auto-detected, so each must be installed.
    const needed = [...loaded.config.venues.map((v) => v.plugin), ...computeBackendCandidates(loaded.config.compute).map((b) => computePluginSpec(loaded.config.compute, b)), '@cwts/core'];
    expect(needed).toContain('@cwts/exchange-coinbase');
    for (const p of needed) expect(rootPkg.dependencies?.[p], `${p} in the root package's dependencies`).toBeDefined();
  });

  it('builds with docker when a daemon answers', () => {
    const info = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 });
    if (info.error || info.status !== 0) {
      console.log('docker build skipped: no docker daemon answers on this machine (the Dockerfile is checked statically above)');
      return;
    }
    const r = spawnSync('docker', ['build', '-f', 'deploy/Dockerfile', '-t', 'cwts-ultra:test', '.'], { cwd: root, encoding: 'utf8', timeout: 1_800_000 });
    expect(r.status, r.stderr).toBe(0);
  }, 1_900_000);
});
