import { describe, expect, it } from 'vitest';
import { RiskControlServer } from '../risk/control.js';
import { ConfigError, isLoopback, parseConfig } from './index.js';

const TOML = `[system]\nname = "t"\n[exchanges]\nenabled = ["sim"]\n[risk]\nmax_position = 1000\nmax_drawdown = 0.1\nvar_confidence = 0.95\n`;

describe('isLoopback: an address that only accepts connections from this host', () => {
  it('is true for IPv4 addresses in 127.0.0.0/8, ::1 and localhost', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '127.255.255.254', '::1', 'localhost']) expect(isLoopback(a), a).toBe(true);
  });

  it('is false for host names that merely start with "127." and for other addresses', () => {
    for (const a of ['127.0.0.1.example.com', '127.attacker.net', '127.', '127.0.0.256', '127.0.0', '0.0.0.0', '10.0.0.1', '::', '::ffff:127.0.0.1', 'example.com', 'localhost.example.com', ''])
      expect(isLoopback(a), a).toBe(false);
  });

  it('a bind_address host name starting with "127." is not loopback: /status needs the token there', () => {
    const loaded = parseConfig(TOML, { CWTS_BIND_ADDRESS: '127.0.0.1.example.com' });
    expect(loaded.config.monitoring.bind_address).toBe('127.0.0.1.example.com');
    expect(isLoopback(loaded.config.monitoring.bind_address)).toBe(false);
  });

  it('a control_bind_address off loopback is a config error (run could never listen there), a host name starting with "127." included', async () => {
    // What `run` does with such an address: the control endpoint refuses it at listen(), after
    // composing everything (validate-config and doctor used to call the file valid).
    const server = new RiskControlServer({ status: () => ({}), halt: () => ({}), reduce: () => ({}), resume: () => ({}) } as never, { token: 't'.repeat(32) });
    await expect(server.listen(0, '0.0.0.0')).rejects.toThrow(/only listens on loopback/);
    for (const address of ['0.0.0.0', '10.0.0.1', '127.0.0.1.example.com']) {
      const err = refusal(`${TOML}[monitoring]\ncontrol_bind_address = "${address}"\ncontrol_port = 0\n`, {});
      expect(err.issues, address).toEqual([
        { path: 'monitoring.control_bind_address', message: `"${address}" is not a loopback address (127.0.0.0/8, ::1, localhost); the manual kill switch only listens on loopback: reach it from another host through an SSH tunnel` },
      ]);
    }
    for (const address of ['127.0.0.2', '::1', 'localhost']) {
      const ok = parseConfig(`${TOML}[monitoring]\ncontrol_bind_address = "${address}"\n`, {});
      expect(ok.config.monitoring.control_bind_address).toBe(address);
      expect(ok.warnings.filter((w) => w.includes('control_bind_address'))).toEqual([]);
    }
  });

  it('a control_bind_address from ${VAR} is shown as written, never as substituted', () => {
    const err = refusal(`${TOML}[monitoring]\ncontrol_bind_address = "\${CONTROL_HOST}"\n`, { CONTROL_HOST: 'sekrit-host-name' });
    expect(err.message).toContain('monitoring.control_bind_address: "${CONTROL_HOST}" is not a loopback address');
    expect(err.message).not.toContain('sekrit-host-name');
  });
});

function refusal(text: string, env: Record<string, string>): ConfigError {
  try {
    parseConfig(text, env, 'test.toml');
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('the config was accepted');
}
