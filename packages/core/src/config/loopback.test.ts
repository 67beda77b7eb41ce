import { describe, expect, it } from 'vitest';
import { isLoopback, parseConfig } from './index.js';

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

  it('a control_bind_address host name starting with "127." gets the "not a loopback address" warning', () => {
    const named = parseConfig(`${TOML}[monitoring]\ncontrol_bind_address = "127.0.0.1.example.com"\n`, {});
    expect(named.warnings.filter((w) => w.startsWith('monitoring.control_bind_address'))).toEqual([
      'monitoring.control_bind_address: 127.0.0.1.example.com is not a loopback address; the manual kill switch can be reached from other hosts',
    ]);
    const loopback = parseConfig(`${TOML}[monitoring]\ncontrol_bind_address = "127.0.0.2"\n`, {});
    expect(loopback.warnings.filter((w) => w.startsWith('monitoring.control_bind_address'))).toEqual([]);
  });
});
