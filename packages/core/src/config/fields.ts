/**
 * Field schemas of the core config, in its wording (config/config-messages.ts): ranges, names,
 * lists, URLs, plugin specifiers, hosts, secrets. The tables (config/tables.ts) are built from them.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { say } from './config-messages.js';
import { isPlainTable, UNRESOLVED } from './env.js';
import { Secret } from './secret.js';

export const NAME_RE = /^[a-z][a-z0-9_-]*$/;
export const NAME_RULE = 'lowercase letters, digits, _ and -, starting with a letter';
/** npm name (optionally scoped) with an optional subpath export, e.g. "@cwts/reference-app/strategy". */
const PACKAGE_RE = /^(?:@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*(?:\/[A-Za-z0-9._~-]+)*$/;
const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;

export interface Range {
  min?: number;
  minExclusive?: boolean;
  max?: number;
  maxExclusive?: boolean;
}

function describeRange(r: Range): string {
  if (r.min !== undefined && r.max !== undefined) {
    return `must be in ${r.minExclusive ? '(' : '['}${r.min}, ${r.max}${r.maxExclusive ? ')' : ']'}`;
  }
  if (r.min !== undefined) return `must be ${r.minExclusive ? '>' : '>='} ${r.min}`;
  return `must be ${r.maxExclusive ? '<' : '<='} ${r.max}`;
}

function inRange(x: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? !(x > r.min) : !(x >= r.min))) return false;
  if (r.max !== undefined && (r.maxExclusive ? !(x < r.max) : !(x <= r.max))) return false;
  return true;
}

export const positive: Range = { min: 0, minExclusive: true };
export const unitInterval: Range = { min: 0, minExclusive: true, max: 1 };

/** A finite number in `r`; one message for the whole range ("must be in (0, 1], got 1.5"). */
export const num = (r: Range) => z.number().refine((x) => inRange(x, r), { error: (iss) => `${describeRange(r)}, got ${String(iss.input)}` });

/** An integer in `r`. */
export const int = (r: Range) => z.int().refine((x) => inRange(x, r), { error: (iss) => `${describeRange(r)}, got ${String(iss.input)}` });

export const bool = z.boolean();

export const port = int({ min: 0, max: 65535 });

export const nonEmptyString = z.string().refine((s) => s.trim() !== '', { error: 'must not be empty' });

/** One of `values`, case-sensitive (the message hints when only the case differs). */
export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values);

export function url(protocols: readonly string[]) {
  const expected = `a ${protocols.map((x) => `${x}//`).join(' or ')} URL`;
  const ok = (v: string): boolean => {
    try {
      return protocols.includes(new URL(v).protocol);
    } catch {
      return false;
    }
  };
  return z.string().refine(ok, say(({ shown }) => `expected ${expected}, got ${shown}`));
}

/** An npm package name (scoped, with a subpath) or a ./, ../ or / path. */
export const pluginSpec = z.string().refine((v) => {
  const isPath = v.startsWith('./') || v.startsWith('../') || v.startsWith('/');
  return isPath ? v.length > 1 && !v.endsWith('/') : PACKAGE_RE.test(v);
}, say(({ shown }) => `expected an npm package name or a path starting with ./, ../ or /, got ${shown}`));

export const host = z.string().refine((v) => isIP(v) !== 0 || HOST_RE.test(v), say(({ shown }) => `expected an IP address or host name, got ${shown}`));

/** A string under a secret-named key: expandTree wrapped it in a Secret already. */
export const secret = z.custom<Secret>((v) => v instanceof Secret, say(({ got }) => `expected a string, got ${got}`));

/** Any table, unvalidated (its owner validates it). */
export const table = z.custom<Record<string, unknown>>(isPlainTable, say(({ got }) => `expected a table, got ${got}`));

export interface NameListOptions {
  /** What one entry is, for messages: "venue", "backend". */
  what: string;
  nonEmpty?: boolean;
  reserved?: readonly string[];
}

/** The entries of a name list a later check can rely on: valid, not reserved, first of duplicates. */
export function validNames(items: readonly unknown[], reserved: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (typeof item === 'string' && NAME_RE.test(item) && !reserved.includes(item) && !out.includes(item)) out.push(item);
  }
  return out;
}

/** An array of unique names matching NAME_RE; each bad entry is reported at its index. */
export function nameList(opts: NameListOptions) {
  return z.array(z.unknown()).transform((items, ctx) => {
    if (opts.nonEmpty && items.length === 0) ctx.addIssue({ code: 'custom', input: items, message: `must list at least one ${opts.what}` });
    const out: string[] = [];
    items.forEach((item, i) => {
      if (item === UNRESOLVED) return;
      if (typeof item !== 'string') return ctx.addIssue({ code: 'invalid_type', expected: 'string', input: item, path: [i] });
      if (!NAME_RE.test(item)) return ctx.addIssue({ code: 'custom', input: item, path: [i], ...say(({ shown }) => `${shown} is not a valid ${opts.what} name (${NAME_RULE})`) });
      if (opts.reserved?.includes(item)) return ctx.addIssue({ code: 'custom', input: item, path: [i], message: `"${item}" is a section name and cannot be a ${opts.what}` });
      if (out.includes(item)) return ctx.addIssue({ code: 'custom', input: item, path: [i], message: `duplicate ${opts.what} "${item}"` });
      out.push(item);
    });
    return out;
  });
}

/** An array of unique, non-empty symbols. */
export const symbolList = z.array(z.unknown()).transform((items, ctx) => {
  const out: string[] = [];
  items.forEach((item, i) => {
    if (item === UNRESOLVED) return;
    if (typeof item !== 'string') return ctx.addIssue({ code: 'invalid_type', expected: 'string', input: item, path: [i] });
    if (item.trim() === '') return ctx.addIssue({ code: 'custom', input: item, path: [i], message: 'must not be empty' });
    if (out.includes(item)) return ctx.addIssue({ code: 'custom', input: item, path: [i], ...say(({ shown }) => `duplicate symbol ${shown}`) });
    out.push(item);
  });
  return out;
});
