import { describe, expect, it } from 'vitest';
import type { Clock } from '../contracts/clock.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import { CwtsContainer, ScopedRegistrar } from '../di/container.js';
import { TOKENS } from '../di/tokens.js';
import { defineExchangePlugin, type ExchangeVenueDeps } from './exchange-plugin.js';
import { CORE_API_VERSION } from './manifest.js';

const clock = { now: () => 0 } as unknown as Clock;

describe('defineExchangePlugin', () => {
  const built: { cfg: Readonly<Record<string, unknown>>; deps: ExchangeVenueDeps }[] = [];
  const plugin = defineExchangePlugin({
    name: '@acme/exchange-x',
    checkConfig: (cfg, name) => {
      if (cfg.options !== undefined) throw new Error(`${name}.options: takes none`);
    },
    createVenue: (cfg, deps) => {
      built.push({ cfg, deps });
      return { marketData: { tag: 'md' } as unknown as MarketDataClient, execution: { tag: 'ex' } as unknown as ExecutionClient };
    },
    validateOptions: () => [],
  });

  it('is an exchange manifest for this core', () => {
    expect(plugin).toMatchObject({ name: '@acme/exchange-x', kind: 'exchange', coreApi: CORE_API_VERSION });
    expect(typeof plugin.validateOptions).toBe('function');
    expect(plugin.initialize).toBeUndefined();
  });

  it('builds one venue per instance, lazily, shared by both halves, with the venue name, clock and a tagged logger', () => {
    built.length = 0;
    const root = CwtsContainer.createRoot();
    const children: Record<string, unknown>[] = [];
    root.registerValue(TOKENS.Clock, clock, 'test');
    root.registerValue(TOKENS.Logger, { child: (b: Record<string, unknown>) => (children.push(b), { bindings: b }) } as never, 'test');
    const venues = ['x1', 'x2'].map((name) => {
      const c = root.createChild(name);
      c.registerValue(TOKENS.VenueName, name, 'core');
      plugin.register({ registrar: new ScopedRegistrar(c, plugin.name), instanceName: name, config: { symbols: ['A'] } });
      return c;
    });
    expect(built).toHaveLength(0); // nothing is built at registration
    const md = venues[0]!.resolve(TOKENS.MarketDataClient);
    const ex = venues[0]!.resolve(TOKENS.ExecutionClient);
    expect([md, ex]).toEqual([{ tag: 'md' }, { tag: 'ex' }]);
    expect(built).toHaveLength(1);
    expect(built[0]!.deps).toMatchObject({ exchange: 'x1', clock, logger: { bindings: { exchange: 'x1', component: 'exchange-x' } } });
    expect(built[0]!.cfg).toEqual({ symbols: ['A'] });
    venues[1]!.resolve(TOKENS.ExecutionClient);
    expect(built.map((b) => b.deps.exchange)).toEqual(['x1', 'x2']);
  });

  it('runs checkConfig at registration, so a bad table fails before anything connects', () => {
    const c = CwtsContainer.createRoot();
    expect(() => plugin.register({ registrar: new ScopedRegistrar(c, plugin.name), instanceName: 'x', config: { options: { a: 1 } } })).toThrow('x.options: takes none');
  });
});
