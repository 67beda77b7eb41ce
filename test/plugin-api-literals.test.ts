/**
 * The loader's coreApi gate (isApiCompatible) only works if a plugin declares the API it was
 * built against as a literal. `CORE_API_VERSION` is read from the *installed* core at run time
 * (core is a peer dependency), so a manifest declaring it (or defineExchangePlugin's default)
 * always claims the host's API and is never refused: @cwts/exchange-binance, which needs API 1.4
 * (VenueErrorRule.outcomeUnknown), would load on a core of API 1.3 with its "outcome unknown"
 * rules silently ignored. Here the installed core says 1.2 (a minor no manifest here needs, so a
 * manifest echoing the host's version cannot match its expected literal by chance); every
 * first-party manifest must still declare its own literal, and the ones needing a later minor must be refused.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The installed core (the compiled package every plugin imports) is one of API 1.2, nothing else changed.
vi.mock('../packages/core/dist/plugins/manifest.js', async (importOriginal) => ({ ...(await importOriginal<Record<string, unknown>>()), CORE_API_VERSION: '1.2' }));

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every first-party plugin and the literal API version it needs (docs/versioning.md). */
const PACKAGES: Record<string, string> = {
  '@cwts/exchange-binance': '1.7', // the kit's claimPriorTrades (1.5: WsConnection.reconnectWithBackoff, 1.4: VenueErrorRule.outcomeUnknown)
  '@cwts/exchange-bybit': '1.12', // BookSync.replace (1.4: VenueErrorRule.outcomeUnknown)
  '@cwts/exchange-coinbase': '1.12', // BookSync.replace (1.7: the kit's readsShareOrderRateLimit, 1.5: WsConnection.reconnectWithBackoff)
  '@cwts/exchange-kraken': '1.12', // BookSync.replace (1.5: RateLimiter unbounded waits, RateLimitExceededError.refusal)
  '@cwts/exchange-ccxt': '1.12', // LISTED_WITHOUT_TIME (1.7: the kit's claimPriorTrades, 1.4: refusedByVenue with the mapped error)
  '@cwts/exchange-sim': '1.4', // minNotionalAtoms
  '@cwts/backend-cpu-simd': '1.4',
  '@cwts/backend-cuda': '1.8',
  '@cwts/backend-rocm': '1.8',
  '@cwts/backend-metal': '1.8',
  '@cwts/backend-vulkan': '1.8',
};
/** The examples' manifests (compiled), which plugin authors copy. */
const EXAMPLES: Record<string, string> = {
  'examples/reference-app/dist/detectors/index.js': '1.6', // clockTime from @cwts/core/detectors
  'examples/reference-app/dist/strategy/index.js': '1.0',
  'examples/risk-check-plugin/dist/index.js': '1.3', // RiskCheck.parent
  'examples/third-party-backend/dist/index.js': '1.0',
  'examples/third-party-exchange/dist/index.js': '1.0',
};

type Manifest = { name: string; coreApi: string };
const manifestOf = async (spec: string): Promise<Manifest> => {
  const mod = (await import(spec)) as { plugin?: Manifest; default?: Manifest };
  return (mod.plugin ?? mod.default)!;
};

describe('first-party plugins declare the core API they need as a literal', () => {
  it('the installed core says 1.2 (the mock took)', async () => {
    expect(((await import('@cwts/core')) as { CORE_API_VERSION: string }).CORE_API_VERSION).toBe('1.2');
  });

  it('every venue and backend package is listed here', () => {
    const dirs = readdirSync(path.join(ROOT, 'packages')).filter((d) => /^(exchange|backend)-/.test(d));
    expect(dirs.map((d) => `@cwts/${d}`).sort()).toEqual(Object.keys(PACKAGES).sort());
  });

  it.each(Object.entries(PACKAGES))('%s declares %s, not the host core\'s version', async (pkg, api) => {
    expect((await manifestOf(pkg)).coreApi).toBe(api);
  });

  it.each(Object.entries(EXAMPLES))('%s declares %s, not the host core\'s version', async (file, api) => {
    expect((await manifestOf(path.join(ROOT, file))).coreApi).toBe(api);
  });

  it('a plugin needing API 1.4 is refused by a core of API 1.3 or 1.2, one needing 1.0 loads', async () => {
    const { importPlugin, isApiCompatible } = (await import('../packages/core/dist/plugins/loader.js')) as typeof import('../packages/core/src/plugins/loader.js');
    const binance = await manifestOf('@cwts/exchange-binance');
    expect(isApiCompatible(binance.coreApi, '1.4')).toBe(false);
    expect(isApiCompatible(binance.coreApi, '1.6')).toBe(false);
    expect(isApiCompatible(binance.coreApi, '1.7')).toBe(true);
    // The loader, on the installed 1.2 core: one clear message naming both versions.
    const err = await importPlugin({ spec: '@cwts/exchange-binance', kind: 'exchange', origin: 'exchanges.enabled: binance' }, ROOT).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(err?.code).toBe('INCOMPATIBLE_API');
    expect(err?.message).toMatch(/built for core API 1\.7, but this @cwts\/core provides API 1\.2/);
    // one built for 1.0 loads on it
    expect((await importPlugin({ spec: './examples/third-party-backend/dist/index.js', kind: 'backend', origin: 'compute.backends: naive' }, ROOT)).coreApi).toBe('1.0');
  });
});
