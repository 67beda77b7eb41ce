import 'reflect-metadata';
import { describe, expect, it, vi } from 'vitest';
import { CwtsContainer } from './container.js';
import { DuplicateRegistrationError, ReservedTokenError, ScopeRegistrationError, UnregisteredTokenError } from './errors.js';
import { inject, injectable, injectAll } from './index.js';
import { TOKENS } from './tokens.js';
import { ManualClock, type Clock } from '../contracts/clock.js';
import type { Detector } from '../contracts/trading.js';
import type { ExecutionClient, MarketDataClient } from '../contracts/exchange.js';
import { defineExchangePlugin } from '../plugins/exchange-plugin.js';

@injectable()
class NeedsClock {
  constructor(@inject(TOKENS.Clock) readonly clock: Clock) {}
}

@injectable()
class NeedsDetectors {
  constructor(@injectAll(TOKENS.Detector) readonly detectors: Detector[]) {}
}

const det = (name: string): Detector => ({ name, onMarketEvent() {} });

/** A replacement clock a plugin registers as a class (a replay clock it advances). */
@injectable()
class AcmeClock extends ManualClock {
  constructor() {
    super(1_000);
  }
}

@injectable()
class ClockedCheck {
  readonly name = 'clocked';
  constructor(@inject(TOKENS.Clock) readonly clock: Clock) {}
  check() {
    return { ok: true as const };
  }
}

describe('CwtsContainer', () => {
  it('injects by token into constructor parameters', () => {
    const root = CwtsContainer.createRoot();
    const clock = new ManualClock(5);
    root.registerValue(TOKENS.Clock, clock, 'core');
    root.registerClass(TOKENS.Strategy, NeedsClock as any, 'test');
    const s = root.resolve(TOKENS.Strategy) as unknown as NeedsClock;
    expect(s.clock).toBe(clock);
  });

  it('names both plugins when a single-slot token is registered twice', () => {
    const root = CwtsContainer.createRoot();
    root.as('@acme/strategy-a').value(TOKENS.Clock, new ManualClock());
    expect(() => root.as('@acme/strategy-b').value(TOKENS.Clock, new ManualClock())).toThrowError(DuplicateRegistrationError);
    expect(() => root.as('@acme/strategy-b').value(TOKENS.Clock, new ManualClock())).toThrowError(/@acme\/strategy-a.*@acme\/strategy-b/);
  });

  it('collects every registration of a multi-slot token', () => {
    const root = CwtsContainer.createRoot();
    root.as('p1').value(TOKENS.Detector, det('a'));
    root.as('p2').value(TOKENS.Detector, det('b'));
    root.registerClass(TOKENS.Strategy, NeedsDetectors as any, 'test');
    const s = root.resolve(TOKENS.Strategy) as unknown as NeedsDetectors;
    expect(s.detectors.map((d) => d.name)).toEqual(['a', 'b']);
    expect(root.ownersOf(TOKENS.Detector)).toEqual(['p1', 'p2']);
  });

  it('child scopes see parent registrations and keep their own apart', () => {
    const root = CwtsContainer.createRoot();
    const clock = new ManualClock();
    root.registerValue(TOKENS.Clock, clock, 'core');
    const a = root.createChild('binance');
    const b = root.createChild('kraken');
    a.registerValue(TOKENS.VenueName, 'binance', '@cwts/exchange-binance');
    b.registerValue(TOKENS.VenueName, 'kraken', '@cwts/exchange-kraken');
    expect(a.resolve(TOKENS.Clock)).toBe(clock);
    expect(a.resolve(TOKENS.VenueName)).toBe('binance');
    expect(b.resolve(TOKENS.VenueName)).toBe('kraken');
    expect(root.isRegistered(TOKENS.VenueName)).toBe(false);
    expect(a.scope).toBe('root/binance');
  });

  it('fails clearly when nothing provides a token', () => {
    const root = CwtsContainer.createRoot();
    expect(() => root.resolve(TOKENS.Strategy)).toThrowError(UnregisteredTokenError);
    expect(() => root.resolve(TOKENS.Strategy)).toThrowError(/nothing provides Strategy/);
  });

  it("a class's constructor parameter nothing provides is an UnregisteredTokenError naming the class, the parameter and the scope it is built in", () => {
    const root = CwtsContainer.createRoot();
    const venue = root.createChild('binance');
    root.registerClass(TOKENS.Strategy, NeedsClock as any, '@acme/strategy');
    // a deployment-wide service is built in the scope that registered it, wherever it is resolved
    expect(() => venue.resolve(TOKENS.Strategy)).toThrowError(UnregisteredTokenError);
    expect(() => venue.resolve(TOKENS.Strategy)).toThrowError("nothing provides Clock in scope root (needed by NeedsClock's constructor parameter 0, registered by @acme/strategy); is the plugin that provides it enabled?");
    // a venue's client in its venue scope
    venue.registerClass(TOKENS.MarketDataClient, NeedsClock as any, '@acme/exchange');
    expect(() => venue.resolve(TOKENS.MarketDataClient)).toThrowError("nothing provides Clock in scope root/binance (needed by NeedsClock's constructor parameter 0, registered by @acme/exchange); is the plugin that provides it enabled?");
  });

  it('a deployment-wide service a plugin replaces with a class is one instance in the root and in every venue scope', () => {
    const root = CwtsContainer.createRoot();
    root.registerDefault(TOKENS.Clock, () => new ManualClock(0));
    // a root plugin replaces core's clock, declaring the override, with a class
    root.as('acme-clock', [TOKENS.Clock]).class(TOKENS.Clock, AcmeClock);
    root.as('acme-risk').class(TOKENS.RiskCheck, ClockedCheck as never);
    // two venue scopes, as preparePlugins builds them, each with an exchange plugin taking deps.clock
    const venueClocks = new Map<string, Clock>();
    const scopes = ['tinyex', 'otherex'].map((name) => {
      const venue = root.createChild(name);
      venue.registerValue(TOKENS.VenueName, name, '@cwts/core');
      const plugin = defineExchangePlugin({
        name: `acme-exchange-${name}`,
        coreApi: '1.0',
        createVenue: (_cfg, deps) => {
          venueClocks.set(name, deps.clock);
          return { marketData: {} as MarketDataClient, execution: {} as ExecutionClient };
        },
      });
      plugin.register({ registrar: venue.as(plugin.name), instanceName: name, config: {} });
      return venue;
    });
    const engineClock = root.resolve(TOKENS.Clock) as AcmeClock; // what composition hands the engine
    for (const venue of scopes) venue.resolve(TOKENS.MarketDataClient); // builds each venue
    engineClock.advance(5_000); // the plugin drives its clock
    for (const name of ['tinyex', 'otherex']) {
      expect(venueClocks.get(name)).toBe(engineClock);
      expect(venueClocks.get(name)!.now()).toBe(6_000);
    }
    // multi-slot registrations too: one check, whichever scope resolves it
    const [check] = root.resolveAll(TOKENS.RiskCheck) as unknown as ClockedCheck[];
    expect(scopes[0]!.resolveAll(TOKENS.RiskCheck)[0]).toBe(check);
    expect(check!.clock).toBe(engineClock);
  });

  it("a venue token's class registered above the venues is built once per venue scope, with that venue's tokens", () => {
    @injectable()
    class NamedFeed {
      constructor(@inject(TOKENS.VenueName) readonly venue: string) {}
    }
    const root = CwtsContainer.createRoot();
    root.registerClass(TOKENS.MarketDataClient, NamedFeed as never, '@acme/feeds');
    const a = root.createChild('binance');
    const b = root.createChild('kraken');
    a.registerValue(TOKENS.VenueName, 'binance', '@cwts/core');
    b.registerValue(TOKENS.VenueName, 'kraken', '@cwts/core');
    const fa = a.resolve(TOKENS.MarketDataClient) as unknown as NamedFeed;
    expect(fa.venue).toBe('binance');
    expect((b.resolve(TOKENS.MarketDataClient) as unknown as NamedFeed).venue).toBe('kraken');
    expect(a.resolve(TOKENS.MarketDataClient)).toBe(fa);
  });

  it("TOKENS.PluginConfig: a class a plugin registers gets that plugin's table; nothing else provides it", () => {
    @injectable()
    class NeedsSettings {
      constructor(@inject(TOKENS.PluginConfig) readonly settings: Readonly<Record<string, unknown>>) {}
    }
    const root = CwtsContainer.createRoot();
    root.as('@acme/strategy', [], { threshold: 3 }).class(TOKENS.Strategy, NeedsSettings as any);
    expect((root.resolve(TOKENS.Strategy) as unknown as NeedsSettings).settings).toEqual({ threshold: 3 });
    // registered without a plugin's table (core's registerClass): unprovided, with what to do
    const bare = CwtsContainer.createRoot();
    bare.registerClass(TOKENS.Strategy, NeedsSettings as any, 'test');
    expect(() => bare.resolve(TOKENS.Strategy)).toThrowError(UnregisteredTokenError);
    expect(() => bare.resolve(TOKENS.Strategy)).toThrowError(/PluginConfig in scope root \(needed by NeedsSettings's constructor parameter 0, registered by test\); TOKENS\.PluginConfig is given only to/);
    expect(() => root.resolve(TOKENS.PluginConfig)).toThrowError(UnregisteredTokenError);
  });

  it('runs a factory once per scope', () => {
    const root = CwtsContainer.createRoot();
    let n = 0;
    root.registerFactory(TOKENS.Clock, () => { n++; return new ManualClock(); }, 'core');
    expect(root.resolve(TOKENS.Clock)).toBe(root.resolve(TOKENS.Clock));
    expect(n).toBe(1);
  });

  it('a plugin replaces a core default only when it declares the override, and only once', () => {
    const root = CwtsContainer.createRoot();
    const core = new ManualClock(1);
    root.registerDefault(TOKENS.Clock, () => core);
    expect(root.isDefault(TOKENS.Clock)).toBe(true);
    // Undeclared: refused, naming both and saying how to declare it.
    expect(() => root.as('@acme/clock').value(TOKENS.Clock, new ManualClock(2))).toThrowError(/already provided by @cwts\/core; @acme\/clock tried.*overrides: \[TOKENS\.Clock\]/);
    const mine = new ManualClock(3);
    root.as('@acme/clock', [TOKENS.Clock]).value(TOKENS.Clock, mine);
    expect(root.resolve(TOKENS.Clock)).toBe(mine);
    expect(root.ownersOf(TOKENS.Clock)).toEqual(['@acme/clock']);
    expect(root.isDefault(TOKENS.Clock)).toBe(false);
    // A second plugin replacing the same service: refused even though it declares the override.
    expect(() => root.as('@other/clock', [TOKENS.Clock]).value(TOKENS.Clock, new ManualClock(4))).toThrowError(/already provided by @acme\/clock; @other\/clock tried/);
  });

  it('a default factory that was replaced never runs', () => {
    const root = CwtsContainer.createRoot();
    let built = 0;
    root.registerDefault(TOKENS.Clock, () => { built++; return new ManualClock(); });
    root.as('p', [TOKENS.Clock]).factory(TOKENS.Clock, () => new ManualClock(7));
    expect(root.resolve(TOKENS.Clock).now()).toBe(7);
    expect(built).toBe(0);
  });

  it('builds a class from its @inject parameters and names a parameter without one', () => {
    class NoInject {
      constructor(readonly x: unknown) {}
    }
    injectable()(NoInject);
    const root = CwtsContainer.createRoot();
    expect(() => root.registerClass(TOKENS.Strategy, NoInject as any, 'test')).toThrowError(/NoInject: constructor parameter 0 has no @inject/);
    class NotInjectable {}
    expect(() => root.registerClass(TOKENS.Strategy, NotInjectable as any, 'test')).toThrowError(/NotInjectable is not @injectable/);
  });
  it('builds a class decorated with another copy of core (a plugin with its own @cwts/core)', async () => {
    // A fresh instance of the decorators module stands for the plugin's copy of core: tokens
    // agree through Symbol.for, and so must the @injectable/@inject tables.
    vi.resetModules();
    const other = (await import('./decorators.js')) as typeof import('./decorators.js');
    expect(other.injectable).not.toBe(injectable);
    class PluginStrategy {
      constructor(readonly clock: unknown) {}
    }
    other.injectable()(PluginStrategy);
    (other.inject(TOKENS.Clock) as (t: object, k: undefined, i: number) => void)(PluginStrategy, undefined, 0);
    const root = CwtsContainer.createRoot();
    const clock = new ManualClock(5);
    root.registerValue(TOKENS.Clock, clock, '@cwts/core');
    root.registerClass(TOKENS.Strategy, PluginStrategy as never, 'acme-strategy');
    expect((root.resolve(TOKENS.Strategy) as unknown as PluginStrategy).clock).toBe(clock);
  });
  it('a child scope cannot shadow a single slot its parent provides, even declaring the override', () => {
    const root = CwtsContainer.createRoot();
    root.registerDefault(TOKENS.Clock, () => new ManualClock(1));
    const venue = root.createChild('sim');
    expect(() => venue.as('acme-sim').value(TOKENS.Clock, new ManualClock(2))).toThrowError(DuplicateRegistrationError);
    expect(() => venue.as('acme-sim', [TOKENS.Clock]).value(TOKENS.Clock, new ManualClock(2))).toThrowError(
      /Clock .* already provided by @cwts\/core in scope root; acme-sim tried to provide it again in scope root\/sim/,
    );
    expect(venue.resolve(TOKENS.Clock).now()).toBe(1);
    expect(root.isDefault(TOKENS.Clock)).toBe(true);
  });

  it('a child scope refuses its root-only tokens at register time, naming the plugin and what to do', () => {
    const root = CwtsContainer.createRoot();
    const venue = root.createChild('sim', { tokens: [TOKENS.RiskCheck, TOKENS.OrderRouter], hint: 'register it from a risk plugin' });
    const check = { name: 'cap', check: () => ({ ok: true as const }) };
    expect(() => venue.as('acme-sim').value(TOKENS.RiskCheck, check as never)).toThrowError(ScopeRegistrationError);
    expect(() => venue.as('acme-sim', [TOKENS.OrderRouter]).factory(TOKENS.OrderRouter, () => ({}) as never)).toThrowError(
      /acme-sim tried to provide OrderRouter in scope root\/sim, .*: register it from a risk plugin/,
    );
    venue.as('acme-sim').value(TOKENS.VenueName, 'sim');
    expect(venue.resolve(TOKENS.VenueName)).toBe('sim');
  });

  it('a reserved token is refused at register time to anyone but its owner, overrides or not, in child scopes too', () => {
    const root = CwtsContainer.createRoot();
    root.reserve(TOKENS.Clock, '@cwts/core', 'core provides it at startup');
    // unprovided until the owner registers it
    expect(root.isRegistered(TOKENS.Clock)).toBe(false);
    expect(() => root.as('@acme/clock').value(TOKENS.Clock, new ManualClock(2))).toThrowError(ReservedTokenError);
    expect(() => root.as('@acme/clock', [TOKENS.Clock]).factory(TOKENS.Clock, () => new ManualClock(2))).toThrowError(
      /@acme\/clock tried to provide Clock \(scope root\), but only @cwts\/core provides it, and no plugin can replace it \(not with overrides either\): core provides it at startup/,
    );
    expect(() => root.createChild('sim').as('acme-sim').value(TOKENS.Clock, new ManualClock(3))).toThrowError(/acme-sim tried to provide Clock \(scope root\/sim\)/);
    const core = new ManualClock(1);
    root.registerValue(TOKENS.Clock, core, '@cwts/core');
    expect(root.resolve(TOKENS.Clock)).toBe(core);
    expect(root.ownersOf(TOKENS.Clock)).toEqual(['@cwts/core']);
    expect(() => root.reserve(TOKENS.Detector, '@cwts/core', '')).toThrowError(/only single-slot tokens/);
  });
});

