/**
 * TinyEx, a made-up venue, and its wire protocol (see docs/writing-an-exchange-plugin.md):
 *
 * - REST  GET /v1/instruments -> [{ symbol, base, quote, tick, lot, min_notional }]
 * - WS    /v1/feed; client sends {"op":"subscribe","symbols":[...]}; the venue answers each
 *         symbol with a snapshot, then updates and trades:
 *   {"type":"snapshot","symbol":"BTC-USD","seq":7,"bids":[["100.5","0.25"]],"asks":[...]}
 *   {"type":"update","symbol":"BTC-USD","seq":8,"changes":[["b","100.5","0"]],"checksum":123}
 *   {"type":"trade","symbol":"BTC-USD","id":42,"price":"101","qty":"0.002","side":"buy","ts":1}
 *   Every update's seq is the previous + 1. {"op":"snapshot","symbol":S} asks for a new one.
 * - checksum: FNV-1a (32 bit) of the top 10 bids then top 10 asks, best first, each level
 *   written "price:qty" in canonical decimals (no trailing zeros), levels joined by "|".
 */
export function tinyexChecksum(bids: [string, string][], asks: [string, string][]): number {
  const text = [...bids.slice(0, 10), ...asks.slice(0, 10)].map(([p, q]) => `${p}:${q}`).join('|');
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
