/**
 * The plugin manifest of @cwts/exchange-ccxt. One ccxt instance per venue, shared by the market
 * data and execution halves (one loadMarkets; WebSocket and REST are separate inside ccxt).
 * Nothing is loaded on import: ccxt is imported when the venue first needs it.
 */
import { defineExchangePlugin, type Clock, type Logger, type PluginManifest } from '@cwts/core';
import { refreshOnVenueRefusal } from '@cwts/core/adapter-kit';
import { type Secret } from '@cwts/core/config';
import { createCcxtExchange, type CcxtExchange } from './ccxt-exchange.js';
import { CcxtExecution } from './execution.js';
import { CcxtMarketData } from './market-data.js';
import { resolveCcxtOptions, validateCcxtOptions } from './options.js';

export const PLUGIN_NAME = '@cwts/exchange-ccxt';

export interface CcxtVenue {
  marketData: CcxtMarketData;
  execution: CcxtExecution;
  /** The shared ccxt instance, once built. */
  ccxt(): Promise<CcxtExchange>;
}

const reveal = (s: unknown): string | undefined => {
  if (s === undefined || s === null) return undefined;
  const v = typeof (s as Secret).reveal === 'function' ? (s as Secret).reveal() : String(s);
  return v === '' ? undefined : v;
};

/** Builds both halves for one venue table (also used directly by tests and benches). */
export function createCcxtVenue(cfg: Readonly<Record<string, unknown>>, deps: { exchange: string; clock: Clock; logger?: Logger; random?: () => number }): CcxtVenue {
  const options = resolveCcxtOptions(cfg.options, `${deps.exchange}.options`);
  const apiKey = reveal(cfg.api_key);
  const apiSecret = reveal(cfg.api_secret);
  const password = reveal(cfg.passphrase);
  let pending: Promise<CcxtExchange> | undefined;
  const ccxt = (): Promise<CcxtExchange> =>
    (pending ??= createCcxtExchange({
      ccxtId: options.ccxt_id ?? deps.exchange,
      options,
      ...(typeof cfg.api_url === 'string' ? { apiUrl: cfg.api_url } : {}),
      ...(typeof cfg.rest_url === 'string' ? { restUrl: cfg.rest_url } : {}),
      ...(apiKey !== undefined ? { apiKey } : {}),
      ...(apiSecret !== undefined ? { apiSecret } : {}),
      ...(password !== undefined ? { password } : {}),
    }));
  const marketData = new CcxtMarketData({ exchange: deps.exchange, ccxt, options, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}), ...(deps.random ? { random: deps.random } : {}) });
  const execution = new CcxtExecution({
    exchange: deps.exchange, ccxt, options, clock: deps.clock, ...(deps.logger ? { logger: deps.logger } : {}),
    hasCredentials: apiKey !== undefined && apiSecret !== undefined,
    instrument: (s) => marketData.instrument(s),
    ccxtSymbol: (s) => marketData.ccxtSymbol(s),
  });
  refreshOnVenueRefusal(execution, () => marketData.refreshTradingStatusSoon());
  return { marketData, execution, ccxt };
}

export const plugin: PluginManifest = defineExchangePlugin<CcxtVenue>({
  name: PLUGIN_NAME,
  // The core API this adapter needs, as a literal: CORE_API_VERSION is the installed core's
  // (a peer dependency), so declaring it would pass any core (docs/versioning.md).
  // 1.4: refusedByVenue taking the mapped error (adapter kit), released with core API 1.4;
  // 1.7: the kit's claimPriorTrades; 1.12: LISTED_WITHOUT_TIME (imported from the root entry).
  coreApi: '1.12',
  checkConfig: (cfg, name) => {
    resolveCcxtOptions(cfg.options, `${name}.options`);
  },
  createVenue: createCcxtVenue,
  validateOptions: validateCcxtOptions,
});

export default plugin;
