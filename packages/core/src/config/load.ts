import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { expandTree, isPlainTable, type ExpandOptions } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import { applyEnvOverrides } from './env-overrides.js';
import { validateConfig } from './schema.js';
import type { LoadedConfig } from './types.js';

export { BIND_ADDRESS_ENV } from './env-overrides.js';

/**
 * How a command loads its config. `credentials: 'not-needed'` is for the commands that talk to
 * no venue (journal, report, doctor, backends, risk-aggregator): a credential whose `${VAR}` is
 * unset (a backup timer runs without the venue keys) does not fail the load; see ExpandOptions.
 */
export type ConfigLoadOptions = ExpandOptions;

/**
 * Parses, substitutes `${VAR}` from `env`, validates and applies defaults. Every problem found is
 * thrown together as one ConfigError; nothing in it (or in `warnings`) contains a secret.
 *
 * @param sourceName how the text is named in messages (a file name)
 * @param configDir what relative plugin and journal paths are relative to (default: cwd)
 */
export function parseConfig(
  tomlText: string,
  env: NodeJS.ProcessEnv = process.env,
  sourceName = '<config>',
  configDir: string = process.cwd(),
  options: ConfigLoadOptions = {},
): LoadedConfig {
  let doc: Record<string, unknown>;
  try {
    doc = parse(tomlText.replace(/^\uFEFF/, ''), { unsafeKeyBehaviour: 'throw' }) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      // smol-toml appends an excerpt of the offending lines, which may hold a secret: drop it.
      const reason = e.message.split('\n')[0].replace(/^Invalid TOML document: /, '');
      throw new ConfigError(
        [{ path: '', message: `TOML syntax error at line ${e.line}, column ${e.column}: ${reason}` }],
        sourceName,
        { line: e.line, column: e.column },
      );
    }
    throw e;
  }
  const expanded = expandTree(doc, env, options);
  // Injected before validation, so an override is checked exactly like the file's value.
  const overrides = applyEnvOverrides(expanded.tree, env, expanded);
  const { redactor } = expanded;
  const result = validateConfig(expanded.tree, expanded.rawStrings);
  // A value from the environment is not in the file: the issue says where it came from.
  // A port clash is filed under one of its two keys: the variables behind either port, and behind
  // the addresses they bind, are named (CWTS_METRICS_PORT clashing with the file's health port
  // was filed under health_check_port and named nothing, pointing at a value not in the file).
  const named = (i: ConfigIssue): ConfigIssue => {
    const paths = [i.path];
    if (i.path.startsWith('monitoring.')) for (const m of i.message.matchAll(/\bmonitoring\.[a-z_]+/g)) paths.push(m[0]);
    if (paths.length > 1) for (const p of [...paths]) paths.push(p === 'monitoring.control_port' ? 'monitoring.control_bind_address' : 'monitoring.bind_address');
    const from = [...new Set(paths.map((p) => overrides.sources.get(p)).filter((v): v is string => v !== undefined))];
    return from.length === 0 ? i : { path: i.path, message: `${i.message} (from ${from.join(', ')})` };
  };
  const literal = literalSecretFindings(expanded.literalSecrets, expanded.tree, options);
  const issues = [...expanded.issues, ...literal.issues, ...overrides.issues, ...result.issues.map(named)];
  if (issues.length > 0) throw new ConfigError(redactor.redactIssues(issues), sourceName);
  const loaded: LoadedConfig = { config: result.config, warnings: [...literal.warnings, ...result.warnings].map((w) => redactor.redact(w)), notices: overrides.applied, configDir: resolve(configDir), redactor };
  if (expanded.notLoaded.length > 0) loaded.credentialsNotLoaded = expanded.notLoaded;
  return loaded;
}

/**
 * Credentials written in the file itself (DESIGN.md, Safety: keys come from the environment only;
 * a config file is copied to repositories, ConfigMaps and backups that nobody treats as a
 * credential store). Refused in a live config; elsewhere (paper, sim, tests against local fakes)
 * a warning, as are the commands that load without credentials (they sign nothing). Only the key
 * path is named, never the value.
 */
function literalSecretFindings(paths: readonly string[], tree: Record<string, unknown>, options: ConfigLoadOptions): { issues: ConfigIssue[]; warnings: string[] } {
  const system = isPlainTable(tree.system) ? tree.system : {};
  const refuse = system.mode === 'live' && (options.credentials ?? 'required') === 'required';
  const issues: ConfigIssue[] = [];
  const warnings: string[] = [];
  for (const path of paths) {
    const variable = path.replace(/\[\d+\]/g, '').replace(/[^A-Za-z0-9]+/g, '_').toUpperCase();
    const fix = `put it in the environment and write "\${${variable}}"`;
    if (refuse) issues.push({ path, message: `written in the config file; keys come from the environment only: ${fix}` });
    else warnings.push(`${path}: written in the config file; keys come from the environment only (with mode = "live" this is refused): ${fix}`);
  }
  return { issues, warnings };
}

/** Reads and parses a config file; see parseConfig. `configDir` is the file's directory. */
export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env, options: ConfigLoadOptions = {}): LoadedConfig {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message);
    throw new ConfigError([{ path: '', message: `cannot read config file ${abs}: ${why}` }], path);
  }
  return { ...parseConfig(text, env, path, dirname(abs), options), sourcePath: abs };
}

/**
 * Resolves a plugin specifier from the config: paths (./, ../, /) against `configDir`, as an
 * absolute file path; package names are returned unchanged.
 */
export function resolvePluginSpecifier(spec: string, configDir: string): string {
  if (spec.startsWith('./') || spec.startsWith('../')) return resolve(configDir, spec);
  return spec;
}

/** Resolves a file path from the config (e.g. journal.path) against `configDir`. */
export function resolveConfigPath(path: string, configDir: string): string {
  return isAbsolute(path) ? path : resolve(configDir, path);
}
