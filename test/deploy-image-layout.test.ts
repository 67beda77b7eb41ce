import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

// The runtime image's file layout, rebuilt under a temporary directory from deploy/Dockerfile's
// own COPY instructions (no docker daemon here): the build stage's /app (the repository, built)
// is a link to this checkout, each COPY from the build context is copied where it lands. Then
// `validate-config` runs, as the image's ENTRYPOINT would, on every config the image ships and
// every `--config` the Dockerfile names. A config whose relative plugin paths do not resolve
// there (sim.toml copied to /etc/cwts-ultra/config: "../dist/..." looked in /etc/cwts-ultra/dist)
// exits 2, as `docker run ... run --config` would.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const text = readFileSync(join(root, 'deploy/Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(text);
const all = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();
const builderStart = all.indexOf(froms[0]!);
const runtimeStart = all.indexOf(froms.at(-1)!);
const builder = all.slice(builderStart + 1, runtimeStart);
const runtime = all.slice(runtimeStart + 1);
const args = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const ofKeyword = (list: Instruction[], kw: string) => list.filter((i) => i.getKeyword() === kw);
/** The stage a `COPY --from=<stage>` copies from (dockerfile-ast keeps flags out of the arguments). */
const fromStage = (i: Instruction) => /--from=(\S+)/.exec(i.getTextContent())?.[1];
const execForm = (i: Instruction) => JSON.parse(text.split('\n')[i.getRange().start.line]!.replace(/^\s*(ENTRYPOINT|CMD)\s+/, '')) as string[];

/** production.toml reads venue keys from the environment; placeholders let it validate here. */
const PLACEHOLDER_KEYS = Object.fromEntries(
  [...readFileSync(join(root, 'examples/reference-app/config/production.toml'), 'utf8').matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => [m[1]!, 'placeholder-not-a-key-0123456789']),
);

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The runtime stage's files under a fresh directory; returns it (the image's `/`). */
function buildLayout(): string {
  const img = mkdtempSync(join(tmpdir(), 'cwts-image-'));
  dirs.push(img);
  // The build stage copies the whole context to its WORKDIR and builds there.
  const workdir = args(ofKeyword(builder, 'WORKDIR').at(-1)!)[0]!;
  expect(ofKeyword(builder, 'COPY').map(args)).toContainEqual(['.', '.']);
  for (const c of ofKeyword(runtime, 'COPY')) {
    const a = args(c).filter((x) => !x.startsWith('--'));
    const from = fromStage(c);
    const [src, dest] = [a.at(0)!, a.at(-1)!];
    expect(a, c.getTextContent()).toHaveLength(2);
    const at = join(img, dest);
    mkdirSync(dirname(at), { recursive: true });
    if (from !== undefined) {
      expect(from, 'runtime COPY --from names the build stage').toBe(froms[0]!.getBuildStage());
      expect(src, 'the build stage\'s files are copied from its WORKDIR').toBe(workdir);
      symlinkSync(root, at);
    } else {
      const s = join(root, src);
      // COPY <dir> <dest> copies the directory's contents into dest; a file lands at dest
      // (or inside it when dest ends in /).
      if (statSync(s).isDirectory()) cpSync(s, at, { recursive: true });
      else cpSync(s, dest.endsWith('/') ? join(at, src.split('/').at(-1)!) : at);
    }
  }
  mkdirSync(join(img, 'data'), { recursive: true });
  return img;
}

/** `validate-config` as the image runs it: its ENTRYPOINT's script, from WORKDIR /data, with the image's CWTS_DATA_DIR. */
function validateIn(img: string, configInImage: string) {
  const entry = execForm(ofKeyword(runtime, 'ENTRYPOINT')[0]!);
  const script = entry.find((a) => a.endsWith('cwts-ultra.js'))!;
  expect(script).toBeDefined();
  return spawnSync(process.execPath, [join(img, script), 'validate-config', '--config', join(img, configInImage)], {
    cwd: join(img, 'data'),
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...PLACEHOLDER_KEYS, CWTS_DATA_DIR: join(img, 'data'), NODE_ENV: 'production' },
  });
}

function tomlFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tomlFiles(join(dir, e.name)) : e.name.endsWith('.toml') ? [join(dir, e.name)] : []));
}

describe('deploy/Dockerfile: the configs in the image load there', () => {
  // Configs the image ships outside the built app (each COPY from the context), the CMD's, and
  // every `--config /...` the Dockerfile's comments tell people to run.
  const img = buildLayout();
  const shipped = ofKeyword(runtime, 'COPY')
    .filter((c) => fromStage(c) === undefined)
    .flatMap((c) => {
      const dest = join(img, args(c).at(-1)!);
      return statSync(dest).isDirectory() ? tomlFiles(dest) : dest.endsWith('.toml') ? [dest] : [];
    })
    .map((f) => f.slice(img.length));
  const cmd = execForm(ofKeyword(runtime, 'CMD')[0]!);
  const named = [cmd[cmd.indexOf('--config') + 1]!, ...[...text.matchAll(/--config (\/\S+\.toml)/g)].map((m) => m[1]!)];
  const configs = [...new Set([...shipped, ...named])].sort();

  it('ships the simulated config beside its built plugins, and names it', () => {
    expect(configs).toContain('/opt/cwts-ultra/examples/reference-app/config/sim.toml');
    expect(configs).toContain(cmd[cmd.indexOf('--config') + 1]!);
  });

  it.each(configs)('validate-config %s exits 0 in the image layout', (config) => {
    expect(existsSync(join(img, config)), `${config} exists in the image`).toBe(true);
    const r = validateIn(img, config);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(': valid');
  }, 90_000);

  it('the check can fail: sim.toml copied away from the built app exits 2 with its plugins "not installed"', () => {
    const img2 = buildLayout();
    cpSync(join(root, 'examples/reference-app/config/sim.toml'), join(img2, 'etc/cwts-ultra/elsewhere/sim.toml'), { recursive: true });
    const r = validateIn(img2, '/etc/cwts-ultra/elsewhere/sim.toml');
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/not installed/);
  }, 90_000);
});
