/**
 * Environment variables that override values of the config file, so one file runs in every
 * environment: the venues' endpoints (a staging or local server instead of the exchange) and
 * the HTTP ports (a test or a second instance on one host). They are applied to the expanded
 * tree before validation, so an override is checked exactly like a value written in the file,
 * and every issue about an overridden key names the variable (load.ts appends "(from VAR)").
 * Each override applied is listed (`applied`): validate-config prints them, run logs them.
 */
import { isPlainTable, type ExpandResult } from './env.js';
import type { ConfigIssue } from './errors.js';

/**
 * Overrides `[monitoring] bind_address`, so one image serves every environment: a container sets
 * `0.0.0.0` (probes and Prometheus come from other hosts) while the shipped configs keep loopback.
 */
export const BIND_ADDRESS_ENV = 'CWTS_BIND_ADDRESS';

/**
 * `CWTS_METRICS_PORT`, `CWTS_HEALTH_PORT`, `CWTS_CONTROL_PORT`: `[monitoring] metrics_port` /
 * `health_check_port` / `control_port`. All three: a second instance on one host must move every
 * port `run` listens on, the kill switch's included (it stays on loopback: control_bind_address).
 */
export const PORT_ENV: Readonly<Record<string, string>> = { CWTS_METRICS_PORT: 'metrics_port', CWTS_HEALTH_PORT: 'health_check_port', CWTS_CONTROL_PORT: 'control_port' };

/** The variable that overrides `[<venue>] api_url` / `rest_url`: `CWTS_<VENUE>_API_URL`. */
export function venueUrlEnv(venue: string, key: 'api_url' | 'rest_url'): string {
  return `CWTS_${venue.toUpperCase().replace(/-/g, '_')}_${key.toUpperCase()}`;
}

export interface EnvOverrideResult {
  issues: ConfigIssue[];
  /** One line per value taken from the environment ("binance.api_url from CWTS_BINANCE_API_URL"). */
  applied: string[];
  /** Key path -> the variable its value came from, to name the variable in validation issues. */
  sources: Map<string, string>;
}

type Table = Record<string, unknown>;

/**
 * Writes the overrides found in `env` into `tree` (in place). A venue enabled without a table
 * gets one. A table that is not a table is left alone for validation to report.
 *
 * `expanded`, the rest of what expandTree returned for `tree`, is kept true of the new values: an
 * overridden key's text as written in the file (`${VAR}`) is dropped from `rawStrings`, so a
 * message quotes the value that failed, not the one it replaced; and the credentials of an
 * overriding URL join the `redactor`, as a URL written in the file does.
 */
export function applyEnvOverrides(tree: Table, env: NodeJS.ProcessEnv, expanded?: Pick<ExpandResult, 'rawStrings' | 'redactor'>): EnvOverrideResult {
  const issues: ConfigIssue[] = [];
  const applied: string[] = [];
  const sources = new Map<string, string>();
  const set = (section: string, key: string, value: unknown, from: string): void => {
    const cur = tree[section];
    if (cur === undefined) tree[section] = { [key]: value };
    else if (isPlainTable(cur)) tree[section] = { ...cur, [key]: value };
    else return;
    applied.push(`${section}.${key} from ${from}`);
    sources.set(`${section}.${key}`, from);
    expanded?.rawStrings.delete(`${section}.${key}`);
    if (typeof value === 'string') expanded?.redactor.addUrlCredentials(value);
  };

  for (const [name, key] of Object.entries(PORT_ENV)) {
    const v = env[name]?.trim();
    if (!v) continue;
    // Checked here: validation would report a string at monitoring.<key> and not name the variable.
    if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) issues.push({ path: `monitoring.${key}`, message: `${name} must be a port number 0-65535` });
    else set('monitoring', key, Number(v), name);
  }
  const bind = env[BIND_ADDRESS_ENV]?.trim();
  if (bind) set('monitoring', 'bind_address', bind, BIND_ADDRESS_ENV);

  const exchanges = tree.exchanges;
  const enabled = isPlainTable(exchanges) && Array.isArray(exchanges.enabled) ? exchanges.enabled : [];
  for (const venue of enabled) {
    if (typeof venue !== 'string' || !/^[a-z][a-z0-9_-]*$/.test(venue)) continue; // validation reports it
    for (const key of ['api_url', 'rest_url'] as const) {
      const name = venueUrlEnv(venue, key);
      const v = env[name]?.trim();
      if (v) set(venue, key, v, name);
    }
  }
  return { issues, applied, sources };
}
