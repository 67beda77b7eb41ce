import { accessSync, constants, existsSync, statfsSync, statSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { createServer, Socket } from 'node:net';
import { lookup } from 'node:dns/promises';
import { connect as tlsConnect } from 'node:tls';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';

import { monitoringPortClashes } from '../../config/schema.js';
import type { CwtsConfig } from '../../config/types.js';
import { resolveJournalPath } from '../../journal/location.js';
import { describeHolder, writerHolder } from '../../journal/store.js';
import { GPU_DISABLED_REASON, onRealAccelerator } from '../../compute/index.js';
import { backendStatus } from '../backends.js';
import { resolveDataDir } from '../../config/data-dir.js';
import { CONTROL_TOKEN_ENV, CONTROL_TOKEN_FILE, MIN_CONTROL_TOKEN_LENGTH, controlTokenProblem } from '../../risk/control-token.js';
import { SQLITE_BINDING_FIX, sqliteBindingProblem } from './sqlite-binding.js';
import type { CheckResult } from './types.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/**
 * `run` always starts the control endpoint and refuses a `CWTS_CONTROL_TOKEN` it could guess,
 * after every plugin has initialized: FAIL here instead. The value is never shown. Without the
 * variable run writes a new token file in the data directory at each start (and fails to start
 * when it cannot): the directory is probed as journal-location probes the journal's.
 */
export function checkControlToken(env: NodeJS.ProcessEnv = process.env, dataDir?: string): CheckResult {
  const base = { id: 'control-token', title: 'control token (CWTS_CONTROL_TOKEN)' };
  const problem = controlTokenProblem(env);
  if (problem !== undefined) return { ...base, status: 'FAIL', detail: `${problem}: run refuses to start`, fix: `set ${CONTROL_TOKEN_ENV} to at least ${MIN_CONTROL_TOKEN_LENGTH} random characters (\`openssl rand -base64 32\`), or unset it and run writes a new one at each start` };
  if (env[CONTROL_TOKEN_ENV]?.trim()) return { ...base, status: 'PASS', detail: `set, at least ${MIN_CONTROL_TOKEN_LENGTH} characters` };
  const path = join(dataDir ?? resolveDataDir(env), CONTROL_TOKEN_FILE);
  // written beside, then renamed over it: the directory's write permission is what counts
  let cannot = dirProblem(dirname(path)).problem;
  if (cannot === undefined && isDirectory(path)) cannot = `${path} is a directory`;
  if (cannot !== undefined) {
    return {
      ...base, status: 'FAIL', detail: `not set, and run cannot write it to ${path}: ${cannot}`,
      fix: `set CWTS_DATA_DIR to a writable directory (the deploy files use /var/lib/cwts-ultra), or set ${CONTROL_TOKEN_ENV} to at least ${MIN_CONTROL_TOKEN_LENGTH} random characters (no file is written then)`,
    };
  }
  return { ...base, status: 'PASS', detail: `not set: run writes a new one to ${path} at each start` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Whether files can be created in `dir` by this user: the nearest directory that exists (`dir`
 * itself, or the one it would be created in) must be a directory, writable and searchable.
 * `problem` says why not.
 */
function dirProblem(dir: string): { nearest: string; problem?: string } {
  let nearest = dir;
  while (!existsSync(nearest) && dirname(nearest) !== nearest) nearest = dirname(nearest);
  if (!isDirectory(nearest)) return { nearest, problem: `${nearest} is in the way and is not a directory` };
  try {
    accessSync(nearest, constants.W_OK | constants.X_OK);
  } catch {
    return { nearest, problem: `${nearest} is not writable by this user (uid ${process.getuid?.() ?? '?'})` };
  }
  return { nearest };
}

/** The journal's directory must be writable by this user, with room to grow. */
export function checkJournalLocation(cfg: Pick<CwtsConfig, 'journal' | 'system'>, dataDir?: string): CheckResult {
  const base = { id: 'journal-location', title: 'journal location writable, free space' };
  const path = resolveJournalPath(cfg.journal, cfg.system.name, dataDir);
  const fix = 'set CWTS_DATA_DIR (or [journal] path) to a writable directory on a local disk with free space; the deploy files use /var/lib/cwts-ultra';
  // The nearest directory that exists: the journal's own, or the one it would be created in.
  const { nearest: dir, problem } = dirProblem(dirname(path));
  if (problem !== undefined) return { ...base, status: 'FAIL', detail: `journal ${path}: ${problem}`, fix };
  // run always opens the journal (no config turns it off): a fresh host has no file whose open
  // would show a missing addon, so it is loaded here whether the file exists or not
  const binding = sqliteBindingProblem();
  if (binding !== undefined) return { ...base, status: 'FAIL', detail: `journal ${path}: ${binding}`, fix: SQLITE_BINDING_FIX };
  if (existsSync(path)) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch {
      return { ...base, status: 'FAIL', detail: `journal ${path}: the file exists but is not readable and writable by this user`, fix: `chown it to the service user, or ${fix}` };
    }
  }
  const fs = statfsSync(dir);
  const free = Number(fs.bavail) * Number(fs.bsize);
  const where = dir === dirname(path) ? dirname(path) : `${dir} (${dirname(path)} will be created)`;
  const held = existsSync(path) ? holderNote(path) : 'not created yet';
  const detail = `journal ${path}: ${where} writable, ${(free / GiB).toFixed(1)} GiB free; ${held}`;
  if (free < 100 * MiB) return { ...base, status: 'FAIL', detail, fix: 'free space on that file system (a journal that cannot commit halts trading), or move the data directory' };
  if (free < GiB) return { ...base, status: 'WARN', detail, fix: 'less than 1 GiB free: a busy journal grows by tens of MiB a day; free space or move the data directory' };
  return { ...base, status: 'PASS', detail };
}

function holderNote(path: string): string {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const h = writerHolder(db);
      if (!h) return 'exists, no writer';
      return h.live ? describeHolder(h).replace(/;.*$/, '') : `exists, stale lock of pid ${h.pid} (a restart takes it over)`;
    } finally {
      db.close();
    }
  } catch (err) {
    return `exists, cannot be read (${(err as Error).message})`;
  }
}

function listenable(port: number, host: string): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err) => resolve(err as NodeJS.ErrnoException));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/** This deployment's engine, as its journal names it: the journal's live writer on this host. */
export interface RunningEngine {
  pid: number;
}

/** The journal's live writer on this host, if any (a writer on another host holds no port here). */
export function runningEngine(cfg: Pick<CwtsConfig, 'journal' | 'system'>, dataDir?: string): RunningEngine | undefined {
  const path = resolveJournalPath(cfg.journal, cfg.system.name, dataDir);
  if (!existsSync(path)) return undefined;
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const h = writerHolder(db);
      return h?.live && h.sameHost ? { pid: h.pid } : undefined;
    } finally {
      db.close();
    }
  } catch {
    // journal-location reports why it cannot be read
    return undefined;
  }
}

/** The route each of `run`'s endpoints serves that no other one does. */
const ENDPOINT_ROUTE: Record<string, string> = { metrics_port: '/metrics', health_check_port: '/health/live', control_port: '/risk/halt' };

/**
 * Whether the port answers as `run`'s endpoint for `key`: every one of them answers a path it
 * does not serve with a 404 listing its routes. A GET of such a path changes nothing, and needs
 * no token. A wildcard bind is asked on loopback.
 */
export function answersAsEndpoint(key: string, port: number, bindHost: string, timeoutMs = 1000): Promise<boolean> {
  const host = bindHost === '0.0.0.0' ? '127.0.0.1' : bindHost === '::' ? '::1' : bindHost;
  const route = ENDPOINT_ROUTE[key];
  return new Promise((settle) => {
    // the whole exchange is bounded: a holder may accept and then trickle, or never answer
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const resolve = (v: boolean): void => {
      clearTimeout(timer);
      // the socket too: one the holder half-closed stays open otherwise, holding its close
      req.destroy();
      settle(v);
    };
    // no keep-alive: a socket left open would hold doctor's exit, and the holder's close
    const req = httpGet({ host, port, path: '/cwts-ultra-doctor-probe', agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
        // run's 404 is a few hundred bytes: anything much longer is not it
        if (body.length > 64 * 1024) req.destroy(new Error('not run\'s answer'));
      });
      res.on('end', () => {
        try {
          const routes = (JSON.parse(body) as { routes?: unknown }).routes;
          resolve(res.statusCode === 404 && Array.isArray(routes) && route !== undefined && routes.includes(route));
        } catch {
          resolve(false);
        }
      });
      // after 'end' (which has answered), or a cut-off answer
      res.on('error', () => resolve(false));
      res.on('close', () => resolve(false));
    });
    req.on('error', () => resolve(false));
  });
}

/**
 * The ports `run` binds must be free (a second instance, or another service, holds them
 * otherwise). The runbooks send the operator here while the engine runs: a port held by this
 * deployment's own running engine (the journal's live writer on this host, and the port answers
 * as that endpoint of `run`) is a PASS that says so, not a FAIL telling on-call to stop it.
 */
export async function checkPorts(cfg: Pick<CwtsConfig, 'monitoring'>, o: { engine?: RunningEngine; probeTimeoutMs?: number } = {}): Promise<CheckResult> {
  const base = { id: 'ports', title: 'HTTP ports free (metrics, health, risk control)' };
  const m = cfg.monitoring;
  const wanted: [string, number, string][] = [
    ['metrics_port', m.metrics_port, m.bind_address],
    ['health_check_port', m.health_check_port, m.bind_address],
    ['control_port', m.control_port, m.control_bind_address],
  ];
  // Probed one at a time, each port of a clash is free: the clash is the config's (validate-config refuses it too).
  const clashes = monitoringPortClashes(m);
  const found: string[] = clashes.map((i) => `${i.path} ${i.message}`);
  let status: CheckResult['status'] = clashes.length > 0 ? 'FAIL' : 'PASS';
  let fix: string | undefined = clashes.length > 0 ? 'give metrics_port, health_check_port and control_port different ports (or 0) in [monitoring]' : undefined;
  for (const [key, port, host] of wanted) {
    if (port === 0) {
      found.push(`${key} 0 (picked at start)`);
      continue;
    }
    const err = await listenable(port, host);
    if (!err) {
      found.push(`${host}:${port} free`);
      continue;
    }
    let why: string;
    if (err.code === 'EADDRINUSE') {
      const cwts = await answersAsEndpoint(key, port, host, o.probeTimeoutMs);
      if (cwts && o.engine) {
        found.push(`${key} ${host}:${port} held by the running engine pid ${o.engine.pid} (the journal's writer)`);
        continue;
      }
      why = cwts
        ? `in use by another cwts-ultra (it answers as run's ${key.replace(/_port$/, '')} endpoint), not this deployment's engine: its journal has no running writer on this host`
        : o.engine
          ? `in use by another process: not this deployment's engine pid ${o.engine.pid} (the port does not answer as run's ${key.replace(/_port$/, '')} endpoint)`
          : 'in use (another cwts-ultra, or another service)';
    } else why = err.code === 'EACCES' ? 'needs privileges (below 1024)' : err.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this host` : (err.message ?? String(err));
    status = 'FAIL';
    found.push(`${key} ${host}:${port} ${why}`);
    fix = 'stop what holds the port (ss -ltnp | grep :PORT shows it) or change [monitoring] metrics_port / health_check_port / control_port';
  }
  return { ...base, status, detail: found.join('; '), ...(fix ? { fix } : {}) };
}

/** DNS, then a TLS handshake (wss/https) or a TCP connect (ws/http), bounded. */
async function reach(url: string, timeoutMs: number): Promise<string> {
  const u = new URL(url);
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const port = Number(u.port || (secure ? 443 : 80));
  const t0 = Date.now();
  const addr = await Promise.race([lookup(u.hostname), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`DNS lookup of ${u.hostname} timed out`)), timeoutMs).unref())]);
  const dns = Date.now() - t0;
  const t1 = Date.now();
  await new Promise<void>((resolve, reject) => {
    const sock: Socket = secure ? tlsConnect({ host: addr.address, port, servername: u.hostname }) : new Socket().connect(port, addr.address);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${secure ? 'TLS handshake' : 'TCP connect'} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    sock.once(secure ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      sock.end();
      resolve();
    });
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  return `${u.host} ${addr.address} (DNS ${dns} ms, ${secure ? 'TLS' : 'TCP'} ${Date.now() - t1} ms)`;
}

/** Every configured venue URL answers: DNS and a TLS handshake. Skipped with --offline. */
export async function checkVenues(cfg: Pick<CwtsConfig, 'venues'>, offline: boolean, timeoutMs = 5000): Promise<CheckResult> {
  const base = { id: 'venues', title: 'venue URLs reachable (DNS + TLS handshake)' };
  if (offline) return { ...base, status: 'SKIP', detail: 'skipped (--offline)' };
  const found: string[] = [];
  let status: CheckResult['status'] = 'PASS';
  for (const v of cfg.venues) {
    const urls = [v.api_url, v.rest_url].filter((u): u is string => !!u);
    if (urls.length === 0) {
      if (/exchange-sim$/.test(v.plugin)) found.push(`${v.name}: in-process, nothing to reach`);
      else {
        found.push(`${v.name}: no api_url/rest_url in the config, the plugin's default endpoints are used and cannot be checked from here`);
        if (status === 'PASS') status = 'WARN';
      }
      continue;
    }
    for (const url of urls) {
      try {
        found.push(`${v.name}: ${await reach(url, timeoutMs)}`);
      } catch (err) {
        status = 'FAIL';
        found.push(`${v.name}: ${new URL(url).host} unreachable: ${(err as Error).message}`);
      }
    }
  }
  if (found.length === 0) found.push('no venues configured');
  return { ...base, status, detail: found.join('; '), ...(status === 'PASS' ? {} : { fix: 'check DNS, firewall and proxy for the hosts above (the app connects directly); for a WARN, set api_url/rest_url explicitly' }) };
}

/** The compute backends, as `cwts-ultra backends` sees them, against what the config asks. */
export async function checkGpuBackends(baseDir: string, cfg: Pick<CwtsConfig, 'compute' | 'performance'> | undefined): Promise<CheckResult> {
  const base = { id: 'gpu-backends', title: 'compute backends and GPU drivers (cwts-ultra backends)' };
  const { status, missing, providers } = await backendStatus(baseDir, undefined, cfg?.compute, cfg?.performance);
  const available = status.filter((s) => s.available);
  // A GPU is what auto-detection puts first (tier 0 of an available backend): a provider that
  // declares `gpu: true` on a device that is not CPU-emulated (lavapipe's 'cpu-device', 'cpu').
  // Backends report 'discrete-gpu', 'integrated-gpu', ...: there is no device type 'gpu'.
  const gpus = available.filter((s) => {
    const p = providers.find((q) => q.name === s.name);
    return p !== undefined && s.device !== undefined && onRealAccelerator(p, { available: true, device: s.device });
  });
  const unavailable = [...status.filter((s) => !s.available).map((s) => `${s.name}: ${s.reason ?? 'unavailable'}`), ...missing.map((m) => `${m.name}: ${m.reason}`)];
  const detail = `available: ${available.map((s) => `${s.name}${s.device ? ` (${s.device.name})` : ''}`).join(', ') || 'none'}; unavailable: ${unavailable.join('; ') || 'none'}`;
  // startup throws a ConfigError for these whatever else is available: `run` does not start
  const refused = missing.filter((m) => m.refusesRun);
  if (refused.length > 0) {
    return {
      ...base,
      status: 'FAIL',
      detail: `\`run\` refuses to start over ${refused.map((m) => m.name).join(', ')} (why: under unavailable); ${detail}`,
      fix: `correct the ${refused.map((m) => `[compute.${m.name}]`).join(', ')} settings (\`cwts-ultra validate-config\` lists every problem), or drop the backend from the deployment`,
    };
  }
  const listed = cfg?.compute.backends ?? [];
  if (listed.length > 0 && !listed.some((n) => available.some((s) => s.name === n))) {
    const gpuOff = status.some((s) => listed.includes(s.name) && s.reason === GPU_DISABLED_REASON);
    return {
      ...base,
      status: 'FAIL',
      detail: `none of [compute] backends = [${listed.join(', ')}] is available, so \`run\` refuses to start; ${detail}`,
      fix: `${gpuOff ? 'set [performance] gpu_enabled = true to use a GPU backend, or ' : ''}install the backend package and its driver (nvidia-smi / rocm-smi / vulkaninfo must see the device), or change [compute] backends`,
    };
  }
  if (gpus.length === 0 && cfg?.performance.gpu_enabled) {
    return { ...base, status: 'WARN', detail: `gpu_enabled = true but no GPU backend is available (compute runs on the CPU); ${detail}`, fix: 'install @cwts/backend-cuda, -rocm, -metal or -vulkan and the vendor driver; `cwts-ultra backends` says why each is unavailable' };
  }
  return { ...base, status: 'PASS', detail };
}
