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
    if (!(d >= 0 && d <= 9)) return -1; // NaN past the end too
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

/**
 * Epoch ms of an RFC 3339 date-time in s[start, end), read strictly in place (no slice, no
 * Date.parse, nothing allocated): `YYYY-MM-DDTHH:MM:SS`, an optional `.` and one or more fraction
 * digits (beyond milliseconds truncated), then `Z` or `+HH:MM` / `-HH:MM`; a day that exists in
 * its month, from 1970, hours < 24, minutes < 60, seconds <= 60 (a leap second). Anything else
 * is NaN: a venue trade time is checked, never guessed (Date.parse reads `"1 "`, `"+1"` and
 * `"1,5"` as dates in 2001, and one such time on a trade once let a backfill emit trades a second
 * time). Upper-case `T` and `Z` only, as the venues write them.
 */
export function rfc3339StrictMs(s: string, start = 0, end = s.length): number {
  if (end - start < 20 || end > s.length || start < 0) return NaN;
  if (s.charCodeAt(start + 4) !== 45 || s.charCodeAt(start + 7) !== 45 || s.charCodeAt(start + 10) !== 84 || s.charCodeAt(start + 13) !== 58 || s.charCodeAt(start + 16) !== 58) return NaN;
  const y = digitsAt(s, start, 4);
  const mo = digitsAt(s, start + 5, 2);
  const d = digitsAt(s, start + 8, 2);
  const h = digitsAt(s, start + 11, 2);
  const mi = digitsAt(s, start + 14, 2);
  const se = digitsAt(s, start + 17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60) return NaN;
  const dim = mo === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
  if (d > dim) return NaN;
  let i = start + 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46 /* . */) {
    const f = ++i;
    while (i < end) {
      const c = s.charCodeAt(i) - 48;
      if (!(c >= 0 && c <= 9)) break;
      if (i - f < 3) ms = ms * 10 + c;
      i++;
    }
    if (i === f) return NaN;
    if (i - f === 1) ms *= 100;
    else if (i - f === 2) ms *= 10;
  }
  let offset = 0;
  const z = s.charCodeAt(i);
  if (z === 90 /* Z */) {
    if (i + 1 !== end) return NaN;
  } else if (z === 43 /* + */ || z === 45 /* - */) {
    if (i + 6 !== end || s.charCodeAt(i + 3) !== 58) return NaN;
    const oh = digitsAt(s, i + 1, 2);
    const om = digitsAt(s, i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offset = (oh * 60 + om) * 60_000;
    if (z === 45) offset = -offset;
  } else return NaN;
  return Date.UTC(y, mo - 1, d, h, mi, se, ms) - offset;
}
