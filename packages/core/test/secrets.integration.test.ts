// A sentinel secret through every config path: every table, the plugin options of an exchange,
// built-in and plugin detectors, a strategy and a compute backend, URLs with credentials (from
// ${VAR} and literal), valid and invalid values; through validate-config and run; and a grep of
// everything the process printed (stdout, stderr, log lines) for it. Nothing may leak.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = join(root, 'packages/core/bin/cwts-ultra.js');
const fixtures = join(root, 'packages/core/test/fixtures/plugins');
const dir = mkdtempSync(join(tmpdir(), 'cwts-secrets-'));

/** Every sentinel starts with this; a leak of any part of one that starts there is found. */
const MARK = 'SENTINEL-7f3a';
const NAMES = [
  'NAME', 'ENV', 'LEVEL', 'MODE', 'SHUT', 'THREADS', 'LAT', 'VENUE', 'PLUGIN', 'PW', 'KEY', 'SECRET', 'SYM', 'MARKET',
  'MAXPOS', 'MARK', 'BIND', 'PORT', 'BACKEND', 'ENABLED', 'STRATPLUGIN', 'JPATH', 'FSYNC', 'PLAT', 'SEED', 'FMT', 'TICK',
  'ISA', 'Z', 'THRESH', 'LABEL', 'STRAT', 'QUOTE', 'ENDPOINT',
] as const;
// Longer than any truncation (40, 80 chars), with spaces and a slash so no name or host rule accepts it.
const sentinel = (name: string) => `${MARK} ${name} s3cr3t/value that must never be printed 0123456789abcdef0123456789`;
const ENV: Record<string, string> = Object.fromEntries(NAMES.map((n) => [`S_${n}`, sentinel(n)]));
ENV.S_QUOTE = `${MARK} "quoted" \\ value of the QUOTE variable 0123456789abcdef`;
// Userinfo of a URL cannot hold a space: the password sentinel is URL-safe.
ENV.S_PW = `${MARK}-url-password-0123456789abcdef`;
ENV.S_ENDPOINT = `wss://carol:${MARK}-endpoint-password@127.0.0.1:1/ws`;
const LITERAL_URL_PASSWORD = `${MARK}-literal-password-in-the-file`;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: root,
    env: { ...process.env, ...ENV, CWTS_LOG_FORMAT: 'json' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const RISK = `
[risk]
max_position = 100000
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99
`;

/** Fails with the line that leaked, never with the whole output (that would print it again). */
function expectNoSentinel(out: string): void {
  const leaked = out.split('\n').filter((l) => l.includes(MARK) || l.includes('s3cr3t'));
  expect(leaked.map((l) => l.replaceAll(MARK, '<SENTINEL>').replaceAll('s3cr3t', '<s3cr3t>'))).toEqual([]);
}

describe('no ${VAR} value or URL credential is ever printed', () => {
  it('file problems in every table (validate-config and run)', () => {
    const cfg = write('file.toml', `
[system]
name = "\${S_NAME}"
environment = "\${S_ENV}"
log_level = "\${S_LEVEL}"
mode = "\${S_MODE}"
on_shutdown = "\${S_SHUT}"
[performance]
thread_pool_size = "\${S_THREADS}"
max_latency_ms = "\${S_LAT}"
[exchanges]
enabled = ["sim", "\${S_VENUE}"]
[sim]
plugin = "\${S_PLUGIN}"
api_url = "ftp://alice:\${S_PW}@127.0.0.1/ws"
rest_url = "gopher://bob:${LITERAL_URL_PASSWORD}@127.0.0.1/x"
api_key = "\${S_KEY}"
api_secret = "\${S_SECRET}"
symbols = ["\${S_SYM}", "\${S_SYM}", "\${S_QUOTE}"]
market = "\${S_MARKET}"
[risk]
max_position = "\${S_MAXPOS}"
max_drawdown = 0.15
kelly_fraction = 0.25
var_confidence = 0.99
mark = "\${S_MARK}"
[monitoring]
bind_address = "\${S_BIND}"
metrics_port = "\${S_PORT}"
[compute]
backends = ["\${S_BACKEND}"]
[detectors.whale]
enabled = "\${S_ENABLED}"
[strategy]
plugin = "\${S_STRATPLUGIN}"
[journal]
path = "\${S_JPATH}"
fsync = "\${S_FSYNC}"
[paper]
latency_ms = "\${S_PLAT}"
`);
    for (const args of [['validate-config', '--config', cfg], ['run', '--config', cfg, '--duration', '1']]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      // The problems were found (so the values went through the formatters) ...
      for (const path of ['system.log_level', 'system.mode', 'performance.thread_pool_size', 'exchanges.enabled[1]', 'sim.plugin', 'sim.api_url', 'sim.rest_url', 'sim.symbols[1]', 'sim.market', 'risk.max_position', 'risk.mark', 'monitoring.bind_address', 'compute.backends[0]', 'detectors.whale.enabled', 'strategy.plugin', 'journal.fsync', 'paper.latency_ms']) {
        expect(r.out).toContain(`${path}:`);
      }
      // ... shown as written in the file, or masked.
      expect(r.out).toContain('${S_LEVEL}');
      expect(r.out).toContain('[redacted]@127.0.0.1/x');
      expectNoSentinel(r.out);
    }
  });

  it('plugin option problems of an exchange, detectors, a strategy and a backend (validate-config and run)', () => {
    const cfg = write('plugins.toml', `
[system]
name = "\${S_NAME}"
environment = "\${S_ENV}"
[exchanges]
enabled = ["sim"]
[sim]
plugin = "@cwts/exchange-sim"
api_url = "wss://alice:\${S_PW}@127.0.0.1:1/ws"
rest_url = "https://bob:${LITERAL_URL_PASSWORD}@127.0.0.1:1/x"
api_key = "\${S_KEY}"
api_secret = "\${S_SECRET}"
symbols = ["BTCUSDT"]
[sim.options]
seed = "\${S_SEED}"
replay_format = "\${S_FMT}"
endpoint = "\${S_ENDPOINT}"
[sim.options.instruments.BTCUSDT]
tick_size = "\${S_TICK}"
${RISK}
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[compute]
backends = ["cpu-simd", "js"]
[compute.cpu-simd]
isa = "\${S_ISA}"
[detectors.whale]
z_threshold = "\${S_Z}"
[detectors.echo]
plugin = "${fixtures}/echo-detector.mjs"
threshold = "\${S_THRESH}"
label = "\${S_QUOTE}"
[strategy]
plugin = "${fixtures}/echo-strategy.mjs"
mode = "\${S_STRAT}"
fail = true
[journal]
path = "${join(dir, 'plugins-journal.jsonl')}"
`);
    for (const args of [['validate-config', '--config', cfg], ['run', '--config', cfg, '--duration', '1']]) {
      const r = cli(args);
      expect(r.code).toBe(2);
      for (const path of ['sim.options.seed', 'sim.options.replay_format', 'sim.options.endpoint', 'sim.options.instruments.BTCUSDT.tick_size', 'compute.cpu-simd', 'detectors.whale.z_threshold', 'detectors.echo.threshold']) {
        expect(r.out).toContain(`${path}:`);
      }
      expect(r.out).toMatch(/acme-echo-strategy \(strategy\): register\(\) failed: bad mode "\$\{S_STRAT\}"/);
      expect(r.out).toContain('got string "${S_SEED}"');
      expectNoSentinel(r.out);
    }
  });

  it('a valid config: validate-config output and every log line of a run', () => {
    const cfg = write('valid.toml', `
[system]
name = "\${S_NAME}"
environment = "\${S_ENV}"
log_level = "debug"
[exchanges]
enabled = ["sim"]
[sim]
plugin = "@cwts/exchange-sim"
api_url = "wss://alice:\${S_PW}@127.0.0.1:1/ws"
rest_url = "https://bob:${LITERAL_URL_PASSWORD}@127.0.0.1:1/x"
api_key = "\${S_KEY}"
api_secret = "\${S_SECRET}"
symbols = ["BTCUSDT"]
[sim.options]
seed = 7
${RISK}
[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
[compute]
backends = ["js"]
[detectors.echo]
plugin = "${fixtures}/echo-detector.mjs"
threshold = 3
label = "\${S_LABEL}"
[detectors.cascade]
[strategy]
plugin = "${fixtures}/echo-strategy.mjs"
mode = "\${S_STRAT}"
endpoint = "\${S_ENDPOINT}"
[journal]
path = "${join(dir, 'valid-journal.jsonl')}"
`);
    const v = cli(['validate-config', '--config', cfg]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/valid/);
    expectNoSentinel(v.out);

    const r = cli(['run', '--config', cfg, '--duration', '1']);
    expect(r.code).toBe(0);
    // The plugins did log their settings, the system name was logged: masked.
    expect(r.out).toContain('echo detector ready with');
    expect(r.out).toMatch(/echo strategy mode \$\{S_STRAT\}, endpoint \$\{S_ENDPOINT\}/);
    expect(r.out).toContain('${S_NAME} running in paper mode');
    expectNoSentinel(r.out);
  });
});
