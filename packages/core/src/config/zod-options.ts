/**
 * Validating a plugin's settings table with a zod schema, with the messages the rest of the
 * config uses: the full key path, "unknown key (did you mean ...?)", "expected an integer, got
 * string "x"", "must be > 0, got 0". Plugins call `checkOptions` from `validateOptions`.
 */
import type { z } from 'zod';
import { indexPath, joinPath, type ConfigIssue } from './errors.js';
import { closestMatch } from './suggest.js';

export type OptionsCheck<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses `value` with `schema` and returns its output, or one issue per key path (the first
 * problem found at each path) with the key path under `path`. Build tables with
 * `z.strictObject` so unknown keys are reported (with the likely key, or the known ones).
 * Messages quote the value found; core masks `${VAR}` values and URL credentials in them.
 */
export function checkOptions<S extends z.ZodType>(schema: S, value: unknown, path: string): OptionsCheck<z.output<S>> {
  const r = schema.safeParse(value, { reportInput: true, error: configMessage });
  if (r.success) return { ok: true, value: r.data };
  const found: { at: string; order: number[]; message: string }[] = [];
  for (const issue of r.error.issues) {
    const at = issue.path.reduce<string>((p, k) => (typeof k === 'number' ? indexPath(p, k) : joinPath(p, String(k))), path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path);
      for (const key of issue.keys) found.push({ at: joinPath(at, key), order: fileOrder(value, [...issue.path, key]), message: unknownKeyMessage(key, known) });
    } else {
      found.push({ at, order: fileOrder(value, issue.path), message: issue.message });
    }
  }
  // In the order the keys appear in the file, one issue per key path (the first found).
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

/** Position of `path` in `value`: the index of each key among its table's keys, level by level. */
function fileOrder(value: unknown, path: readonly PropertyKey[]): number[] {
  const out: number[] = [];
  let v = value;
  for (const k of path) {
    if (v === null || typeof v !== 'object') break;
    out.push(Array.isArray(v) ? Number(k) : Object.keys(v).indexOf(String(k)));
    v = (v as Record<string, unknown>)[String(k)];
  }
  return out;
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** "unknown key", with the likely intended key when one is a small typo away, else the known keys. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const s = closestMatch(key, known);
  if (s !== undefined) return `unknown key (did you mean ${s}?)`;
  return known.length > 0 ? `unknown key (known: ${known.join(', ')})` : 'unknown key';
}

/** A value for a message: its type, and the value itself for scalars. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `string ${JSON.stringify(v)}`;
  if (v instanceof Date) return 'a datetime';
  if (typeof v === 'object') return 'a table';
  return `${typeof v} ${String(v)}`;
}

const EXPECTED: Record<string, string> = {
  object: 'a table',
  array: 'an array',
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
};

/** zod's per-parse error map: our wording for what a schema did not word itself. */
function configMessage(issue: z.core.$ZodRawIssue): string | undefined {
  const got = describeValue(issue.input);
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${got}`;
    case 'too_small':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return `must be ${issue.inclusive ? '>=' : '>'} ${issue.minimum}, got ${String(issue.input)}`;
      if (Number(issue.minimum) === 1) return 'must not be empty';
      return `must have at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'entries'}`;
    case 'too_big':
      if (issue.origin === 'number' || issue.origin === 'int' || issue.origin === 'bigint') return `must be ${issue.inclusive ? '<=' : '<'} ${issue.maximum}, got ${String(issue.input)}`;
      return `must have at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'entries'}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${got}`;
    default:
      return undefined;
  }
}

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
}
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Unwraps optional/default/nullable/readonly/catch/pipe to the schema that holds the data. */
function unwrap(s: z.ZodType): z.ZodType {
  for (let d = defOf(s); ; d = defOf(s)) {
    if (d.innerType && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(d.type)) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else return s;
  }
}

/** The keys of the table schema at `path` inside `schema` (empty when it is not a table). */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let s: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (s === undefined) return [];
    const d = defOf(s);
    if (d.type === 'object') s = d.shape?.[String(key)];
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'array') s = d.element;
    else return [];
    if (s !== undefined) s = unwrap(s);
  }
  if (s === undefined) return [];
  const d = defOf(s);
  return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
}
