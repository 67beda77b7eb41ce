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
import { readComputeTable } from './compute-schema.js';
import { readRoutingSection } from './routing-schema.js';
import { readRiskChecks } from './risk-checks.js';
import type { CwtsConfig, VenueConfig } from './types.js';
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
  const computeRaw = root.compute ?? {};
  if (!isPlainTable(computeRaw)) issues.push({ path: 'compute', message: `expected a table, got ${tomlTypeName(computeRaw)}` });
  const compute = readComputeTable(isPlainTable(computeRaw) ? computeRaw : {}, { issue: (i) => issues.push(i), warn: (m) => warnings.push(m) });
  const tailRest = parseTable(tailTables.omit({ risk: true, monitoring: true }), root, '', atRoot);
  issues.push(...tailRest.issues);
  const tail = tailHead.ok && tailRest.ok ? { ok: true as const, value: { ...tailHead.value, ...tailRest.value } } : { ok: false as const };

  // [cluster] has its own schema (config/cluster-schema.ts); its default shard id needs the name.
  const cluster = readClusterConfig(root.cluster, issues, head.ok ? head.value.system.name : 'cwts');
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
  warnings.push(...tableWarnings(config, root));
  return { config, issues, warnings };
}

/** Findings about a valid config worth a line at startup. */
function tableWarnings(config: CwtsConfig, root: Table): string[] {
  const out: string[] = [];
  const m = config.monitoring;
  if (!isLoopback(m.control_bind_address)) {
    out.push(
      `monitoring.control_bind_address: ${m.control_bind_address} is not a loopback address; ` +
        'the manual kill switch can be reached from other hosts',
    );
  }
  out.push(...seedKeyNotices(root));
  return out;
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
