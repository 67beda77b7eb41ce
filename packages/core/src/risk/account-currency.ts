import type { Instrument } from '../domain/instrument.js';

/**
 * USD and the dollar stablecoins venues quote in: counted as one account currency, as every
 * deployment has done since the first (Binance's BTCUSDT beside Kraken's BTC/USD). A depeg is
 * not modelled. ZUSD is Kraken's REST name for USD.
 */
export const USD_EQUIVALENTS: ReadonlySet<string> = new Set(['USD', 'USDT', 'USDC', 'FDUSD', 'BUSD', 'TUSD', 'USDP', 'PYUSD', 'ZUSD']);

/** Whether an amount quoted in `quote` may be added to amounts in `account` as it is (no FX). */
export function inAccountCurrency(quote: string, account: string): boolean {
  return quote === account || (USD_EQUIVALENTS.has(quote) && USD_EQUIVALENTS.has(account));
}

/** The account currency of a risk layer and where it came from (for the refusal's message). */
export interface AccountCurrency {
  readonly currency: string;
  readonly from: string;
}

/**
 * Refuses (throws) an instrument quoted in anything but the account currency: the risk layer's
 * limits, equity, drawdown and VaR add every instrument's amounts as they are, and there is no
 * FX conversion, so ETH/BTC's PnL would be counted in BTC as if it were USDT (a loss of 0.1 BTC
 * read as 0.1 USDT, and the drawdown halt never fired). `account` undefined: the quote of the
 * first traded instrument (else of the first held one) becomes it.
 */
export function checkAccountCurrency(account: AccountCurrency | undefined, traded: readonly Instrument[], held: readonly Instrument[]): AccountCurrency | undefined {
  if (account === undefined) {
    const first = traded[0] ?? held[0];
    if (first === undefined) return undefined;
    account = { currency: first.quote, from: `the quote of ${first.exchange}:${first.symbol}, the first instrument traded` };
  }
  const refuse = (i: Instrument, how: string): never => {
    throw new Error(
      `risk: ${i.exchange}:${i.symbol} (${how}) is quoted in ${i.quote}, not in the account currency ${account!.currency} (${account!.from}): ` +
        `[risk] limits, equity, the drawdown and VaR count every amount in the account currency and FX conversion is not implemented, so its PnL would be added as ${account!.currency}. ` +
        `Trade it in a deployment of its own, or leave its venue without keys (market data only)`,
    );
  };
  for (const i of traded) if (!inAccountCurrency(i.quote, account.currency)) refuse(i, 'traded');
  for (const i of held) if (!inAccountCurrency(i.quote, account.currency)) refuse(i, 'a position restored from the journal');
  return account;
}
