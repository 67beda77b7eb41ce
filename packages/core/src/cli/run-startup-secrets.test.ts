/**
 * A startup that fails in composition is told three ways: a log line, stderr, and (with
 * enable_tracing) the OpenTelemetry startup and compose spans, which leave the process for the
 * collector. The first two are masked by the config's redactor (no ${VAR} value, no URL
 * password); the spans must be too: a plugin's error may quote the API key or the proxy URL it
 * was given.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ANY_PORTS, simConfig } from '../../test/fixtures/sim-config.js';

const BIN = fileURLToPath(new URL('../../bin/cwts-ultra.js', import.meta.url));
const CORE = new URL('../../dist/index.js', import.meta.url).href;
const KEY = 'SEKRET-apikey-startup-123';
const PASS = 'SEKRET-proxypass-startup-123';

describe('cwts-ultra run (a process) with enable_tracing: secrets in a startup failure', () => {
  it('the startup and compose spans carry the error masked, as the log does', async () => {
    const spans: { name: string; message?: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          const doc = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { name: string; status?: { message?: string } }[] }[] }[] };
          for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) spans.push({ name: sp.name, message: sp.status?.message });
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const dir = mkdtempSync(join(tmpdir(), 'cwts-run-trace-secret-'));
      // a plugin whose initialize() fails quoting what it was given: the key and a proxy URL
      writeFileSync(
        join(dir, 'leaky.mjs'),
        `import { TOKENS } from ${JSON.stringify(CORE)};
export const plugin = {
  name: 'leaky', kind: 'risk', coreApi: '1.0',
  register({ registrar, instanceName }) { registrar.value(TOKENS.RiskCheck, { name: instanceName, check: () => ({ ok: true }) }); },
  async initialize() { throw new Error('session refused for key ' + process.env.CWTS_TEST_KEY + ' via http://trader:' + process.env.CWTS_TEST_PASS + '@127.0.0.1:9/'); },
};
`,
      );
      const cfg = join(dir, 'c.toml');
      writeFileSync(
        cfg,
        simConfig('tracesecret', ANY_PORTS.replace('control_port = 0', `control_port = 0\nenable_tracing = true\ntracing_endpoint = "http://127.0.0.1:${port}"`)).replace(
          'plugin = "@cwts/exchange-sim"',
          'plugin = "@cwts/exchange-sim"\napi_key = "${CWTS_TEST_KEY}"\napi_secret = "${CWTS_TEST_KEY}"\nrest_url = "http://trader:${CWTS_TEST_PASS}@127.0.0.1:9"',
        ) + `[risk_checks.leaky]\nplugin = "./leaky.mjs"\n`,
      );
      const child = spawn(process.execPath, [BIN, 'run', '--config', cfg], { env: { ...process.env, CWTS_DATA_DIR: join(dir, 'data'), CWTS_TEST_KEY: KEY, CWTS_TEST_PASS: PASS }, stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      child.stdout.on('data', (b) => (log += String(b)));
      child.stderr.on('data', (b) => (log += String(b)));
      const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
      // tracing's shutdown flushes the spans before run returns, so they have arrived by the exit
      expect(code, log).toBe(2);
      expect(log).toMatch(/session refused for key/);
      expect(log).not.toContain(KEY);
      const failed = spans.filter((x) => x.name === 'startup' || x.name === 'compose');
      expect(failed.length, `spans received: ${JSON.stringify(spans)}; log:\n${log}`).toBe(2);
      for (const s of failed) {
        expect(s.message, s.name).toMatch(/session refused for key/);
        expect(s.message, s.name).not.toContain(KEY);
        expect(s.message, s.name).not.toContain(PASS);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  }, 90_000);
});
