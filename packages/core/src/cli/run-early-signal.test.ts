/**
 * A SIGTERM in the first moments of `cwts-ultra run`, while the CLI's modules are still being
 * imported (before run's own listeners exist), once took Node's default action: the process died
 * by the signal (exit 143 to a shell) with no word, and a systemd `stop` right after `start`
 * looked like a crash. The bin now listens from its first line, and run takes the signal up as a
 * stop during startup (exit 0, "stopped during startup (SIGTERM)"); any other command still ends
 * by the signal as before. The signal is sent by a module loader hook while `dist/cli/main.js` is
 * being loaded: always before run could listen, never a race on time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));

/** A preload that registers a loader hook sending `signal` to the process when the CLI's main module loads. */
function signalWhileImporting(dir: string, signal: NodeJS.Signals): string {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `export async function load(url, context, next) {
  if (url.endsWith('/dist/cli/main.js')) process.kill(process.pid, ${JSON.stringify(signal)});
  return next(url, context);
}
`,
  );
  const preload = join(dir, 'preload.mjs');
  writeFileSync(preload, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return preload;
}

function cli(dir: string, signal: NodeJS.Signals, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; log: string }> {
  const child = spawn(process.execPath, ['--import', pathToFileURL(signalWhileImporting(dir, signal)).href, BIN, ...args], {
    env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (b) => (log += String(b)));
  child.stderr.on('data', (b) => (log += String(b)));
  return new Promise((r) => child.on('close', (code, sig) => r({ code, signal: sig, log })));
}

describe('cwts-ultra: a shutdown signal while the CLI is still loading', () => {
  it('run: SIGTERM before run listens is a stop during startup: exit 0 and the stop line, not killed by the signal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-early-signal-'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('early', ANY_PORTS));
    const r = await cli(dir, 'SIGTERM', ['run', '--config', cfg]);
    expect({ code: r.code, signal: r.signal }, r.log).toEqual({ code: 0, signal: null });
    expect(r.log).toMatch(/stopped during startup \(SIGTERM\): nothing was trading/);
  }, 60_000);

  it('another command (validate-config) still ends by the signal, as Ctrl-C always did', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cwts-early-signal-'));
    const cfg = join(dir, 'c.toml');
    writeFileSync(cfg, simConfig('early'));
    const r = await cli(dir, 'SIGINT', ['validate-config', '--config', cfg, '--file-only']);
    expect({ code: r.code, signal: r.signal }, r.log).toEqual({ code: null, signal: 'SIGINT' });
  }, 60_000);
});
