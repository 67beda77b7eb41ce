/**
 * The wording of the core config's messages ("expected an integer, got string", "must be in
 * (0, 1], got 1.5", "required key is missing"), as a zod error map. Values are shown as written
 * in the file (with their `${VAR}`), and never at all for a secret.
 */
import type { z } from 'zod';
import { isPlainTable } from './env.js';
import { Secret } from './secret.js';
import type { ConfigErrorMap } from './zod-issues.js';

/** The TOML type name of a value, as used in "expected X, got Y". Never looks at the content. */
export function tomlTypeName(v: unknown): string {
  if (v instanceof Secret || typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'float';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'bigint') return 'integer';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'datetime';
  if (isPlainTable(v)) return 'table';
  return typeof v;
}

/** Paths that are or sit below a secret-named key: their values are never displayed. */
const SECRETISH_PATH = /secret|password|token|passphrase|_key(?![a-z0-9])/i;

/**
 * What a field schema passes in `params` when its message needs the key or the value as
 * written: `say` builds the message from them.
 */
export interface SayParams {
  say: (at: { key: string; got: string; shown: string }) => string;
}

/** `{ params: say(...) }` for z.refine / z.custom: a message built from the key and the value. */
export const say = (fn: SayParams['say']): { params: SayParams } => ({ params: { say: fn } });

const EXPECTED: Record<string, string> = {
  string: 'a string',
  boolean: 'a boolean',
  number: 'a number',
  int: 'an integer',
  array: 'an array',
  object: 'a table',
  record: 'a table',
};

/**
 * The error map of the core tables. `rawStrings` holds strings as written before `${VAR}`
 * substitution, by key path; `sectionDepth` is the path depth of a top-level section (1 when
 * parsing the whole file, where a missing section is "required section is missing").
 */
export function configMessages(rawStrings: ReadonlyMap<string, string>, sectionDepth: number): ConfigErrorMap {
  const show = (v: unknown, path: string): string => {
    if (v instanceof Secret || SECRETISH_PATH.test(path)) return '[redacted]';
    if (typeof v === 'string') {
      const s = rawStrings.get(path) ?? v;
      return JSON.stringify(s.length > 80 ? `${s.slice(0, 77)}...` : s);
    }
    return String(v);
  };
  return (issue: z.core.$ZodRawIssue, path: string) => {
    const input = issue.input;
    switch (issue.code) {
      case 'invalid_type':
        if (input === undefined) return (issue.path?.length ?? 0) === sectionDepth ? 'required section is missing' : 'required key is missing';
        if (issue.expected === 'number' && typeof input === 'number') return `must be a finite number, got ${input}`;
        // z.int() says "number" when the value is no number at all; its format says integer.
        const format = (issue.inst as { _zod?: { def?: { format?: string } } } | undefined)?._zod?.def?.format;
        const expected = format === 'safeint' ? 'int' : issue.expected;
        if (expected === 'int' && typeof input === 'number') return `expected an integer, got ${input}`;
        return `expected ${EXPECTED[expected] ?? expected}, got ${tomlTypeName(input)}`;
      case 'invalid_value': {
        if (typeof input !== 'string') return `expected a string, got ${tomlTypeName(input)}`;
        const values = issue.values.map(String);
        const caseHint = values.some((x) => x.toLowerCase() === input.toLowerCase()) ? ' (values are case-sensitive)' : '';
        return `must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${show(input, path)}${caseHint}`;
      }
      case 'custom': {
        const p = issue.params as Partial<SayParams> | undefined;
        if (p?.say === undefined) return undefined;
        const key = issue.path?.length ? String(issue.path[issue.path.length - 1]) : '';
        return p.say({ key, got: tomlTypeName(input), shown: show(input, path) });
      }
      default:
        return undefined;
    }
  };
}
