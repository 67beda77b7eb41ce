import { redactUrlCredentials } from './redact.js';

/** One problem found in a config file; `path` is the full key path, e.g. "risk.max_drawdown". */
export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * Everything wrong with a config file, reported together. The message has a header line and then
 * one line per issue ("path: message"). Messages never contain secret values.
 */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  /** The file (or name given to parseConfig) the issues are about, when known. */
  readonly source?: string;
  /** 1-based position of a TOML syntax error, when that is what failed. */
  readonly line?: number;
  readonly column?: number;

  constructor(issues: ConfigIssue[], source?: string, position?: { line: number; column: number }) {
    // Credentials in a URL are recognisable in any text: mask them whoever built the issue.
    // (Substituted values are masked by the config's Redactor before the issues get here.)
    issues = issues.map((i) => ({ path: i.path, message: redactUrlCredentials(i.message) }));
    const n = issues.length;
    const header = `invalid configuration${source === undefined ? '' : ` ${source}`} (${n} problem${n === 1 ? '' : 's'}):`;
    super([header, ...issues.map((i) => `  ${formatIssue(i)}`)].join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
    if (source !== undefined) this.source = source;
    if (position !== undefined) {
      this.line = position.line;
      this.column = position.column;
    }
  }
}

export function formatIssue(issue: ConfigIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

/** Appends a key to a dotted path, quoting it as TOML would when it is not a bare key. */
export function joinPath(parent: string, key: string): string {
  const k = BARE_KEY.test(key) ? key : JSON.stringify(key);
  return parent === '' ? k : `${parent}.${k}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
