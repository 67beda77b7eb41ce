/**
 * A URL password written in the config must never be printed (config/redact.ts: URL credentials
 * are masked "whatever their length"; test/secrets.integration.test.ts checks a literal URL password
 * through validate-config). `validate-config` prints `[cluster] servers`. A password with a
 * character that is legal in URL userinfo but was outside URL_USERINFO's class (`'`), or with a
 * raw `@` (WHATWG URL takes userinfo up to the LAST `@`), was printed in whole or in part.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { outputRedactor, parseConfig } from '../config/index.js';
import { validateConfigCommand } from './validate.js';

const dir = mkdtempSync(join(tmpdir(), 'cwts-validate-urlcred-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const toml = (server: string) => `
[system]
name = "urlcred"
[exchanges]
enabled = ["sim"]
[sim]
symbols = ["BTCUSDT"]
[risk]
max_position = 100000
max_drawdown = 0.15
var_confidence = 0.99
[cluster]
servers = ["${server}"]
`;

async function validateOutput(server: string): Promise<string> {
  const p = join(dir, `c${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(p, toml(server));
  const lines: string[] = [];
  await validateConfigCommand({ config: p, fileOnly: true }, (l) => lines.push(l));
  return lines.join('\n');
}

describe('URL credentials in validate-config output', () => {
  it("masks a literal password containing ' (legal, unescaped, in URL userinfo)", async () => {
    const server = "nats://alice:Tr0ub4dor'xkcd936@10.0.0.5:4222";
    expect(new URL(server).password).toBe("Tr0ub4dor'xkcd936"); // a URL the NATS client accepts as written
    const out = await validateOutput(server);
    expect(out).toContain('10.0.0.5:4222'); // the line is printed
    expect(out).not.toContain('Tr0ub4dor');
    expect(out).not.toContain('xkcd936');
  });

  it('masks a literal password containing a raw @ (userinfo runs to the last @)', async () => {
    const server = 'nats://alice:Tr0ub4dor@xkcd936@10.0.0.5:4222';
    expect(new URL(server).hostname).toBe('10.0.0.5');
    expect(decodeURIComponent(new URL(server).password)).toBe('Tr0ub4dor@xkcd936');
    const out = await validateOutput(server);
    expect(out).toContain('10.0.0.5:4222');
    expect(out).not.toContain('xkcd936');
  });

  it('the config redactor masks the same in any message (a log line naming the server)', () => {
    const loaded = parseConfig(toml("nats://alice:Tr0ub4dor'xkcd936@10.0.0.5:4222"), {});
    const line = `cluster: connecting to ${loaded.config.cluster!.servers[0]}`;
    expect(loaded.redactor.redact(line)).not.toContain('xkcd936');
    expect(outputRedactor.redact(line)).not.toContain('xkcd936');
  });
});
