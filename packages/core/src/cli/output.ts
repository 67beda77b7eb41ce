import { loadConfigFile, outputRedactor, type ConfigLoadOptions } from '../config/index.js';
import type { LoadedConfig } from '../config/types.js';

/**
 * Loads a command's config and merges its redactor into `outputRedactor` before anything else
 * happens: from then on nothing the command prints (its own lines, a plugin's message quoting an
 * option, an error) can show a `${VAR}` value or a URL password of that config. Every command
 * that loads a config loads it through here, so none can forget the merge.
 */
export function loadConfigForCli(path: string, env: NodeJS.ProcessEnv = process.env, options: ConfigLoadOptions = {}): LoadedConfig {
  const loaded = loadConfigFile(path, env, options);
  outputRedactor.merge(loaded.redactor);
  return loaded;
}

/**
 * `text` as the CLI may print it: masked by `outputRedactor`. A JSON document (a `--json`
 * command's output, one line of `journal export`) is masked string by string, each string
 * re-encoded, so the output stays valid JSON: masking the text as a whole could cut across a
 * `","` (a URL's userinfo runs to the last `@`) or put a replacement that needs escaping inside a
 * string. Text with nothing to mask is returned as is, so the common case costs one scan.
 */
export function redactOutput(text: string): string {
  const masked = outputRedactor.redact(text);
  if (masked === text || !looksLikeJson(text)) return masked;
  try {
    JSON.parse(text);
  } catch {
    return masked;
  }
  return redactJsonStrings(text, (s) => outputRedactor.redact(s));
}

function looksLikeJson(text: string): boolean {
  const c = text.trimStart()[0];
  return c === '{' || c === '[' || c === '"';
}

/**
 * Valid JSON `text` with each string (keys too) replaced by `redact` of its value, re-encoded;
 * everything between the strings (layout, numbers) is kept byte for byte.
 */
function redactJsonStrings(text: string, redact: (s: string) => string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const start = text.indexOf('"', from);
    if (start < 0) return out + text.slice(from);
    let end = start + 1;
    // valid JSON: a string ends at the first quote that is not escaped
    while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
    const token = text.slice(start, end + 1);
    const value = JSON.parse(token) as string;
    const masked = redact(value);
    out += text.slice(from, start) + (masked === value ? token : JSON.stringify(masked));
    from = end + 1;
  }
}

/** A line on stderr, masked as stdout is (warnings and errors quote config values too). */
export function writeErrLine(line: string): void {
  process.stderr.write(`${redactOutput(line)}\n`);
}
