/**
 * The mutation engine: turns one valid, real-format frame into a hostile one. Every operator the
 * issue names is here: truncation at every offset (walked systematically per seed, not sampled),
 * bit flips and byte overwrites, JSON type swaps, numeric extremes (0, -0, negatives, 1e308,
 * integers past 2^53, NaN-like strings), sequence jumps on id fields, structural splices, deep
 * nesting and binary garbage. Format-aware operators exist for JSON, TOML and CSV text; the rest
 * work on any text.
 *
 * Raw tokens (NaN, 1e308, 9007199254740993, -0) cannot survive JSON.stringify, so JSON value
 * mutations write a marker string and substitute the raw text afterwards.
 */

/** Numbers as raw JSON/CSV/TOML tokens (not all of them valid in every format: that is the point). */
export const NUMERIC_EXTREMES = [
  '0', '-0', '-1', '-42990', '-0.001', '1', '1e308', '-1e308', '1e-324', '9007199254740991', '9007199254740992',
  '9007199254740993', '9007199254740000', '18446744073709551616', '99999999999999999999999999', '0.000000001', '1.5',
  'NaN', 'Infinity', '-Infinity', 'nan', 'inf', '00', '01', '0x10', '1_000', '4.2E+3', '1e', '-', '.', '.5', '1.', '+1',
];

/** Decimal strings as a venue would quote them, made hostile. */
export const DECIMAL_STRING_EXTREMES = [
  '0', '-0', '0.00', '0.00000000', '-0.001', '-42990.00', '-1', '1e308', '1E5', 'NaN', 'nan', 'Infinity', '-Infinity', '',
  ' 1', '1 ', '+1', '.5', '1.', '1..0', '0x1A', '65000.005', '65000.00000001', '99999999999999999999.99', '9007199254740993',
  '18446744073709551616', '1,5', '١٢٣', '65000.00\u0000', 'null', 'true',
];

/** Id and sequence fields get jumps relative to their value as well as absolute extremes. */
export const SEQUENCE_KEYS = new Set(['U', 'u', 'pu', 'lastUpdateId', 'seq', 'firstSeq', 't', 'a', 'f', 'l', 'E', 'T', 'ts', 'recvTs', 'tradeId', 'id']);

const seqJumps = (v) => {
  const n = typeof v === 'number' ? v : Number(v);
  const base = Number.isFinite(n) ? n : 0;
  return [
    String(base + 1), String(base - 1), String(base + 2), String(base + 1000), String(base - 1000), String(base * 2 + 7),
    '0', '-1', '9007199254740000', '9007199254740991', '9007199254740993', '1e15', '9e15', '1.5', `${base}.5`, String(base + 2 ** 44),
  ];
};

const INTERESTING_BYTES = [0x00, 0xff, 0x22, 0x2c, 0x7b, 0x7d, 0x5b, 0x5d, 0x3a, 0x2d, 0x2e, 0x65, 0x39, 0x30, 0x5c, 0x0a, 0x0d, 0x20, 0x23, 0x3d, 0x24, 0x80, 0xc3, 0xe2];
const ODD_TEXT = ['\u0000', '\ud800', '\udfff', '\ufeff', '\u2028', '\\', '\\u', '\\uZZZZ', '"', '\n', '\r\n', '\t', '\u00ff\u00fe', '\ud83d\ude00', '${', '$${', '${FUZZ_SECRET}'];

const MARK = '\u0001FUZZMARK\u0001';

export class Mutator {
  /**
   * @param {import('./prng.mjs').Prng} rng
   * @param {'json' | 'toml' | 'csv' | 'jsonl'} format how the text is structured
   */
  constructor(rng, format) {
    this.rng = rng;
    this.format = format;
    /** seed id -> next truncation offset: every prefix of every seed is produced in turn. */
    this.cuts = new Map();
    this.ops = new Map();
  }

  /** One hostile variant of `text` (a valid frame). `seedId` names the seed for the truncation walk. */
  mutate(text, seedId = text) {
    const r = this.rng;
    let out;
    let op;
    const roll = r.next();
    if (roll < 0.22) [out, op] = [this.truncate(text, seedId), 'truncate'];
    else if (roll < 0.55) [out, op] = this.structured(text);
    else if (roll < 0.72) [out, op] = [this.bytes(text), 'bytes'];
    else if (roll < 0.84) [out, op] = [this.splice(text), 'splice'];
    else if (roll < 0.92) [out, op] = [this.special(text), 'special'];
    else {
      // stacked: two operators in a row
      const [a] = this.structured(text);
      [out, op] = [r.chance(0.5) ? this.bytes(a) : this.truncate(a, `${seedId}#stacked`), 'stacked'];
    }
    this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
    /** The operator that made the last variant (targets judge some operators more closely). */
    this.lastOp = op;
    return out;
  }

  truncate(text, seedId) {
    const at = this.cuts.get(seedId) ?? 0;
    this.cuts.set(seedId, at + 1 >= text.length ? 0 : at + 1);
    return text.slice(0, at);
  }

  structured(text) {
    if (this.format === 'json') return this.jsonValue(text);
    if (this.format === 'jsonl') {
      const lines = text.split('\n');
      const i = this.rng.int(lines.length);
      const r = this.rng.next();
      if (r < 0.7 && lines[i].trim() !== '') lines[i] = this.jsonValue(lines[i])[0];
      else if (r < 0.8) lines.splice(i, 0, lines[this.rng.int(lines.length)]); // duplicated line
      else if (r < 0.9) lines.splice(i, 1); // lost line
      else lines.splice(i, 0, this.garbage(1 + this.rng.int(40))); // a binary line
      return [lines.join('\n'), 'line'];
    }
    if (this.format === 'csv') return [this.csvCell(text), 'cell'];
    return [this.tomlValue(text), 'toml-value'];
  }

  /** Replaces one JSON value (found by a random walk) with an extreme, a jump or another type. */
  jsonValue(text) {
    let root;
    try {
      root = JSON.parse(text);
    } catch {
      return [this.bytes(text), 'bytes'];
    }
    const r = this.rng;
    const slots = [];
    const walk = (v, parent, key) => {
      if (parent !== undefined) slots.push([parent, key, v]);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, v, i));
      else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k], v, k);
    };
    walk(root, undefined, undefined);
    if (slots.length === 0) return [this.bytes(text), 'bytes'];
    const [parent, key, value] = slots[r.int(slots.length)];
    let raw;
    let op;
    const p = r.next();
    if (SEQUENCE_KEYS.has(String(key)) && p < 0.6) {
      raw = r.pick(seqJumps(value));
      if (typeof value === 'string') raw = JSON.stringify(raw);
      op = 'seq-jump';
    } else if (typeof value === 'string' && /^-?\d/.test(value) && p < 0.75) {
      raw = JSON.stringify(r.pick(DECIMAL_STRING_EXTREMES));
      op = 'numeric-extreme';
    } else if (typeof value === 'number' && p < 0.75) {
      raw = r.pick(NUMERIC_EXTREMES);
      op = 'numeric-extreme';
    } else if (p < 0.9) {
      raw = r.pick(['null', 'true', 'false', '[]', '{}', '""', '"x"', '0', '-1', '1e308', JSON.stringify(String(value)), JSON.stringify([value]), typeof value === 'string' ? value : JSON.stringify(JSON.stringify(value))]);
      op = 'type-swap';
    } else if (Array.isArray(parent)) {
      // array surgery: drop, duplicate, or grow one element
      const q = r.int(3);
      if (q === 0) parent.splice(key, 1);
      else if (q === 1) parent.splice(key, 0, structuredClone(value));
      else parent.push(Array.isArray(value) ? value.map(() => r.pick(DECIMAL_STRING_EXTREMES)) : value);
      return [JSON.stringify(root), 'array'];
    } else {
      const q = r.int(3);
      if (q === 0) delete parent[key];
      else if (q === 1) parent[`${String(key)}_`] = value;
      else {
        // a duplicate key: JSON.parse keeps the last, a streaming reader may keep the first
        const s = JSON.stringify(root);
        const dup = `${JSON.stringify(String(key))}:${JSON.stringify(r.pick(['x', 0, -1, null]))},`;
        const at = s.indexOf(`${JSON.stringify(String(key))}:`);
        return [at < 0 ? s : s.slice(0, at) + dup + s.slice(at), 'dup-key'];
      }
      return [JSON.stringify(root), 'key'];
    }
    parent[key] = MARK;
    return [JSON.stringify(root).replace(JSON.stringify(MARK), () => raw), op];
  }

  csvCell(text) {
    const r = this.rng;
    const lines = text.split('\n');
    // never the header line alone: the header is mutated by the byte operators
    const i = lines.length > 1 ? 1 + r.int(lines.length - 1) : 0;
    const p = r.next();
    if (p < 0.1) {
      lines.splice(i, 0, lines[r.int(lines.length)]);
      return lines.join('\n');
    }
    if (p < 0.15) {
      const j = r.int(lines.length);
      [lines[i], lines[j]] = [lines[j], lines[i]]; // rows out of order
      return lines.join('\n');
    }
    const cells = lines[i].split(',');
    const c = r.int(cells.length);
    const q = r.next();
    if (q < 0.45) cells[c] = r.pick(NUMERIC_EXTREMES);
    else if (q < 0.6) cells[c] = r.pick(DECIMAL_STRING_EXTREMES);
    else if (q < 0.7 && /^\d+$/.test(cells[c])) cells[c] = r.pick(seqJumps(cells[c]));
    else if (q < 0.8) cells[c] = r.pick(['', 'true', 'false', 'bid', 'ask', 'buy', 'sell', 'unknown', '"quoted"', '"a,b"', 'BTCUSDT', ' ', cells[c] + ',']);
    else if (q < 0.9) cells.splice(c, r.chance(0.5) ? 1 : 0, ...(r.chance(0.5) ? ['extra'] : []));
    else cells[c] = cells[c] + r.pick(ODD_TEXT);
    lines[i] = cells.join(',');
    return lines.join('\n');
  }

  tomlValue(text) {
    const r = this.rng;
    const lines = text.split('\n');
    const values = [];
    lines.forEach((l, i) => {
      if (/^\s*[A-Za-z0-9_."-]+\s*=/.test(l)) values.push(i);
    });
    const p = r.next();
    if (values.length === 0 || p < 0.1) {
      const i = r.int(lines.length);
      const q = r.int(5);
      if (q === 0) lines.splice(i, 0, lines[r.int(lines.length)]); // duplicate key or table
      else if (q === 1) lines.splice(i, 1);
      else if (q === 2) lines.splice(i, 0, r.pick(['[binance]', '[[risk]]', '[system.x]', 'unknown_key = 1', 'a.b.c = 1', '"quoted key" = 2', '[exchanges]', 'x = """', "y = '''", '[', ']]', 'z = {a = 1, a = 2}']));
      else if (q === 3) lines.splice(i, 0, `big = "${'A'.repeat(1 + r.int(4000))}"`);
      else lines.splice(i, 0, `deep = ${'['.repeat(1 + r.int(3000))}`);
      return lines.join('\n');
    }
    const i = r.pick(values);
    const eq = lines[i].indexOf('=');
    const key = lines[i].slice(0, eq + 1);
    const q = r.next();
    let v;
    if (q < 0.35) v = r.pick([...NUMERIC_EXTREMES, '9223372036854775807', '9223372036854775808', '-9223372036854775809', '+inf', '-nan', '0o777', '0b101', '1979-05-27T07:32:00Z', '07:32:00', '1979-05-27']);
    else if (q < 0.6) v = JSON.stringify(r.pick([...DECIMAL_STRING_EXTREMES, '${FUZZ_SECRET}', '${NOT_SET_ANYWHERE}', '$${FUZZ_SECRET}', '${', 'wss://user:${FUZZ_SECRET}@example.invalid/ws', 'paper', 'live', 'spot', 'usdm', '@cwts/exchange-sim', './nope.js', '']));
    else if (q < 0.8) v = r.pick(['[]', '[1, "a"]', '["sim", "sim"]', '{}', '{ a = 1 }', 'true', 'false', '""', "''", '"""x"""', `[${'1,'.repeat(r.int(200))}1]`]);
    else v = lines[i].slice(eq + 1) + r.pick(ODD_TEXT);
    lines[i] = `${key} ${v}`;
    return lines.join('\n');
  }

  /** Bit flips and interesting-byte overwrites at 1-4 random offsets. */
  bytes(text) {
    if (text.length === 0) return this.garbage(4);
    const r = this.rng;
    const chars = text.split('');
    const n = 1 + r.int(4);
    for (let k = 0; k < n; k++) {
      const i = r.int(chars.length);
      const c = chars[i].charCodeAt(0);
      chars[i] = r.chance(0.5) ? String.fromCharCode((c ^ (1 << r.int(8))) & 0xffff) : String.fromCharCode(r.pick(INTERESTING_BYTES));
    }
    return chars.join('');
  }

  /** Chunk operations: delete, duplicate, move, or insert odd text. */
  splice(text) {
    const r = this.rng;
    const n = text.length;
    const a = r.int(n + 1);
    const b = Math.min(n, a + 1 + r.int(Math.max(1, Math.min(64, n))));
    switch (r.int(4)) {
      case 0:
        return text.slice(0, a) + text.slice(b);
      case 1:
        return text.slice(0, b) + text.slice(a, b) + text.slice(b);
      case 2: {
        const chunk = text.slice(a, b);
        const rest = text.slice(0, a) + text.slice(b);
        const at = r.int(rest.length + 1);
        return rest.slice(0, at) + chunk + rest.slice(at);
      }
      default:
        return text.slice(0, a) + r.pick(ODD_TEXT) + text.slice(a);
    }
  }

  /** Rare shapes: deep nesting, empty, whitespace, garbage, a frame doubled, a very long token. */
  special(text) {
    const r = this.rng;
    const depth = 1000 + r.int(20000);
    switch (r.int(8)) {
      case 0: {
        // deep nesting inside an otherwise valid frame (recursive readers overflow the stack)
        const open = text.indexOf('{', 1);
        const at = open > 0 ? open : Math.floor(text.length / 2);
        return `${text.slice(0, at)}${'['.repeat(depth)}${']'.repeat(r.chance(0.5) ? depth : 0)}${text.slice(at)}`;
      }
      case 1:
        return r.pick(['', ' ', '\n', '{}', '[]', 'null', '0', '""', '{"', '}', '\ufeff', 'true']);
      case 2:
        return this.garbage(1 + r.int(300));
      case 3:
        return text + text;
      case 4:
        return text.replace(/\d{3,}/, (d) => d + '9'.repeat(50 + r.int(5000)));
      case 5:
        return `${' '.repeat(r.int(5000))}${text}${'\t'.repeat(r.int(5000))}`;
      case 6:
        return text.replace(/"([a-zA-Z]{1,3})":/, (_m, k) => `"${k}":${'{"z":'.repeat(200 + r.int(2000))}1${'}'.repeat(200)},"${k}_":`);
      default:
        return text.slice(0, r.int(text.length + 1)) + this.garbage(1 + r.int(16));
    }
  }

  garbage(n) {
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.rng.chance(0.7) ? this.rng.int(256) : this.rng.int(0x10000));
    return s;
  }
}
