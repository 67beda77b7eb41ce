/**
 * Venue timestamps in RFC 3339 UTC (`2026-12-05T06:00:00.123456789Z`, as Coinbase and Kraken
 * send them) to epoch milliseconds, read in place from the frame text: no slice, no Date.parse on
 * the hot path. Other forms fall back to Date.parse; an unreadable time is 0 (unknown), never NaN.
 */

/** Epoch ms of a timestamp text; 0 when absent or unreadable. */
export function isoTimeMs(text: string | undefined): number {
  if (text === undefined) return 0;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : 0;
}

function digitsAt(s: string, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = s.charCodeAt(i + k) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Epoch ms of s[start, end) (fraction digits beyond milliseconds are truncated); 0 when unreadable. */
export function rfc3339Ms(s: string, start: number, end: number): number {
  const len = end - start;
  if (len >= 20 && s.charCodeAt(start + 4) === 45 && s.charCodeAt(start + 10) === 84 && s.charCodeAt(end - 1) === 90 && (len === 20 || s.charCodeAt(start + 19) === 46)) {
    const y = digitsAt(s, start, 4);
    const mo = digitsAt(s, start + 5, 2);
    const d = digitsAt(s, start + 8, 2);
    const h = digitsAt(s, start + 11, 2);
    const mi = digitsAt(s, start + 14, 2);
    const se = digitsAt(s, start + 17, 2);
    const fracLen = len - 21;
    const ms = fracLen <= 0 ? 0 : fracLen >= 3 ? digitsAt(s, start + 20, 3) : digitsAt(s, start + 20, fracLen) * (fracLen === 1 ? 100 : 10);
    if (y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && se >= 0 && se < 61 && ms >= 0) return Date.UTC(y, mo - 1, d, h, mi, se, ms);
  }
  return isoTimeMs(s.slice(start, end));
}
