/**
 * What the CLI prints goes through `outputRedactor` (main's stdout and stderr writers), and every
 * command that loads a config merges that config's redactor first (loadConfigForCli). Masking a
 * `--json` command's output must leave it valid JSON: the URL-credential mask runs to the last
 * `@`, so on the raw text it can swallow a `","` between two strings.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputRedactor } from '../config/index.js';
import { simConfig } from '../../test/fixtures/sim-config.js';
import { loadConfigForCli, redactOutput } from './output.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-cli-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'hunter2-output-test-value';

describe('loadConfigForCli', () => {
  it("merges the config's redactor into outputRedactor: its ${VAR} values are masked from then on", () => {
    const p = join(dir, 'c.toml');
    writeFileSync(p, simConfig('outputtest', '[compute.js]\nnote = "${CWTS_OUTPUT_TEST_VALUE}"\n'));
    expect(outputRedactor.redact(`got ${SECRET}`)).toBe(`got ${SECRET}`);
    loadConfigForCli(p, { ...process.env, CWTS_OUTPUT_TEST_VALUE: SECRET }, { credentials: 'not-needed' });
    expect(outputRedactor.redact(`got ${SECRET}`)).toBe('got ${CWTS_OUTPUT_TEST_VALUE}');
    expect(redactOutput(`got ${SECRET}`)).toBe('got ${CWTS_OUTPUT_TEST_VALUE}');
  });
});

describe('redactOutput', () => {
  it('masks URL credentials in plain text', () => {
    expect(redactOutput('endpoint "https://trader:pw-123456@gpu.example" refused')).toBe('endpoint "https://[redacted]@gpu.example" refused');
  });

  it('keeps JSON valid where masking the text as a whole would not', () => {
    const doc = JSON.stringify({ url: 'nats://h:4222', contact: { owner: 'ops@example.com' }, detail: 'got "https://trader:pw-123456@gpu.example"' });
    expect(() => JSON.parse(outputRedactor.redact(doc))).toThrow(); // what the plain text mask does
    const masked = redactOutput(doc);
    expect(JSON.parse(masked)).toEqual({ url: 'nats://h:4222', contact: { owner: 'ops@example.com' }, detail: 'got "https://[redacted]@gpu.example"' });
    expect(masked).not.toContain('pw-123456');
  });

  it("keeps a pretty-printed document's layout and numbers byte for byte", () => {
    const doc = JSON.stringify({ exitCode: 2, checks: [{ id: 'x', detail: 'https://u:pw-123456@h', n: 1.5e-7 }] }, null, 2);
    expect(redactOutput(doc)).toBe(doc.replace('u:pw-123456@', '[redacted]@'));
  });

  it('masks a value the JSON encoding escaped (a ${VAR} value with a quote)', () => {
    const p = join(dir, 'q.toml');
    writeFileSync(p, simConfig('outputquote', '[compute.js]\nnote = "${CWTS_OUTPUT_TEST_QUOTED}"\n'));
    const quoted = 'pa"ss\\word-77';
    loadConfigForCli(p, { ...process.env, CWTS_OUTPUT_TEST_QUOTED: quoted }, { credentials: 'not-needed' });
    const masked = redactOutput(JSON.stringify({ detail: `got ${quoted}` }));
    expect(JSON.parse(masked)).toEqual({ detail: 'got ${CWTS_OUTPUT_TEST_QUOTED}' });
  });

  it('is idempotent: a line masked by its command is not masked again (validate-config, doctor)', () => {
    const once = redactOutput(`x https://trader:pw-123456@gpu.example ${SECRET}`);
    expect(redactOutput(once)).toBe(once);
  });

  it('leaves text with nothing to mask as it is, JSON or not', () => {
    for (const t of ['plain line', '{"a":1}', '[1, 2', '{"url":"nats://h:1"}']) expect(redactOutput(t)).toBe(t);
  });
});
