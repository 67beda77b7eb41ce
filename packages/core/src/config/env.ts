import type { ConfigIssue } from './errors.js';
import { indexPath, joinPath } from './errors.js';
import { Redactor, REDACTED } from './redact.js';
import { isSecretKey, Secret } from './secret.js';

/** `$${` (escape), `${NAME}` (reference) or a `${` that never closes (malformed). */
const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type SubstitutionResult =
  | { ok: true; value: string; substituted: boolean; /** Names substituted, once each. */ used: string[] }
  | { ok: false; missing: string[]; malformed: number };

/**
 * Replaces every `${NAME}` in `text` with `env.NAME`; `$${` stands for a literal `${`.
 * Substituted values are not scanned again, so a value may itself contain `${`.
 * Reports every unset variable (in order of appearance, once each) and the count of malformed
 * references (`${` without `}` or with a name that is not letters, digits and underscores).
 */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv): SubstitutionResult {
  if (!text.includes('${')) return { ok: true, value: text, substituted: false, used: [] };
  const missing: string[] = [];
  const used: string[] = [];
  let malformed = 0;
  let substituted = false;
  const value = text.replace(REFERENCE, (match: string, name: string | undefined) => {
    if (match === '$${') return '${';
    if (name === undefined || !VAR_NAME.test(name)) {
      malformed++;
      return '';
    }
    const v = env[name];
    if (v === undefined) {
      if (!missing.includes(name)) missing.push(name);
      return '';
    }
    substituted = true;
    if (!used.includes(name)) used.push(name);
    return v;
  });
  if (missing.length > 0 || malformed > 0) return { ok: false, missing, malformed };
  return { ok: true, value, substituted, used };
}

/** Writes `text` so that substituteEnv gives it back unchanged (every `${` becomes `$${`). */
export function escapeEnvReferences(text: string): string {
  // A function, since in a replacement string "$$" would mean one "$".
  return text.replaceAll('${', () => '$${');
}

/** Stands in for a string whose substitution failed (already reported); validators skip it. */
export const UNRESOLVED: unique symbol = Symbol('cwts.config.unresolved');

export interface ExpandResult {
  tree: Record<string, unknown>;
  issues: ConfigIssue[];
  /** Key path -> the string as written in the file, for strings that had a `${...}` in them. */
  rawStrings: Map<string, string>;
  /** Every substituted value, URL credential and secret of the tree, to mask in messages. */
  redactor: Redactor;
  /**
   * Credentials left unloaded under `credentials: 'not-needed'`, one line each:
   * "binance.api_key (BINANCE_API_KEY)". Names only, never a value.
   */
  notLoaded: string[];
  /**
   * Key paths of non-empty credentials (strings at or below a secret-named key) written in the
   * file as the value itself, with no `${VAR}` reference: keys come from the environment only, so
   * config/load.ts refuses them in a live config and warns about them otherwise.
   */
  literalSecrets: string[];
}

export interface ExpandOptions {
  /**
   * 'required' (default, what `run` and `validate-config` use): an unset variable is an error
   * wherever it is. 'not-needed', for commands that talk to no venue (journal, report, doctor,
   * backends, risk-aggregator): an unset variable in a credential (a string at or below a
   * secret-named key, see isSecretKey) is not an error; the credential becomes a Secret that is
   * configured but not loaded (Secret.notLoaded). Everything else is checked as usual: a
   * malformed reference in a credential, and any unset variable elsewhere (a password inside a
   * URL such as `[cluster] servers` included: that command may connect with it), still fail.
   */
  credentials?: 'required' | 'not-needed';
}

/**
 * Walks the parsed TOML: substitutes `${VAR}` in every string (keys untouched) and wraps every
 * string at or below a secret-named key (see isSecretKey) in a Secret. Returns a new tree.
 */
export function expandTree(root: Record<string, unknown>, env: NodeJS.ProcessEnv, opts: ExpandOptions = {}): ExpandResult {
  const issues: ConfigIssue[] = [];
  const rawStrings = new Map<string, string>();
  const redactor = new Redactor();
  const notLoaded: string[] = [];
  const literalSecrets: string[] = [];
  const credentialsNeeded = (opts.credentials ?? 'required') === 'required';

  const walk = (value: unknown, path: string, secret: boolean): unknown => {
    if (typeof value === 'string') {
      const r = substituteEnv(value, env);
      if (!r.ok && secret && !credentialsNeeded && r.malformed === 0) {
        notLoaded.push(`${path} (${r.missing.join(', ')})`);
        const vars = r.missing.length === 1 ? `environment variable ${r.missing[0]} is` : `environment variables ${r.missing.join(', ')} are`;
        return Secret.notLoaded(`${path}: ${vars} not set`);
      }
      if (!r.ok) {
        for (const name of r.missing) issues.push({ path, message: `environment variable ${name} is not set` });
        if (r.malformed > 0) {
          issues.push({
            path,
            message: 'malformed ${...} reference (a name is letters, digits and _; write $${ for a literal ${)',
          });
        }
        return UNRESOLVED;
      }
      if (value.includes('${')) rawStrings.set(path, value);
      for (const name of r.used) redactor.add(env[name]!, `\${${name}}`);
      // The whole substituted string reads best as written; a JSON log line cannot hold quotes raw.
      if (r.substituted) redactor.add(r.value, /["\\]/.test(value) ? REDACTED : value);
      redactor.addUrlCredentials(r.value);
      if (value !== r.value) redactor.addUrlCredentials(value);
      if (secret) redactor.add(r.value);
      if (secret && r.used.length === 0 && r.value.length > 0) literalSecrets.push(path);
      return secret ? new Secret(r.value) : r.value;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, indexPath(path, i), secret));
    if (isPlainTable(value)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, joinPath(path, k), secret || isSecretKey(k));
      return out;
    }
    return value;
  };

  const tree = walk(root, '', false) as Record<string, unknown>;
  return { tree, issues, rawStrings, redactor, notLoaded, literalSecrets };
}

export function isPlainTable(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
