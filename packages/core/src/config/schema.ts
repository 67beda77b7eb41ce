/**
 * Validation of a whole config file: the zod tables (config/tables.ts) in the order their
 * issues are reported, the venue tables named by exchanges.enabled, and the checks and warnings
 * that span tables.
 */
import { isIP } from 'node:net';
import { configMessages, tomlTypeName } from './config-messages.js';
import { isPlainTable } from './env.js';
import type { ConfigIssue } from './errors.js';
import { joinPath } from './errors.js';
import { validNames } from './fields.js';
import { Secret } from './secret.js';
import { closestMatch } from './suggest.js';
import { headTables, SECTIONS, tailTables, venueTable } from './tables.js';
import { readClusterConfig } from './cluster-schema.js';
import { markHostDefaults } from './host-defaults.js';
import { readComputeTable } from './compute-schema.js';
import { readRoutingSection } from './routing-schema.js';
import { readRiskChecks } from './risk-checks.js';
import type { CwtsConfig, MonitoringConfig, VenueConfig } from './types.js';
import { parseTable } from './zod-issues.js';

export { SECTIONS } from './tables.js';
export { tomlTypeName } from './config-messages.js';

/** The journal file when `[journal] path` is not set: `<data dir>/<system.name>.db`. */
export const DEFAULT_JOURNAL_PATH = '<data dir>/<system.name>.db';

type Table = Record<string, unknown>;

/**
 * Whether `address` only accepts connections from this host: an IPv4 address in 127.0.0.0/8,
 * `::1` or `localhost`. Decided on the address itself, never on its spelling: a host name that
 * merely starts with "127." (`127.0.0.1.example.com`) resolves wherever its owner points it.
 */
export function isLoopback(address: string): boolean {
  return (isIP(address) === 4 && address.startsWith('127.')) || address === '::1' || address === 'localhost';
}

/**
 * Whether listening on `a` and on `b` with the same port fails (EADDRINUSE): the same address, or
 * one that covers the other (`::` covers every address, `0.0.0.0` every IPv4 one; `localhost` is
 * 127.0.0.1 or ::1). Other host names are compared as written.
 */
function addressesOverlap(a: string, b: string): boolean {
  const covers = (x: string, y: string) =>
    x === '::' || (x === '0.0.0.0' && (isIP(y) === 4 || y === 'localhost')) || (x === 'localhost' && (y === '127.0.0.1' || y === '::1'));
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x === y || covers(x, y) || covers(y, x);
}

/**
 * `run` listens on metrics_port and health_check_port (bind_address) and on control_port
 * (control_bind_address) only after composing everything (plugins initialized, venues
 * connected): two of them on one non-zero port of overlapping addresses can never start.
 */
export function monitoringPortClashes(m: Pick<MonitoringConfig, 'metrics_port' | 'health_check_port' | 'bind_address' | 'control_port' | 'control_bind_address'>): ConfigIssue[] {
  const endpoints: [string, number, string][] = [
    ['metrics_port', m.metrics_port, m.bind_address],
    ['health_check_port', m.health_check_port, m.bind_address],
    ['control_port', m.control_port, m.control_bind_address],
  ];
  const issues: ConfigIssue[] = [];
  for (let j = 1; j < endpoints.length; j++) {
    const [key, port, host] = endpoints[j]!;
    const other = endpoints.slice(0, j).find(([, p, h]) => p === port && port !== 0 && addressesOverlap(h, host));
    if (other === undefined) continue;
    const where = other[2] === host ? `on ${host}` : `(${other[2]} and ${host} overlap)`;
    issues.push({ path: `monitoring.${key}`, message: `${port} is also monitoring.${other[0]} ${where}: run cannot listen on both; use another port, or 0 to pick a free one` });
  }
  return issues;
}

/**
 * The manual kill switch (risk/control.ts) listens only on loopback: `run` refuses any other
 * control_bind_address at listen(), after composing everything. Refused here, so validate-config
 * and doctor say so before a start that could never succeed. The value is shown as written
 * (a `${VAR}` stays one: its substitution may be a secret).
 */
function controlBindIssues(m: Pick<MonitoringConfig, 'control_bind_address'>, rawStrings: ReadonlyMap<string, string>): ConfigIssue[] {
  if (isLoopback(m.control_bind_address)) return [];
  const path = 'monitoring.control_bind_address';
  const shown = JSON.stringify(rawStrings.get(path) ?? m.control_bind_address);
  return [{ path, message: `${shown} is not a loopback address (127.0.0.0/8, ::1, localhost); the manual kill switch only listens on loopback: reach it from another host through an SSH tunnel` }];
}

export interface ValidationResult {
  /** Complete only when `issues` is empty. */
  config: CwtsConfig;
  issues: ConfigIssue[];
  warnings: string[];
}

const hasSecret = (x: unknown): boolean => x instanceof Secret && !x.isEmpty;
const tableAt = (root: Table, key: string): Table | undefined => (isPlainTable(root[key]) ? (root[key] as Table) : undefined);

/** Validates an expanded tree (see expandTree) and applies defaults. */
export function validateConfig(root: Table, rawStrings: ReadonlyMap<string, string>): ValidationResult {
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  // The core tables' unknown keys name the likely key, never a list: the tables are documented.
  const atRoot = { messages: configMessages(rawStrings, 1), order: 'schema' as const, listKnownKeys: false };

  const head = parseTable(headTables, root, '', atRoot);
  issues.push(...head.issues);

  // The venue list, also when [exchanges] has problems: its valid entries, so each venue's
  // table is still checked. Unknown when the list itself is unreadable.
  const list = tableAt(root, 'exchanges')?.enabled;
  const known = head.ok || Array.isArray(list);
  const enabled = head.ok ? head.value.exchanges.enabled : Array.isArray(list) ? validNames(list, SECTIONS) : [];

  for (const [key, v] of Object.entries(root)) {
    if ((SECTIONS as readonly string[]).includes(key) || enabled.includes(key)) continue;
    if (!isPlainTable(v)) {
      const s = closestMatch(key, SECTIONS);
      issues.push({ path: joinPath('', key), message: `unknown key${s === undefined ? '' : ` (did you mean ${s}?)`}` });
      continue;
    }
    if (!known) continue; // cannot tell a venue table from a stray one
    const s = closestMatch(key, [...SECTIONS, ...enabled]);
    issues.push({
      path: joinPath('', key),
      message: `unknown section ${key}${s === undefined ? '' : ` (did you mean ${s}?)`}; if it is a venue, add it to exchanges.enabled`,
    });
  }

  const venues: VenueConfig[] = [];
  for (const name of enabled) {
    const raw = root[name] ?? {};
    if (!isPlainTable(raw)) issues.push({ path: joinPath('', name), message: `expected a table, got ${tomlTypeName(raw)}` });
    const t = isPlainTable(raw) ? raw : {};
    const r = parseTable(venueTable(name), t, joinPath('', name), { ...atRoot, messages: configMessages(rawStrings, -1) });
    issues.push(...r.issues);
    const hasCredentials = hasSecret(t.api_key) && hasSecret(t.api_secret);
    if (r.ok) venues.push({ name, ...r.value, hasCredentials } as VenueConfig);
    if (!hasCredentials) warnings.push(`${name}: no api_key/api_secret; market data only, orders on this venue will be refused`);
  }
  const mode = tableAt(root, 'system')?.mode;
  if (mode === 'live' && enabled.length > 0 && !enabled.some((n) => hasSecret(tableAt(root, n)?.api_key) && hasSecret(tableAt(root, n)?.api_secret))) {
    issues.push({ path: 'system.mode', message: '"live" needs api_key and api_secret for at least one enabled venue' });
  }

  // The tables after the venues, with [compute] (its own schema, config/compute-schema.ts:
  // backends, plugins and their settings) in its place between [monitoring] and [detectors].
  const tailHead = parseTable(tailTables.pick({ risk: true, monitoring: true }), root, '', atRoot);
  issues.push(...tailHead.issues);
  if (tailHead.ok) issues.push(...monitoringPortClashes(tailHead.value.monitoring), ...controlBindIssues(tailHead.value.monitoring, rawStrings));
  const computeRaw = root.compute ?? {};
  if (!isPlainTable(computeRaw)) issues.push({ path: 'compute', message: `expected a table, got ${tomlTypeName(computeRaw)}` });
  const compute = readComputeTable(isPlainTable(computeRaw) ? computeRaw : {}, { issue: (i) => issues.push(i), warn: (m) => warnings.push(m) });
  const tailRest = parseTable(tailTables.omit({ risk: true, monitoring: true }), root, '', atRoot);
  issues.push(...tailRest.issues);
  const tail = tailHead.ok && tailRest.ok ? { ok: true as const, value: { ...tailHead.value, ...tailRest.value } } : { ok: false as const };

  // [cluster] has its own schema (config/cluster-schema.ts); its default shard id needs the name.
  const cluster = readClusterConfig(root.cluster, issues, head.ok ? head.value.system.name : 'cwts', head.ok ? head.value.system.on_shutdown : undefined);
  // [routing] likewise (config/routing-schema.ts): its venue keys are checked against the enabled list.
  const routing = readRoutingSection(root.routing, enabled);
  issues.push(...routing.issues);
  // [risk_checks.<name>]: risk plugins (config/risk-checks.ts).
  const riskChecks = readRiskChecks(root.risk_checks);
  issues.push(...riskChecks.issues);

  if (!head.ok || !tail.ok) return { config: undefined as unknown as CwtsConfig, issues, warnings };
  const { strategy, ...rest } = tail.value;
  const config: CwtsConfig = { ...head.value, venues, ...rest, compute };
  if (strategy !== undefined) config.strategy = strategy;
  if (cluster !== undefined) config.cluster = cluster;
  if (routing.value) config.routing = routing.value;
  config.risk_checks = riskChecks.checks;
  if (tableAt(root, 'performance')?.thread_pool_size === undefined) markHostDefaults(config.performance, ['thread_pool_size']);
  warnings.push(...seedKeyNotices(root));
  return { config, issues, warnings };
}

/**
 * The seed's keys that are validated but not acted on yet: each says so at startup instead of
 * being silently ignored (docs/configuration.md names the issue that will enforce it).
 */
function seedKeyNotices(root: Table): string[] {
  const out: string[] = [];
  const performance = tableAt(root, 'performance') ?? {};
  if (performance.memory_pool_gb !== undefined) {
    out.push('performance.memory_pool_gb: reserved; nothing allocates a memory pool from it, so it has no effect');
  }
  return out;
}
