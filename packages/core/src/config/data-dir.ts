import { isAbsolute, resolve } from 'node:path';

/**
 * Where the process keeps its state (the journal): `$CWTS_DATA_DIR`, else `$STATE_DIRECTORY`
 * (what systemd's `StateDirectory=` sets), else `./data` under the working directory. Never the
 * config directory: deployments mount that read-only (k8s ConfigMap, systemd ProtectSystem).
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const fromEnv = env.CWTS_DATA_DIR?.trim() || firstOf(env.STATE_DIRECTORY);
  if (fromEnv) return isAbsolute(fromEnv) ? fromEnv : resolve(cwd, fromEnv);
  return resolve(cwd, 'data');
}

/** systemd sets STATE_DIRECTORY to a colon-separated list when several are configured. */
function firstOf(list: string | undefined): string | undefined {
  const first = list?.split(':')[0]?.trim();
  return first || undefined;
}
