import { CwtsContainer } from '@cwts/core/di';
import { describe, expect, it } from 'vitest';
import { plugin } from './plugin.js';

const register = (config: Record<string, unknown>) =>
  plugin.register({ registrar: CwtsContainer.createRoot().createChild('sim').as(plugin.name), instanceName: 'sim', config: { name: 'sim', plugin: plugin.name, ...config } });

describe('@cwts/exchange-sim checkConfig (at registration: validate-config and run alike)', () => {
  it('refuses a synthetic market without symbols, naming the key (start() would fail with "no symbols to simulate")', () => {
    expect(() => register({ symbols: [] })).toThrow('sim.symbols: no symbols to simulate; set symbols = ["BTCUSDT", ...] in [sim] (or options.replay_file to replay a recording)');
    expect(() => register({})).toThrow(/sim\.symbols: no symbols to simulate/);
  });

  it('takes symbols, or a replay without them (the recording has its own)', () => {
    expect(() => register({ symbols: ['BTCUSDT'] })).not.toThrow();
    expect(() => register({ options: { replay_file: '/nonexistent/rec.jsonl' } })).not.toThrow();
  });
});
