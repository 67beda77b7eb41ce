import { dirname, resolve } from 'node:path';

import { outputRedactor } from '../../config/index.js';
import type { CwtsConfig } from '../../config/types.js';
import { checkControlToken, checkGpuBackends, checkJournalLocation, checkPorts, checkVenues, runningEngine } from './deploy-checks.js';
import { hostChecks, realHost } from './host-checks.js';
import { loadConfigForCli } from '../output.js';
import { worstExit, type CheckResult, type HostProbe } from './types.js';

export { DOCTOR_EXIT, worstExit, type CheckResult, type CheckStatus, type HostProbe } from './types.js';

export interface DoctorOptions {
  config?: string;
  /** No network: venue reachability is skipped (tests always pass it). */
  offline?: boolean;
  json?: boolean;
  /** The host to inspect (tests play other machines). */
  host?: HostProbe;
  /** The data directory (default config/data-dir.ts resolveDataDir()). */
  dataDir?: string;
  /** The environment `run` will have (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** Defaults `run` would use without a config: the ports and data directory of a bare start. */
const BARE: Pick<CwtsConfig, 'journal' | 'system' | 'monitoring'> = {
  journal: { fsync: 'batch', batch_ms: 50 } as CwtsConfig['journal'],
  system: { name: 'cwts' } as CwtsConfig['system'],
  monitoring: { metrics_port: 9090, health_check_port: 8080, bind_address: '127.0.0.1', control_port: 8081, control_bind_address: '127.0.0.1', enable_tracing: false },
};

/**
 * `cwts-ultra doctor`: the seed's troubleshooting list as checks, each PASS / WARN / FAIL with
 * what was found and the fix (SKIP: not run, by request). A check that cannot run on this host
 * (no cpufreq in a VM, no systemd) is a WARN that says why. Exit code: the worst result,
 * PASS 0, WARN 1, FAIL 2 (docs/operations.md).
 */
export async function runDoctor(o: DoctorOptions): Promise<CheckResult[]> {
  // No check signs a request (venues: DNS + TLS only), so the venue keys need not be set here;
  // validate-config checks them as run loads them.
  const env = o.env ?? process.env;
  const loaded = o.config ? loadConfigForCli(o.config, env, { credentials: 'not-needed' }) : undefined;
  const cfg = loaded?.config;
  const results = hostChecks(o.host ?? realHost);
  results.push(await checkGpuBackends(o.config ? dirname(resolve(o.config)) : process.cwd(), cfg));
  results.push(checkJournalLocation(cfg ?? BARE, o.dataDir));
  // The runbooks send the operator here while the engine runs: its own ports are not a FAIL.
  results.push(await checkPorts(cfg ?? BARE, { engine: runningEngine(cfg ?? BARE, o.dataDir) }));
  results.push(checkControlToken(env, o.dataDir));
  results.push(cfg ? await checkVenues(cfg, !!o.offline) : { id: 'venues', title: 'venue URLs reachable (DNS + TLS handshake)', status: 'SKIP', detail: 'no --config: no venues to check' });
  // A detail may quote a plugin's message about a config value: masked before anyone prints it.
  return results.map((r) => ({ ...r, detail: outputRedactor.redact(r.detail), ...(r.fix !== undefined ? { fix: outputRedactor.redact(r.fix) } : {}) }));
}

export async function doctorCommand(o: DoctorOptions, out: (line: string) => void): Promise<number> {
  const results = await runDoctor(o);
  const code = worstExit(results);
  if (o.json) {
    out(JSON.stringify({ exitCode: code, checks: results }, null, 2));
    return code;
  }
  for (const r of results) {
    out(`${r.status.padEnd(4)}  ${r.title}: ${r.detail}`);
    if (r.fix && (r.status === 'WARN' || r.status === 'FAIL')) out(`      fix: ${r.fix}`);
  }
  const n = (s: string) => results.filter((r) => r.status === s).length;
  out(`${n('PASS')} pass, ${n('WARN')} warn, ${n('FAIL')} fail${n('SKIP') ? `, ${n('SKIP')} skipped` : ''} (exit ${code})`);
  return code;
}
