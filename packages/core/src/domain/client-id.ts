/**
 * The client order ids this program issues: `<prefix>-<n>`, n from a durable sequence
 * (OrderManager). Every reader of that sequence (the order manager, journal restore and import)
 * parses ids here, so an id of another form never moves it: an adopted venue trade's
 * `adopted-<venue>-<symbol>-<side>-<trade id>` ends in a venue's trade id (billions at Binance, 19 digits where
 * ids are snowflakes), and read as ours it would move the sequence by as much, or past 2^53
 * where every later id is the same number.
 */

/** The prefix of the client order ids the engine issues. */
export const CLIENT_ID_PREFIX = 'cw';

/** At most this many digits: every such number is below 2^53, so the sequence stays exact. */
const MAX_DIGITS = 15;

/**
 * The sequence number of a client order id of this program's form (`cw-42`: 42), undefined for
 * any other id: another prefix, no number, leading '+'/'-', or more than 15 digits.
 */
export function clientIdNumber(id: unknown, prefix: string = CLIENT_ID_PREFIX): number | undefined {
  if (typeof id !== 'string' || id.length <= prefix.length + 1 || !id.startsWith(prefix) || id.charCodeAt(prefix.length) !== 0x2d) return undefined;
  const digits = id.slice(prefix.length + 1);
  if (digits.length > MAX_DIGITS || !/^\d+$/.test(digits)) return undefined;
  return Number(digits);
}
