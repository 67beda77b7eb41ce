import { resolve } from 'node:path';

/** Where the deploy files (systemd unit, container image, k8s) keep a deployment's state. */
export const DEPLOY_DATA_DIR = '/var/lib/cwts-ultra';

/**
 * The deployment's data directory (journal, control token): `$CWTS_DATA_DIR`, else systemd's
 * `$STATE_DIRECTORY` (its first entry when the unit names several, ':'-separated), else `./data`
 * under the working directory. Never the config directory: deployments mount that read-only
 * (k8s ConfigMap, systemd ProtectSystem). Always an absolute path; it may not exist yet.
 */
export function resolveDataDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const explicit = env.CWTS_DATA_DIR?.trim();
  if (explicit) return resolve(cwd, explicit);
  const state = env.STATE_DIRECTORY?.split(':')[0]?.trim();
  if (state) return resolve(cwd, state);
  return resolve(cwd, 'data');
}
