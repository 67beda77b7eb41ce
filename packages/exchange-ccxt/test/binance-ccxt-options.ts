/** ccxt's Binance settings for a spot-only local server (no margin, currency or futures calls). */
export const BINANCE_CCXT_OPTIONS = {
  fetchMarkets: { types: ['spot'] },
  fetchCurrencies: false,
  fetchMargins: false,
  defaultType: 'spot',
  adjustForTimeDifference: false,
  // one market-data connection for book and trades (ccxt spreads subscriptions over streams)
  streamLimits: { spot: 1, margin: 1, future: 1, delivery: 1 },
};
