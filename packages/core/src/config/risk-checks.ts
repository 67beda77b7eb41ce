/**
 * `[risk_checks.<name>]`: custom pre-trade checks from risk plugins, one table each.
 *
 *   [risk_checks.blocklist]
 *   plugin = "acme-risk-blocklist"     # npm name or path (./, ../, /), required
 *   enabled = true                     # default true
 *   symbols = ["DOGEUSDT"]             # every other key belongs to the plugin (its validateOptions)
 *
 * They run after core's built-in chain ([risk]), in the order of the file. Its own table rather
 * than keys inside `[risk]`, which holds core's limits only (and whose keys are all core's).
 */
import { z } from 'zod';
import { checkOptions } from './zod-options.js';
import type { ConfigIssue } from './errors.js';

export type RiskCheckPluginConfig = {
  /** The key of `[risk_checks.<name>]`. */
  name: string;
  enabled: boolean;
  /** Package name or path of the risk plugin. */
  plugin: string;
  /** Every other key of the table, validated by the plugin's validateOptions. */
  settings: Record<string, unknown>;
};

const PACKAGE_RE = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(?:\/[A-Za-z0-9._~-]+)*$/;
const NAME_RE = /^[a-z][a-z0-9_-]*$/;

const pluginSpec = z.string().refine(
  (v) => ((v.startsWith('./') || v.startsWith('../') || v.startsWith('/')) && !v.endsWith('/')) || PACKAGE_RE.test(v),
  { message: 'expected an npm package name or a path starting with ./, ../ or /' },
);

// The plugin's own keys pass through (looseObject); core owns only `plugin` and `enabled`.
const tableSchema = z.looseObject({ plugin: pluginSpec, enabled: z.boolean().default(true) });

/** Reads the `[risk_checks]` table (absent: none); one issue per problem with its key path. */
export function readRiskChecks(table: unknown): { checks: RiskCheckPluginConfig[]; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const checks: RiskCheckPluginConfig[] = [];
  if (table === undefined) return { checks, issues };
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    return { checks, issues: [{ path: 'risk_checks', message: 'expected a table of [risk_checks.<name>] tables' }] };
  }
  for (const [name, v] of Object.entries(table)) {
    const path = `risk_checks.${name}`;
    if (!NAME_RE.test(name)) issues.push({ path, message: `"${name}" is not a valid risk check name (lowercase letters, digits, _ and -, starting with a letter)` });
    const r = checkOptions(tableSchema, v, path);
    if (!r.ok) {
      issues.push(...r.issues);
      continue;
    }
    const { plugin, enabled, ...settings } = r.value;
    checks.push({ name, enabled, plugin, settings });
  }
  return { checks, issues };
}
