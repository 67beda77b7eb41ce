/**
 * Validating a plugin's settings table with a zod schema, with the messages the rest of the
 * config uses: the full key path, "unknown key (did you mean ...?)", "expected an integer, got
 * string "x"", "must be > 0, got 0". Plugins call `checkOptions` from `validateOptions`.
 */
import type { z } from 'zod';
import type { ConfigIssue } from './errors.js';
import { parseTable, unknownKeyMessage } from './zod-issues.js';

export { unknownKeyMessage };

export type OptionsCheck<T> = { ok: true; value: T } | { ok: false; issues: ConfigIssue[] };

/**
 * Parses `value` with `schema` and returns its output, or one issue per key path (the first
 * problem found at each path, in the order the keys appear in the value) with the key path
 * under `path`. Build tables with `z.strictObject` so unknown keys are reported (with the
 * likely key, or the known ones). Messages quote the value found; core masks `${VAR}` values
 * and URL credentials in them.
 */
export function checkOptions<S extends z.ZodType>(schema: S, value: unknown, path: string): OptionsCheck<z.output<S>> {
  const r = parseTable(schema, value, path, { messages: optionsMessage, order: 'file' });
  return r.ok ? { ok: true, value: r.value } : { ok: false, issues: r.issues };
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
function optionsMessage(issue: z.core.$ZodRawIssue): string | undefined {
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
