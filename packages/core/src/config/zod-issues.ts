/**
 * Turning a zod parse of a config table into ConfigIssues: full key paths, one issue per path,
 * "unknown key (did you mean ...?)", a stable order. The wording of each message is the
 * caller's (an error map): the core tables keep the config's wording (config/config-messages.ts),
 * plugin options the options wording (config/zod-options.ts).
 */
import type { z } from 'zod';
import { UNRESOLVED } from './env.js';
import { indexPath, joinPath, type ConfigIssue } from './errors.js';
import { closestMatch } from './suggest.js';

/** A zod error map that also sees the full key path of the issue (as the config names it). */
export type ConfigErrorMap = (issue: z.core.$ZodRawIssue, keyPath: string) => string | undefined;

export interface CollectOptions {
  /** Words the messages zod's schemas did not word themselves. */
  messages: ConfigErrorMap;
  /**
   * "schema": issues in the order the schema declares its keys, unknown keys of a table first
   * (how the core config reports). "file": in the order the keys appear in the value.
   */
  order: 'schema' | 'file';
  /** Whether "unknown key" lists the known keys when none is a likely typo (default true). */
  listKnownKeys?: boolean;
}

export type ParseOutcome<T> = { ok: true; value: T; issues: [] } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses `value` with `schema`; on failure returns one issue per key path (the first problem
 * found there) under `path`. An issue about a value whose `${VAR}` could not be substituted
 * (already reported by the substitution) is dropped.
 */
export function parseTable<S extends z.ZodType>(schema: S, value: unknown, path: string, opts: CollectOptions): ParseOutcome<z.output<S>> {
  const keyPath = (p: readonly PropertyKey[] | undefined) =>
    (p ?? []).reduce<string>((acc, k) => (typeof k === 'number' ? indexPath(acc, k) : joinPath(acc, String(k))), path);
  const r = schema.safeParse(value, { reportInput: true, error: (iss) => opts.messages(iss, keyPath(iss.path)) });
  if (r.success) return { ok: true, value: r.data, issues: [] };
  const found: { at: string; order: number[]; message: string }[] = [];
  for (const issue of r.error.issues) {
    if (valueAt(value, issue.path) === UNRESOLVED) continue;
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path);
      for (const key of issue.keys) {
        const at = [...issue.path, key];
        const order = opts.order === 'file' ? fileOrder(value, at) : [...schemaOrder(schema, value, issue.path), -1, inputIndex(valueAt(value, issue.path), key)];
        found.push({ at: keyPath(at), order, message: unknownKeyMessage(key, opts.listKnownKeys === false ? [] : known, known) });
      }
    } else {
      const order = opts.order === 'file' ? fileOrder(value, issue.path) : schemaOrder(schema, value, issue.path);
      found.push({ at: keyPath(issue.path), order, message: issue.message });
    }
  }
  found.sort((a, b) => compareOrder(a.order, b.order));
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const f of found) {
    if (seen.has(f.at)) continue;
    seen.add(f.at);
    issues.push({ path: f.at, message: f.message });
  }
  return { ok: false, issues };
}

/** "unknown key", with the likely intended key when one is a small typo away, else the known keys. */
export function unknownKeyMessage(key: string, known: readonly string[], candidates: readonly string[] = known): string {
  const s = closestMatch(key, candidates);
  if (s !== undefined) return `unknown key (did you mean ${s}?)`;
  return known.length > 0 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[String(k)];
  }
  return v;
}

function inputIndex(table: unknown, key: PropertyKey): number {
  if (table === null || typeof table !== 'object') return 0;
  return Array.isArray(table) ? Number(key) : Object.keys(table).indexOf(String(key));
}

/** Position of `path` in `value`: the index of each key among its table's keys, level by level. */
function fileOrder(value: unknown, path: readonly PropertyKey[]): number[] {
  const out: number[] = [];
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') break;
    out.push(inputIndex(v, k));
    v = (v as Record<string, unknown>)[String(k)];
  }
  return out;
}

/**
 * Position of `path` by the schema: a declared key by its place in the shape, any other key
 * (records, catch-alls, arrays) after the declared ones, in the value's order.
 */
function schemaOrder(schema: z.ZodType, value: unknown, path: readonly PropertyKey[]): number[] {
  const out: number[] = [];
  let s: z.ZodType | undefined = unwrap(schema);
  let v = value;
  for (const k of path) {
    const d: Def | undefined = s === undefined ? undefined : defOf(s);
    const keys = d?.type === 'object' && d.shape ? Object.keys(d.shape) : [];
    const i = keys.indexOf(String(k));
    out.push(i >= 0 ? i : keys.length + inputIndex(v, k));
    s = d === undefined ? undefined : childSchema(d, String(k));
    if (s !== undefined) s = unwrap(s);
    v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined;
  }
  return out;
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;
const CONTAINERS = ['object', 'record', 'array'];

/** Unwraps optional/default/nullable/readonly/catch/pipe to the schema that holds the data. */
function unwrap(s: z.ZodType): z.ZodType {
  for (let d = defOf(s); ; d = defOf(s)) {
    if (d.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in && d.out) {
      // `a.transform(f)` is pipe(a, transform); `z.custom(isTable).pipe(object)` holds its keys in `out`.
      const inner = unwrap(d.in);
      s = CONTAINERS.includes(defOf(inner).type) ? inner : d.out;
    } else return s;
  }
}

function childSchema(d: Def, key: string): z.ZodType | undefined {
  if (d.type === 'object') return d.shape?.[key] ?? d.catchall;
  if (d.type === 'record') return d.valueType;
  if (d.type === 'array') return d.element;
  return undefined;
}

/** The keys of the table schema at `path` inside `schema` (empty when it is not a table). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (s === undefined) return [];
    s = childSchema(defOf(s), String(key));
    if (s !== undefined) s = unwrap(s);
  }
  if (s === undefined) return [];
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}
