/**
 * The scripted ccxt stand-in: scripted endpoints answer and are recorded, unscripted ones reject
 * by name, each instance gets its own urls, an instance is never a thenable, reset forgets all.
 */
import { describe, expect, it } from 'vitest';
import { scriptedCcxt } from './scripted-ccxt.js';

type Instance = { urls: { api: Record<string, unknown> }; nonce: () => number; [endpoint: string]: unknown };
type Ctor = new (c?: Record<string, unknown>) => Instance;

describe('scriptedCcxt', () => {
  it('exports the class by id and under default; records the constructor config', () => {
    const venue = scriptedCcxt();
    const mod = venue.module('okx', { urls: { api: { rest: 'https://x' } } });
    expect(mod.okx).toBe(mod.default.okx);
    expect((mod.okx as Ctor).name).toBe('okx');
    new (mod.okx as Ctor)({ apiKey: 'k', enableRateLimit: false });
    expect(venue.ctorConfig).toEqual({ apiKey: 'k', enableRateLimit: false });
  });

  it('a scripted endpoint answers with its handler and every call is recorded in order; an unscripted one rejects by name', async () => {
    const venue = scriptedCcxt();
    const ex = new (venue.module('okx', { urls: {} }).okx as Ctor)() as Record<string, (p?: Record<string, unknown>) => Promise<unknown>>;
    venue.handlers.privatePostOrder = (p) => ({ id: `O-${String(p.clOrdId)}` });
    venue.handlers.privateGetFail = () => {
      throw new Error('venue says no');
    };
    expect(await ex.privatePostOrder!({ clOrdId: 'c1' })).toEqual({ id: 'O-c1' });
    await expect(ex.privateGetFail!({ a: 1 })).rejects.toThrow('venue says no');
    await expect(ex.privateGetOther!()).rejects.toThrow('unscripted privateGetOther');
    expect(venue.calls).toEqual([
      { fn: 'privatePostOrder', params: { clOrdId: 'c1' } },
      { fn: 'privateGetFail', params: { a: 1 } },
      { fn: 'privateGetOther', params: undefined },
    ]);
  });

  it('urls are copied per instance (re-rooting one never leaks); fields are members the driver may replace', () => {
    const venue = scriptedCcxt();
    const mod = venue.module('kraken', { urls: { api: { public: 'https://api', nested: { a: 'b' } } }, fields: { nonce: () => 0 } });
    const a = new (mod.kraken as Ctor)();
    a.urls.api.public = 'http://127.0.0.1:1';
    (a.urls.api.nested as Record<string, string>).a = 'changed';
    a.nonce = () => 7;
    const b = new (mod.kraken as Ctor)();
    expect(a.urls.api).toEqual({ public: 'http://127.0.0.1:1', nested: { a: 'changed' } });
    expect(b.urls.api).toEqual({ public: 'https://api', nested: { a: 'b' } });
    expect(a.nonce()).toBe(7);
    expect(b.nonce()).toBe(0);
    expect(venue.calls).toEqual([]);
  });

  it('an instance is not a thenable: awaiting it gives the instance and calls nothing', async () => {
    const venue = scriptedCcxt();
    const ex = new (venue.module('okx', { urls: {} }).okx as Ctor)();
    expect(await Promise.resolve(ex)).toBe(ex);
    expect(String(ex)).toBe('[object Object]');
    expect(venue.calls).toEqual([]);
  });

  it('reset forgets calls, handlers and the constructor config', async () => {
    const venue = scriptedCcxt();
    const ex = new (venue.module('okx', { urls: {} }).okx as Ctor)({ apiKey: 'k' }) as Record<string, (p: unknown) => Promise<unknown>>;
    venue.handlers.x = () => 1;
    await ex.x!({});
    venue.reset();
    expect(venue.calls).toEqual([]);
    expect(venue.handlers).toEqual({});
    expect(venue.ctorConfig).toBeUndefined();
    await expect(ex.x!({})).rejects.toThrow('unscripted x');
  });
});
