/**
 * The `[compute]` table:
 *
 *   [compute]
 *   backends = ["cuda", "cpu-simd"]   # optional: the exact ordered list (js only if listed);
 *                                     # absent: auto-detect every installed backend
 *   [compute.vulkan]
 *   plugin = "./backends/my-vulkan.js" # optional: package name or path (default @cwts/backend-vulkan)
 *   device = 1                         # everything else: the backend's own settings, checked by
 *                                      # its plugin's validateOptions and passed to its create()
 *
 * Schema in zod; `readComputeTable` reports problems with their key paths through the config
 * checker's callbacks, so the hand-written config reader (and its zod successor) hooks it in one
 * line.
 */
import { z } from 'zod';
import { joinPath, type ConfigIssue } from './errors.js';
import { checkOptions } from './zod-options.js';
import { closestMatch } from './suggest.js';
import { isPlainTable } from './env.js';

const NAME_RE = /^[a-z][a-z0-9_-]*$/;
const NAME_RULE = 'lowercase letters, digits, _ and -, starting with a letter';

/** Backends `cwts-ultra` looks for when `[compute] backends` is absent (besides js and `[compute.<name>]` tables). */
export const KNOWN_COMPUTE_BACKENDS: readonly string[] = ['cpu-simd', 'cuda', 'rocm', 'metal', 'vulkan'];

export const computeBackendNameSchema = z
  .string()
  .regex(NAME_RE, { error: (iss) => `${JSON.stringify(iss.input)} is not a valid backend name (${NAME_RULE})` });

export const computeBackendsSchema = z.array(computeBackendNameSchema).min(1, { error: 'must list at least one backend' }).superRefine((names, ctx) => {
  names.forEach((n, i) => {
    if (names.indexOf(n) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `duplicate backend "${n}"` });
  });
});

/** `[compute.<name>]`: `plugin` is ours; every other key belongs to the backend. */
export const computeBackendTableSchema = z.looseObject({
  plugin: z.string().trim().min(1, { error: 'must be a package name or a path' }).optional(),
});

export interface ComputeConfig {
  /** The exact ordered list, or undefined: auto-detect. */
  backends: string[] | undefined;
  /** `[compute.<backend>]` tables without `plugin`: the backend's settings, passed to its create(). */
  backendOptions: Record<string, Record<string, unknown>>;
  /** `[compute.<backend>] plugin`: where to load the backend from (default `@cwts/backend-<name>`). */
  plugins: Record<string, string>;
}

export interface ComputeTableSink {
  issue(issue: ConfigIssue): void;
  warn(message: string): void;
}

/** The package or path a backend loads from. */
export function computePluginSpec(config: ComputeConfig, name: string): string {
  return config.plugins[name] ?? `@cwts/backend-${name}`;
}

/**
 * The backends a deployment loads plugins for: the configured list, or (auto-detect) the known
 * ones plus every `[compute.<name>]` table. js is built into core and never loaded as a plugin.
 */
export function computeBackendCandidates(config: ComputeConfig): string[] {
  const names = config.backends ?? [...new Set([...KNOWN_COMPUTE_BACKENDS, ...Object.keys(config.backendOptions), ...Object.keys(config.plugins)])];
  return names.filter((n) => n !== 'js');
}

/** Reads `[compute]` (already known to be a table, possibly empty). */
export function readComputeTable(table: Record<string, unknown>, sink: ComputeTableSink, path = 'compute'): ComputeConfig {
  const out: ComputeConfig = { backends: undefined, backendOptions: {}, plugins: {} };
  if (table.backends !== undefined) {
    const r = checkOptions(computeBackendsSchema, table.backends, joinPath(path, 'backends'));
    if (r.ok) out.backends = r.value;
    else r.issues.forEach((i) => sink.issue(i));
  }
  for (const [key, value] of Object.entries(table)) {
    if (key === 'backends') continue;
    const p = joinPath(path, key);
    if (!isPlainTable(value)) {
      const s = closestMatch(key, ['backends']);
      sink.issue({ path: p, message: s !== undefined ? `unknown key (did you mean ${s}?)` : `expected a [${p}] table of settings for backend ${key}, got ${tomlType(value)}` });
      continue;
    }
    if (!NAME_RE.test(key)) {
      sink.issue({ path: p, message: `"${key}" is not a valid backend name (${NAME_RULE})` });
      continue;
    }
    const r = checkOptions(computeBackendTableSchema, value, p);
    if (!r.ok) {
      r.issues.forEach((i) => sink.issue(i));
      continue;
    }
    const { plugin, ...settings } = r.value as { plugin?: string } & Record<string, unknown>;
    if (key === 'js' && plugin !== undefined) {
      sink.issue({ path: joinPath(p, 'plugin'), message: 'js is built into @cwts/core and cannot be loaded from a plugin' });
      continue;
    }
    if (plugin !== undefined) out.plugins[key] = plugin;
    out.backendOptions[key] = settings;
    if (out.backends !== undefined && !out.backends.includes(key)) {
      sink.warn(`${p}: settings for backend ${key}, which ${joinPath(path, 'backends')} does not list; ignored`);
    }
  }
  return out;
}

function tomlType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'boolean') return 'boolean';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'datetime';
  return typeof v;
}
