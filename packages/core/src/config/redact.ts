import { inspect } from 'node:util';
import type { ConfigIssue } from './errors.js';

import { REDACTED, URL_USERINFO, redactUrlCredentials } from './url-credentials.js';

export { REDACTED, redactUrlCredentials };

/**
 * Values shorter than this are not masked: they cannot be a meaningful secret, and masking
 * "1" or "on" would garble every message that happens to contain them. URL credentials are
 * masked as `user:pass@` whatever their length.
 */
export const MIN_MASKED_LENGTH = 4;


/**
 * Text that must never be shown, with what to show instead: the values of `${VAR}`
 * substitutions (shown as `${VAR}`, or as the string as written in the file), URL credentials
 * (`[redacted]@`) and secrets (`[redacted]`). The config loader fills one per config; every
 * config and plugin-option error goes through `redactIssues`, and the CLI passes everything it
 * prints (errors, log lines, validate-config's summary) through `outputRedactor`.
 *
 * Like a CI system's secret masking, it works on the text, so it also catches a plugin
 * validator or a log line that echoes a value it was given. It never prints what it holds.
 */
export class Redactor {
  readonly #replacements = new Map<string, string>();
  /** Masked values, longest first (a longer value wins where two start at the same place). */
  #longestFirst: string[] | undefined;

  /** Masks `value` as `replacement` (values shorter than MIN_MASKED_LENGTH are ignored). */
  add(value: string, replacement: string = REDACTED): void {
    if (value.length < MIN_MASKED_LENGTH || this.#replacements.has(value)) return;
    // A replacement is shown as is: it must not carry credentials of its own.
    this.#replacements.set(value, redactUrlCredentials(replacement));
    // The same value inside a JSON string (a log line) is escaped; mask that form too.
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value && !this.#replacements.has(json)) this.#replacements.set(json, REDACTED);
    this.#longestFirst = undefined;
  }

  /** Masks the credentials of every `scheme://user:pass@` in `text` (raw and percent-decoded). */
  addUrlCredentials(text: string): void {
    for (const m of text.matchAll(URL_USERINFO)) {
      const userinfo = m[1]!;
      this.#addAlways(`${userinfo}@`, `${REDACTED}@`);
      const colon = userinfo.indexOf(':');
      if (colon < 0) continue;
      const password = userinfo.slice(colon + 1);
      this.add(password);
      try {
        this.add(decodeURIComponent(password));
      } catch {
        // not percent-encoded: the raw form is masked already
      }
    }
  }

  /** Adds everything `other` masks. */
  merge(other: Redactor): void {
    for (const [v, r] of other.#replacements) if (!this.#replacements.has(v)) this.#replacements.set(v, r);
    this.#longestFirst = undefined;
  }

  get size(): number {
    return this.#replacements.size;
  }

  /**
   * `text` with every masked value replaced (longest first, in one pass), every value shortened
   * the usual way (a prefix of it followed by "..." or "…") replaced too, and URL credentials
   * masked.
   */
  redact(text: string): string {
    let out = text;
    if (this.#replacements.size > 0) {
      // Plain string search, not one alternation regex: a value tens of KB long (fuzzed configs)
      // makes V8 refuse the regex ("Regular expression too large").
      this.#longestFirst ??= [...this.#replacements.keys()].sort((a, b) => b.length - a.length);
      out = replaceEarliestLongest(out, this.#longestFirst, (m) => this.#replacements.get(m) ?? REDACTED);
      for (const [value, replacement] of this.#replacements) {
        if (value.length > TRUNCATED_PREFIX) out = maskTruncated(out, value, replacement);
      }
    }
    return redactUrlCredentials(out);
  }

  redactIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
    return issues.map((i) => ({ path: this.redact(i.path), message: this.redact(i.message) }));
  }

  #addAlways(value: string, replacement: string): void {
    if (this.#replacements.has(value)) return;
    this.#replacements.set(value, replacement);
    this.#longestFirst = undefined;
  }

  toString(): string {
    return `Redactor(${this.size} values)`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}


/** A shortened value is recognised from this many of its first characters on. */
const TRUNCATED_PREFIX = 12;
const ELLIPSES = ['...', '\u2026'];

/** Replaces each `<prefix of value><ellipsis>` (prefix at least TRUNCATED_PREFIX long) in `text`. */
function maskTruncated(text: string, value: string, replacement: string): string {
  const head = value.slice(0, TRUNCATED_PREFIX);
  let from = 0;
  let out = text;
  for (;;) {
    const at = out.indexOf(head, from);
    if (at < 0) return out;
    let n = head.length;
    while (n < value.length && out[at + n] === value[n]) n++;
    const ellipsis = ELLIPSES.find((e) => out.startsWith(e, at + n));
    if (ellipsis === undefined) {
      from = at + 1;
      continue;
    }
    out = out.slice(0, at) + replacement + out.slice(at + n + ellipsis.length);
    from = at + replacement.length;
  }
}

/**
 * One left-to-right pass: at each step the earliest occurrence of any value is replaced (the
 * longest where several start there), and the search resumes after it, as an alternation regex
 * would. `values` must be sorted longest first.
 */
function replaceEarliestLongest(text: string, values: readonly string[], replacementOf: (value: string) => string): string {
  let out = '';
  let from = 0;
  for (;;) {
    let at = -1;
    let hit = '';
    for (const v of values) {
      const j = text.indexOf(v, from);
      if (j >= 0 && (at < 0 || j < at)) {
        at = j;
        hit = v;
      }
    }
    if (at < 0) return out + text.slice(from);
    out += text.slice(from, at) + replacementOf(hit);
    from = at + hit.length;
  }
}

/**
 * What the CLI masks in everything it prints: each command merges in the redactor of the config
 * it loaded (cli/output.ts loadConfigForCli), before composing anything that could log or fail.
 */
export const outputRedactor = new Redactor();
