// validate-config and run check plugins with the same code (engine/prepare-plugins.ts): every
// problem of every plugin at once, and validate-config refuses exactly what run refuses.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const app = join(root, 'examples/reference-app');
const fixtures = join(root, 'packages/core/test/fixtures/plugins');
const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-run-'));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, env: { ...process.env, CWTS_LOG_FORMAT: 'json' }, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

let n = 0;
/** A small valid deployment on the sim venue (free ports, private journal) plus `extra` TOML. */
function config(opts: { simOptions?: string; extra?: string } = {}): string {
  const p = join(dir, `c${n++}.toml`);
  writeFileSync(p, `
[system]
name = "validate-run"
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[sim.options]
seed = 7
${opts.simOptions ?? ''}
[risk]
max_position = 100000
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[journal]
path = "${join(dir, `j${n}.jsonl`)}"
${opts.extra ?? ''}
`);
  return p;
}

/** The indented problem lines of a ConfigError, sorted. */
function problems(out: string): string[] {
  return out.split('\n').filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim()).sort();
}

/** Runs both commands; both must refuse with the same problems, which are returned. */
function bothRefuse(cfg: string): string[] {
  const v = cli(['validate-config', '--config', cfg]);
  const r = cli(['run', '--config', cfg, '--duration', '1']);
  expect(v.code, v.out).toBe(2);
  expect(r.code, r.out).toBe(2);
  expect(problems(v.out)).toEqual(problems(r.out));
  return problems(v.out);
}

describe('validate-config refuses exactly what run refuses', () => {
  it('a misspelt sim option, with the likely key', () => {
    expect(bothRefuse(config({ simOptions: 'sede = 42' }))).toEqual(['sim.options.sede: unknown key (did you mean seed?)']);
  });

  it('a negative events_per_second', () => {
    expect(bothRefuse(config({ simOptions: 'events_per_second = -5' }))).toEqual(['sim.options.events_per_second: must be > 0, got -5']);
  });

  it('a misspelt setting of a built-in detector', () => {
    expect(bothRefuse(config({ extra: '[detectors.whale]\nz_treshold = 3' }))).toEqual([expect.stringMatching(/^detectors\.whale\.z_treshold: unknown key/)]);
  });

  it('a misspelt setting of a plugin detector (the reference app checks it in register())', () => {
    const found = bothRefuse(config({ extra: `[detectors.whale]\nplugin = "${app}/dist/detectors/index.js"\nz_treshold = 4` }));
    expect(found).toEqual([expect.stringMatching(/^@cwts\/reference-app\/detectors \(whale\): register\(\) failed: detectors\.whale\.z_treshold: unknown key/)]);
  });

  it('every plugin failing at once: exchange, built-in and plugin detectors, strategy, compute backend, a missing plugin', () => {
    const found = bothRefuse(config({
      simOptions: 'sede = 42\nevents_per_second = -5',
      extra: `
[compute]
backends = ["cpu-simd", "js"]
[compute.cpu-simd]
isa = "sse9"
[detectors.whale]
z_treshold = 3
[detectors.echo]
plugin = "${fixtures}/echo-detector.mjs"
threshold = "high"
[detectors.gone]
plugin = "./no-such-detector.mjs"
[strategy]
plugin = "${fixtures}/echo-strategy.mjs"
fail = true
mode = "yolo"
`,
    }));
    expect(found).toEqual(expect.arrayContaining([
      'sim.options.sede: unknown key (did you mean seed?)',
      'sim.options.events_per_second: must be > 0, got -5',
      expect.stringMatching(/^detectors\.whale\.z_treshold: unknown key/),
      'detectors.echo.threshold: expected a number, got "high"',
      expect.stringMatching(/^\.\/no-such-detector\.mjs \(detectors\.gone\.plugin\) is not installed/),
      'acme-echo-strategy (strategy): register() failed: bad mode "yolo"',
      expect.stringMatching(/^compute\.cpu-simd: cpu-simd: setting isa must be one of .*, got "sse9"/),
    ]));
    expect(found).toHaveLength(7);
  });

  it('a good config passes both (validate-config registers plugins but initializes none)', () => {
    const cfg = config({ extra: `[detectors.echo]\nplugin = "${fixtures}/echo-detector.mjs"\nthreshold = 3\n[strategy]\nplugin = "${app}/dist/strategy/index.js"\norder_notional = 1000` });
    const v = cli(['validate-config', '--config', cfg]);
    expect(v.code, v.out).toBe(0);
    expect(v.out).toMatch(/valid/);
    expect(v.out).not.toMatch(/echo detector ready/);
    const r = cli(['run', '--config', cfg, '--duration', '1']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/echo detector ready/);
  });
});
