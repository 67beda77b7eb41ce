import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { CwtsContainer } from './container.js';
import { DuplicateRegistrationError, UnregisteredTokenError } from './errors.js';
import { inject, injectable, injectAll } from './index.js';
import { TOKENS } from './tokens.js';
import { ManualClock, type Clock } from '../contracts/clock.js';
import type { Detector } from '../contracts/trading.js';

@injectable()
class NeedsClock {
  constructor(@inject(TOKENS.Clock) readonly clock: Clock) {}
}

@injectable()
class NeedsDetectors {
  constructor(@injectAll(TOKENS.Detector) readonly detectors: Detector[]) {}
}

const det = (name: string): Detector => ({ name, onMarketEvent() {} });

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

  it('runs a factory once per scope', () => {
    const root = CwtsContainer.createRoot();
    let n = 0;
    root.registerFactory(TOKENS.Clock, () => { n++; return new ManualClock(); }, 'core');
    expect(root.resolve(TOKENS.Clock)).toBe(root.resolve(TOKENS.Clock));
    expect(n).toBe(1);
  });
});
