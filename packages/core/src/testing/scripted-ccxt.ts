/**
 * A scripted stand-in for a ccxt exchange class, for unit tests of an order driver that reaches
 * its venue through ccxt's implicit endpoints (`privatePostV5OrderCreate`, `v3PrivateGetBrokerage
 * Orders`...): no network, no signing. Each test scripts the endpoints it needs as functions of the
 * request's params; every call is recorded in order; a call nobody scripted rejects with
 * `unscripted <name>`, so a driver calling something unexpected fails the test loudly.
 *
 * It is handed to `vi.mock('ccxt', ...)`, whose factory is hoisted above the test file's imports,
 * so the venue is created in `vi.hoisted` and the factory closes over it:
 *
 * ```ts
 * const venue = await vi.hoisted(async () => (await import('@cwts/core/testing')).scriptedCcxt());
 * vi.mock('ccxt', () => venue.module('bybit', { urls: { api: { spot: 'https://api.bybit.com' } } }));
 * beforeEach(() => venue.reset());
 * it('places', async () => {
 *   venue.handlers.privatePostV5OrderCreate = () => ({ retCode: 0, retMsg: 'OK', result: { orderId: 'O1' } });
 *   // ... drive the driver ...
 *   expect(venue.calls).toEqual([{ fn: 'privatePostV5OrderCreate', params: { ... } }]);
 * });
 * ```
 *
 * Nothing here imports ccxt (not even its types): @cwts/core never depends on it.
 */

/** One recorded call: the ccxt method's name and the params object it was given. */
export interface ScriptedCcxtCall<P> {
  fn: string;
  params: P;
}

/** What each instance of the scripted class carries besides the scripted endpoints. */
export interface ScriptedCcxtInstance {
  /**
   * ccxt's `urls` (drivers re-root `urls.api` at the configured REST root). Copied for each
   * instance, so a driver's re-rooting never leaks into the next test.
   */
  urls: Record<string, unknown>;
  /** Other plain members the driver reads or replaces (e.g. `nonce`); copied shallowly per instance. */
  fields?: Record<string, unknown>;
}

/** The module shape `vi.mock('ccxt', factory)` returns: the class by its ccxt id, also under `default`. */
export type ScriptedCcxtModule = Record<string, unknown> & { default: Record<string, unknown> };

export interface ScriptedCcxt<P = Record<string, unknown>> {
  /** Every call of a scripted endpoint since the last reset, in order (unscripted calls included). */
  readonly calls: ScriptedCcxtCall<P>[];
  /** The answer per ccxt method name; its return value (or throw) is what the driver's await sees. */
  handlers: Record<string, (params: P) => unknown>;
  /** The config the last instance was constructed with (apiKey, secret, enableRateLimit, timeout...). */
  ctorConfig: Record<string, unknown> | undefined;
  /** Forgets the recorded calls, the handlers and the constructor config (call it before each test). */
  reset(): void;
  /** The module to return from the `vi.mock('ccxt', ...)` factory, exporting the class as `id`. */
  module(id: string, instance: ScriptedCcxtInstance): ScriptedCcxtModule;
}

/**
 * Creates the scripted venue. `P` is the params type handlers receive: `Record<string, unknown>`
 * by default; `Record<string, unknown> | undefined` for a driver that calls some endpoints without
 * params (Kraken's).
 */
export function scriptedCcxt<P = Record<string, unknown>>(): ScriptedCcxt<P> {
  const venue: ScriptedCcxt<P> = {
    calls: [],
    handlers: {},
    ctorConfig: undefined,
    reset() {
      venue.calls.length = 0;
      venue.handlers = {};
      venue.ctorConfig = undefined;
    },
    module(id, instance) {
      const endpoint = (name: string) => async (params: P) => {
        venue.calls.push({ fn: name, params });
        const h = venue.handlers[name];
        if (!h) throw new Error(`unscripted ${name}`);
        return h(params);
      };
      class ScriptedExchange {
        constructor(config: Record<string, unknown> = {}) {
          venue.ctorConfig = config;
          Object.assign(this, { ...instance.fields, urls: structuredClone(instance.urls) });
          // Any member the instance does not have is a scripted endpoint, except `then` (an
          // instance must never look like a promise when a driver returns or awaits it) and
          // symbols (inspection, coercion).
          return new Proxy(this, {
            get(target, prop) {
              if (prop in target) return (target as Record<string | symbol, unknown>)[prop];
              if (typeof prop === 'symbol' || prop === 'then') return undefined;
              return endpoint(prop);
            },
          });
        }
      }
      Object.defineProperty(ScriptedExchange, 'name', { value: id });
      return { [id]: ScriptedExchange, default: { [id]: ScriptedExchange } };
    },
  };
  return venue;
}
