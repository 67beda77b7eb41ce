// DESIGN.md (Safety): keys come from the environment only. A key written in the file itself made
// the file (a repository, a ConfigMap, /etc readable by others) a credential store nobody was
// told about, and a live config traded with it without a word.
import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.js';
import { parseConfig } from './load.js';

const KEY = 'AKLITERALKEY00000001';
const SECRET = 'literal-secret-value-0001';

const toml = (mode: string, venue: string) => `
[system]
name = "literal-keys"
mode = "${mode}"
[exchanges]
enabled = ["binance"]
[binance]
${venue}
[binance.options]
listen_token = "tok-literal-000001"
[risk]
max_position = 1000
max_drawdown = 0.1
var_confidence = 0.99
`;

const refusal = (text: string, env: NodeJS.ProcessEnv = {}): ConfigError => {
  try {
    parseConfig(text, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('loaded');
};

describe('credentials written literally in the config file', () => {
  it('live: refused, naming each key and the variable to use, never the value', () => {
    const e = refusal(toml('live', `api_key = "${KEY}"\napi_secret = "${SECRET}"`));
    expect(e.issues).toEqual(expect.arrayContaining([
      { path: 'binance.api_key', message: 'written in the config file; keys come from the environment only: put it in the environment and write "${BINANCE_API_KEY}"' },
      { path: 'binance.api_secret', message: 'written in the config file; keys come from the environment only: put it in the environment and write "${BINANCE_API_SECRET}"' },
      // any secret-named key counts, the plugin's options too
      { path: 'binance.options.listen_token', message: expect.stringContaining('"${BINANCE_OPTIONS_LISTEN_TOKEN}"') },
    ]));
    expect(e.message).not.toContain(KEY);
    expect(e.message).not.toContain(SECRET);
    expect(e.message).not.toContain('tok-literal');
  });

  it('live: one literal key is enough to refuse, even next to one from the environment', () => {
    const e = refusal(toml('live', `api_key = "\${K}"\napi_secret = "${SECRET}"`), { K: KEY });
    expect(e.issues.map((i) => i.path)).toEqual(['binance.api_secret', 'binance.options.listen_token']);
  });

  it('paper: loads, with a warning per key that says live refuses it, never the value', () => {
    const { warnings, config } = parseConfig(toml('paper', `api_key = "${KEY}"\napi_secret = "${SECRET}"`), {});
    expect(config.venues[0]!.hasCredentials).toBe(true);
    const about = warnings.filter((w) => /written in the config file/.test(w));
    expect(about).toEqual([
      'binance.api_key: written in the config file; keys come from the environment only (with mode = "live" this is refused): put it in the environment and write "${BINANCE_API_KEY}"',
      'binance.api_secret: written in the config file; keys come from the environment only (with mode = "live" this is refused): put it in the environment and write "${BINANCE_API_SECRET}"',
      expect.stringMatching(/^binance\.options\.listen_token: /),
    ]);
    expect(warnings.join('\n')).not.toMatch(new RegExp(`${KEY}|${SECRET}|tok-literal`));
  });

  it('a ${VAR} reference loads without the complaint; an escaped $${ or an empty string is no reference / no key', () => {
    const fromEnv = parseConfig(toml('live', 'api_key = "${K}"\napi_secret = "prefix-${S}"').replace(/listen_token = .*/, 'listen_token = "${T}"'), { K: KEY, S: SECRET, T: 'tok' });
    expect(fromEnv.config.venues[0]!.hasCredentials).toBe(true);
    expect(fromEnv.warnings.filter((w) => /written in the config file/.test(w))).toEqual([]);
    // "$${K}" is the literal text ${K}: written in the file like any other value.
    expect(refusal(toml('live', 'api_key = "$${K}"\napi_secret = "${S}"'), { S: SECRET }).issues.map((i) => i.path)).toContain('binance.api_key');
    // An empty key carries nothing (and counts as no credentials, which live refuses on its own terms).
    const empty = parseConfig(toml('paper', 'api_key = ""\napi_secret = ""').replace(/listen_token = .*/, ''), {});
    expect(empty.warnings.filter((w) => /written in the config file/.test(w))).toEqual([]);
  });

  it('commands that sign nothing (credentials: not-needed) load a live config with a warning', () => {
    const { warnings } = parseConfig(toml('live', `api_key = "${KEY}"\napi_secret = "${SECRET}"`), {}, '<config>', process.cwd(), { credentials: 'not-needed' });
    expect(warnings.filter((w) => /written in the config file/.test(w)).length).toBe(3);
  });
});
