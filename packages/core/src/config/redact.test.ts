import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseConfig } from './load.js';
import { ConfigError } from './errors.js';
import { Redactor, redactUrlCredentials } from './redact.js';

const BASE = `
[system]
name = "t"
[exchanges]
enabled = ["sim"]
[risk]
max_position = 1
max_drawdown = 0.1
kelly_fraction = 0.1
var_confidence = 0.9
`;

function configError(toml: string, env: NodeJS.ProcessEnv): ConfigError {
  try {
    parseConfig(toml, env);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('Redactor', () => {
  it('replaces every masked value, longest first, in one pass', () => {
    const r = new Redactor();
    r.add('hunter22', '${PW}');
    r.add('hunter22-extended', '${LONG}');
    expect(r.redact('a hunter22 b hunter22-extended c')).toBe('a ${PW} b ${LONG} c');
    // A replacement is not scanned again.
    r.add('${PW} again', 'x');
    expect(r.redact('hunter22')).toBe('${PW}');
  });

  it('ignores values too short to be a secret, never URL credentials', () => {
    const r = new Redactor();
    r.add('abc');
    expect(r.redact('abc')).toBe('abc');
    r.addUrlCredentials('wss://u:p@host/x');
    expect(r.redact('connecting to wss://u:p@host/x')).toBe('connecting to wss://[redacted]@host/x');
  });

  it('masks URL credentials in any text, even ones it was never told about', () => {
    expect(redactUrlCredentials('GET https://bob:s3cret@example.test/a and ftp://x@y/z')).toBe('GET https://[redacted]@example.test/a and ftp://[redacted]@y/z');
    expect(redactUrlCredentials('mail me: bob@example.test')).toBe('mail me: bob@example.test');
  });

  it("masks the whole userinfo, up to the last @ of the authority, whatever the password holds (', \", @, \\ ...)", () => {
    const text = "servers nats://alice:Tr0ub4dor'xkcd@936@10.0.0.5:4222/x and wss://bob:a\"b\\c@h:1/ws, mail carol@example.test";
    expect(redactUrlCredentials(text)).toBe('servers nats://[redacted]@10.0.0.5:4222/x and wss://[redacted]@h:1/ws, mail carol@example.test');
    const r = new Redactor();
    r.addUrlCredentials("nats://alice:Tr0ub4dor'xkcd@936@10.0.0.5:4222");
    expect(r.redact("password Tr0ub4dor'xkcd@936 alone")).toBe('password [redacted] alone');
  });

  it('property: no password a URL client accepts survives, in plain text or a JSON log line, and the host stays', () => {
    // Characters a URL parser takes raw in userinfo (it percent-encodes most of them); `/ ? #`
    // and whitespace end the authority, so a password holds them only percent-encoded.
    const odd = fc.constantFrom(...`'"@:<>\`{}|^[]\\;=&+,~!$%*()`.split(''), 'a', 'Z', '9', '%40', '%2F');
    const part = fc.array(odd, { maxLength: 8 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.constantFrom('nats', 'wss', 'https'), part, part, part, (scheme, user, before, after) => {
        const password = `${before}SEKRIT${after}`;
        const url = `${scheme}://${user}:${password}@10.0.0.5:4222/x`;
        let parsed: URL;
        try {
          parsed = new URL(url);
        } catch {
          return; // not a URL any client would connect to
        }
        fc.pre(parsed.hostname === '10.0.0.5'); // a special scheme reads a backslash as `/`: the password ended before it
        const r = new Redactor();
        r.addUrlCredentials(url);
        for (const line of [`connecting to ${url} now`, JSON.stringify({ msg: `connecting to ${url}`, n: 1 }), `'${url}'`]) {
          for (const out of [redactUrlCredentials(line), r.redact(line)]) {
            expect(out).not.toContain('SEKRIT');
            expect(out).toContain('[redacted]@10.0.0.5:4222/x');
          }
        }
      }),
    );
  });

  it('masks a URL password where it appears alone, raw and percent-decoded', () => {
    const r = new Redactor();
    r.addUrlCredentials('wss://bob:pa%24%24word@host');
    expect(r.redact('password pa%24%24word or pa$$word')).toBe('password [redacted] or [redacted]');
  });

  it('masks the JSON-escaped form (log lines) and shortened forms ("prefix...")', () => {
    const r = new Redactor();
    const v = 'a "quoted" secret value\\with a backslash';
    r.add(v, '${Q}');
    expect(r.redact(JSON.stringify({ msg: `got ${v}` }))).not.toContain('quoted');
    expect(r.redact(`got "${v.slice(0, 20)}..." and "${v.slice(0, 15)}\u2026"`)).toBe('got "${Q}" and "${Q}"');
  });

  it('never prints what it holds', () => {
    const r = new Redactor();
    r.add('top-secret-value');
    expect(inspect(r)).not.toContain('top-secret');
    expect(JSON.stringify({ r })).not.toContain('top-secret');
    expect(String(r)).not.toContain('top-secret');
  });

  it('masks values far too long for one alternation regex (a fuzzed 40 KB password)', () => {
    const r = new Redactor();
    const huge = `${'['.repeat(20_000)}SENTINEL${']'.repeat(20_000)}`;
    r.add(huge, '${HUGE}');
    r.add('other-secret');
    expect(r.redact(`a ${huge} b other-secret c ${huge}`)).toBe('a ${HUGE} b [redacted] c ${HUGE}');
  });

  it('merges another redactor', () => {
    const a = new Redactor();
    a.add('first-secret', '${A}');
    const b = new Redactor();
    b.merge(a);
    expect(b.redact('first-secret')).toBe('${A}');
  });

  it('property: a masked value never survives redaction, wherever it sits in the text', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 4, maxLength: 40 }), fc.string(), fc.string(), (secret, before, after) => {
        const r = new Redactor();
        r.add(secret, '[x]');
        expect(r.redact(before + secret + after)).not.toContain(secret);
      }),
    );
  });
});

describe('the config loader masks what it substituted', () => {
  it('an invalid substituted value is shown as written, never as its value', () => {
    const e = configError(`${BASE}[sim]\nmarket = "\${MARKET}"\n[monitoring]\nbind_address = "\${BIND}"\n`, { MARKET: 'market-SEKRIT', BIND: 'bind SEKRIT' });
    expect(e.message).toContain('sim.market: must be one of "spot", "usdm", got "${MARKET}"');
    expect(e.message).not.toContain('SEKRIT');
  });

  it('URL credentials, substituted or written in the file, never appear in an error', () => {
    const e = configError(`${BASE}[sim]\napi_url = "http://bob:\${PW}@h/x"\nrest_url = "ftp://carol:literal-pass@h/y"\n`, { PW: 'pw-SEKRIT' });
    expect(e.issues.map((i) => i.path)).toEqual(['sim.api_url', 'sim.rest_url']);
    expect(e.message).not.toContain('SEKRIT');
    expect(e.message).not.toContain('literal-pass');
  });

  it('the loaded config carries the redactor: substituted values, URL credentials and secrets', () => {
    const loaded = parseConfig(`${BASE}[sim]\napi_key = "\${K}"\napi_secret = "literal-api-secret"\napi_url = "wss://u:\${PW}@h/ws"\n[sim.options]\nseed = "\${SEED}"\n`, {
      K: 'key-SEKRIT',
      PW: 'pw-SEKRIT',
      SEED: 'seed-SEKRIT',
    });
    const text = 'key-SEKRIT literal-api-secret wss://u:pw-SEKRIT@h/ws seed-SEKRIT';
    expect(loaded.redactor.redact(text)).toBe('${K} [redacted] wss://[redacted]@h/ws ${SEED}');
  });
});
