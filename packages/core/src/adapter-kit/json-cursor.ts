/**
 * A strict, allocation-free JSON reader for hot market-data frames. Adapters walk a frame with
 * it and turn price/quantity strings straight into integers (see `unitsOf`) instead of building
 * an object tree with JSON.parse and then converting. It validates everything it passes over
 * (skipped values included), so a truncated or corrupted frame fails instead of half-parsing.
 *
 * Failures throw the shared `JSON_SCAN_FAILED` sentinel (cheap; no stack capture). Strings with
 * escapes are not decoded: `readString` fails on a backslash, and the adapter falls back to
 * JSON.parse for that frame.
 */
import { finishUnits, type FastScale } from './fast-decimal.js';

export const JSON_SCAN_FAILED: { readonly scanFailed: true; message: string } = Object.freeze({ scanFailed: true, message: 'frame is not valid JSON or not in the expected shape' }) as never;

const fail = (): never => {
  throw JSON_SCAN_FAILED;
};

export class JsonCursor {
  s = '';
  i = 0;
  /** Bounds of the last key or string read: s[start, end). */
  start = 0;
  end = 0;

  reset(s: string): this {
    this.s = s;
    this.i = 0;
    this.depth = 0;
    return this;
  }

  ws(): void {
    const s = this.s;
    const n = s.length;
    let i = this.i;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  /** The next non-blank code unit, or -1 at the end of the text (never NaN). */
  peek(): number {
    this.ws();
    return this.at(this.i);
  }

  /**
   * The code unit at i, or -1 past the end. Every read goes through a bound check like this
   * one: charCodeAt past the end gives NaN, and NaN fails every range test both ways, which is
   * how a frame cut inside an integer once kept the integer reader looping forever.
   */
  at(i: number): number {
    return i < this.s.length ? this.s.charCodeAt(i) : -1;
  }

  expect(c: number): void {
    this.ws();
    if (this.at(this.i) !== c) fail();
    this.i++;
  }

  /** Reads '{'. */
  beginObject(): void {
    this.expect(123);
  }

  /**
   * Next key of the current object: true with start/end set, or false at '}' (consumed).
   * Handles the comma between members.
   */
  nextKey(first: boolean): boolean {
    this.ws();
    let c = this.at(this.i);
    if (c === 125 /* } */) {
      this.i++;
      return false;
    }
    if (!first) {
      if (c !== 44) fail();
      this.i++;
      this.ws();
      c = this.at(this.i);
    }
    if (c !== 34) fail();
    this.readStringBody();
    this.expect(58 /* : */);
    return true;
  }

  /** True when the last key/string equals `k`. */
  is(k: string): boolean {
    const n = k.length;
    if (this.end - this.start !== n) return false;
    const s = this.s;
    for (let j = 0; j < n; j++) if (s.charCodeAt(this.start + j) !== k.charCodeAt(j)) return false;
    return true;
  }

  /** Single-character key code, or -1 for longer keys. */
  keyCode(): number {
    return this.end - this.start === 1 ? this.s.charCodeAt(this.start) : -1;
  }

  /** Reads a string value; its body is s[start, end). */
  readString(): void {
    this.ws();
    if (this.at(this.i) !== 34) fail();
    this.readStringBody();
  }

  /**
   * Reads a string value holding a decimal and returns `unitsOf` of its body: the digits are read
   * while the string is scanned, one pass instead of `readString` then `unitsOf` (the two passes
   * were a third of a depth frame's parse). Fails exactly where `readString` fails (no string,
   * an escape or control character, the end of the text); sets start/end as it does; returns
   * NaN exactly where `unitsOf` would (tested against the pair on arbitrary text).
   */
  readUnits(sc: FastScale): number {
    this.ws();
    const s = this.s;
    const n = s.length;
    let i = this.i;
    if (i >= n || s.charCodeAt(i) !== 34) fail();
    const start = ++i;
    let neg = false;
    if (i < n && s.charCodeAt(i) === 45 /* - */) {
      neg = true;
      i++;
    }
    let ok = true;
    let v = 0;
    let digits = 0;
    let frac = -1;
    let fracSeen = 0;
    const exp = sc.exp;
    for (;; i++) {
      if (i >= n) fail();
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 /* \ */ || c < 32) fail();
      if (!ok) continue;
      if (c === 46 /* . */) {
        if (frac >= 0 || digits === 0) ok = false;
        else frac = 0;
        continue;
      }
      const d = c - 48;
      if (d < 0 || d > 9) {
        ok = false;
        continue;
      }
      digits++;
      if (frac >= 0) {
        fracSeen++;
        if (frac >= exp) {
          // finer than the increment's exponent: only zeros are on the grid
          if (d !== 0) ok = false;
          continue;
        }
        frac++;
      }
      v = v * 10 + d;
    }
    this.start = start;
    this.end = i;
    this.i = i + 1;
    return ok ? finishUnits(v, digits, frac, fracSeen, neg, sc) : NaN;
  }

  /** The last string as a JS string (allocates; for ids and symbols). */
  text(): string {
    return this.s.slice(this.start, this.end);
  }

  private readStringBody(): void {
    const s = this.s;
    const n = s.length;
    let i = this.i + 1;
    const start = i;
    for (;;) {
      if (i >= n) fail();
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c === 92 /* \ */ || c < 32) fail();
      i++;
    }
    this.start = start;
    this.end = i;
    this.i = i + 1;
  }

  /** Reads a JSON number that must be an integer within 2^53 (ids, timestamps). */
  readInt(): number {
    this.ws();
    const s = this.s;
    const n = s.length;
    let i = this.i;
    let neg = false;
    if (i < n && s.charCodeAt(i) === 45) {
      neg = true;
      i++;
    }
    const start = i;
    let v = 0;
    while (i < n) {
      const d = s.charCodeAt(i) - 48;
      if (d < 0 || d > 9) break;
      v = v * 10 + d;
      i++;
    }
    // a frame cut inside the number ends here too: the caller's next read fails on the end.
    // JSON has no leading zeros ("01"): such a frame is not JSON and is not applied.
    if (i === start || i - start > 16 || (i - start > 1 && s.charCodeAt(start) === 48)) fail();
    const c = this.at(i);
    if (c === 46 || c === 101 || c === 69 || v > 9007199254740991) fail();
    this.i = i;
    return neg ? -v : v;
  }

  /** Reads true or false. */
  readBool(): boolean {
    this.ws();
    const s = this.s;
    const i = this.i;
    if (s.startsWith('true', i)) {
      this.i = i + 4;
      return true;
    }
    if (s.startsWith('false', i)) {
      this.i = i + 5;
      return false;
    }
    return fail();
  }

  /** Nesting depth of skipValue; bounded so a hostile frame cannot overflow the stack. */
  private depth = 0;

  /** Skips any JSON value, validating it. Nesting deeper than 64 fails (no venue frame nests that deep). */
  skipValue(): void {
    if (this.depth >= 64) fail();
    this.depth++;
    try {
      this.skipOne();
    } finally {
      this.depth--;
    }
  }

  private skipOne(): void {
    this.ws();
    const s = this.s;
    const c = this.at(this.i);
    if (c === 34) {
      this.readStringAny();
    } else if (c === 123) {
      this.i++;
      let first = true;
      for (;;) {
        this.ws();
        const k = this.at(this.i);
        if (k === 125) {
          this.i++;
          return;
        }
        if (!first) this.expect(44);
        this.ws();
        if (this.at(this.i) !== 34) fail();
        this.readStringAny();
        this.expect(58);
        this.skipValue();
        first = false;
      }
    } else if (c === 91) {
      this.i++;
      let first = true;
      for (;;) {
        this.ws();
        if (this.at(this.i) === 93) {
          this.i++;
          return;
        }
        if (!first) this.expect(44);
        this.skipValue();
        first = false;
      }
    } else if (s.startsWith('true', this.i)) this.i += 4;
    else if (s.startsWith('false', this.i)) this.i += 5;
    else if (s.startsWith('null', this.i)) this.i += 4;
    else this.skipNumber();
  }

  /** Asserts nothing but whitespace remains. */
  end_(): void {
    this.ws();
    if (this.i !== this.s.length) fail();
  }

  private readStringAny(): void {
    const s = this.s;
    const n = s.length;
    let i = this.i + 1;
    for (;;) {
      if (i >= n) fail();
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (c < 32) fail();
      if (c === 92) {
        const e = this.at(i + 1);
        if (e === 117) {
          for (let h = i + 2; h < i + 6; h++) if (!isHex(this.at(h))) fail();
          i += 6;
        }
        else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
        else fail();
        continue;
      }
      i++;
    }
    this.i = i + 1;
  }

  private skipNumber(): void {
    let i = this.i;
    if (this.at(i) === 45) i++;
    const d0 = i;
    while (isDigit(this.at(i))) i++;
    if (i === d0 || (i - d0 > 1 && this.at(d0) === 48)) fail();
    if (this.at(i) === 46) {
      i++;
      const f0 = i;
      while (isDigit(this.at(i))) i++;
      if (i === f0) fail();
    }
    const e = this.at(i);
    if (e === 101 || e === 69) {
      i++;
      const sg = this.at(i);
      if (sg === 43 || sg === 45) i++;
      const e0 = i;
      while (isDigit(this.at(i))) i++;
      if (i === e0) fail();
    }
    this.i = i;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

export function isScanFailure(err: unknown): boolean {
  return err === JSON_SCAN_FAILED;
}

/**
 * The first key that appears twice in one object of a JSON text, or undefined. RFC 8259 leaves
 * such a text's meaning to the reader (JSON.parse keeps the last value, a streaming reader like
 * JsonCursor sees the first), so an adapter refuses it instead of guessing. The text must be
 * valid JSON for the answer to be exact (on any other text it still returns, never throws); the walk is iterative, so a deeply nested
 * text cannot overflow the stack. Escaped keys are compared decoded ("\u0065" is "e").
 */
export function findDuplicateKey(text: string): string | undefined {
  // one entry per open container: the keys of an object, or null for an array
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      const start = i;
      let escaped = false;
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92) {
          escaped = true;
          i++;
        } else if (d === 34) break;
      }
      const keys = expectKey ? stack[stack.length - 1] : undefined;
      if (keys) {
        const key = escaped ? decodeKey(text.slice(start, i + 1)) : text.slice(start + 1, i);
        if (keys.has(key)) return key;
        keys.add(key);
        expectKey = false;
      }
    } else if (c === 123 /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 91 /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 125 /* } */ || c === 93 /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 44 /* , */) expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
  }
  return undefined;
}

function decodeKey(quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    return quoted;
  }
}

/**
 * `findDuplicateKey` for the hot path: a frame's adapter walks every frame its slow path
 * accepted (trades, heartbeats, replies), so this one keeps its key bounds in typed arrays it
 * reuses (they grow to the widest and deepest frame seen, once) and compares keys in place.
 * JSON leaves the meaning of a repeated key open (JSON.parse keeps the last value, JsonCursor
 * sees the first): a frame with one is refused. One instance per parser (not reentrant).
 */
export class RepeatedKeyFinder {
  private keyStart = new Int32Array(64);
  private keyEnd = new Int32Array(64);
  private keyBase = new Int32Array(16);
  /** Depth of the object where `find` found its key (1: the outermost; 0: not known, or none). */
  depth = 0;

  /**
   * The first key repeated in one object of a text JSON.parse accepted, or undefined: one pass,
   * allocation-free, except for the name it returns and a key written with an escape, which goes
   * to `findDuplicateKey` (it compares decoded keys). On text that is not JSON it may name a key
   * that is not one (the frame is refused either way).
   */
  find(text: string): string | undefined {
    this.depth = 0;
    let ks = this.keyStart;
    let ke = this.keyEnd;
    let base = this.keyBase;
    let depth = 0;
    let nk = 0;
    const n = text.length;
    for (let i = 0; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (ch === 34 /* " */) {
        const start = i + 1;
        let escaped = false;
        for (i++; i < n; i++) {
          const d = text.charCodeAt(i);
          if (d === 92 /* \ */) {
            escaped = true;
            i++;
          } else if (d === 34) break;
        }
        const end = i;
        // a string followed by ':' is a key (the text is valid JSON)
        let j = i + 1;
        while (j < n) {
          const w = text.charCodeAt(j);
          if (w === 32 || w === 10 || w === 13 || w === 9) j++;
          else break;
        }
        if (text.charCodeAt(j) !== 58 /* : */ || depth === 0) continue;
        if (escaped) return findDuplicateKey(text);
        const len = end - start;
        for (let k = base[depth - 1]!; k < nk; k++) {
          if (ke[k]! - ks[k]! !== len) continue;
          const o = ks[k]!;
          let m = 0;
          while (m < len && text.charCodeAt(o + m) === text.charCodeAt(start + m)) m++;
          if (m === len) {
            this.depth = depth;
            return text.slice(start, end);
          }
        }
        if (nk === ks.length) {
          const a = new Int32Array(nk * 2);
          const b = new Int32Array(nk * 2);
          a.set(ks);
          b.set(ke);
          this.keyStart = ks = a;
          this.keyEnd = ke = b;
        }
        ks[nk] = start;
        ke[nk] = end;
        nk++;
      } else if (ch === 123 /* { */ || ch === 91 /* [ */) {
        if (depth === base.length) {
          const a = new Int32Array(depth * 2);
          a.set(base);
          this.keyBase = base = a;
        }
        base[depth++] = nk;
      } else if (ch === 125 /* } */ || ch === 93 /* ] */) {
        if (depth > 0) nk = base[--depth]!;
      }
    }
    return undefined;
  }
}
