import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedWorker } from '../testing/guarded-worker.js';
import fc from 'fast-check';
import { fastScale, unitsOf, type FastScale } from './fast-decimal.js';
import { JsonCursor, RepeatedKeyFinder, findDuplicateKey, isScanFailure } from './json-cursor.js';

const FRAMES = [
  '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1764900000123,"s":"BTCUSDT","U":157,"u":160,"b":[["65000.10","0.5"]],"a":[["65000.20","1.25"]]}}',
  '{"stream":"btcusdt@trade","data":{"e":"trade","E":1764900000456,"s":"BTCUSDT","t":5001234,"p":"65000.10","q":"0.00100000","T":1764900000455,"m":true,"M":true}}',
  '{"lastUpdateId":1027024,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]],"x":-12.5e+3,"y":null,"z":"\\u00e9\\n"}',
];

function scanFails(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (err) {
    if (!isScanFailure(err)) throw err;
    return true;
  }
}

describe('JsonCursor at the end of the text', () => {
  let w: GuardedWorker;
  beforeAll(async () => {
    w = await GuardedWorker.start({ module: fileURLToPath(new URL('./json-cursor.fixture.ts', import.meta.url)), export: 'createCursorWalker' }, 2000);
  });
  afterAll(async () => {
    await w?.close();
  });

  it('fails (never loops) on the frames of the issue cut inside an integer', async () => {
    // issue 11: these cuts once spun the integer reader forever (charCodeAt past the end is NaN)
    for (const cut of ['{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":17649', '{"stream":"btcusdt@trade","data":{"e":"trade","E":1,"s":"BTCUSDT","t":500', '-', '{"U":-', '{"U":12']) {
      const r = await w.call('walk', [cut]);
      expect(r, cut).toEqual({ ok: true, value: 'failed' });
    }
  });

  it('fails cleanly on every prefix of real frames, and reads the whole frames', async () => {
    for (const f of FRAMES) {
      expect(await w.call('walk', [f])).toEqual({ ok: true, value: 'ok' });
      for (let n = 0; n < f.length; n++) {
        const r = await w.call('walk', [f.slice(0, n)]);
        if (!r.ok) throw new Error(`prefix ${n} of ${f}: ${r.error}`);
        expect(r.value, `prefix ${JSON.stringify(f.slice(0, n))}`).toBe('failed');
      }
    }
  });

  it('bounds every reader directly', () => {
    const c = new JsonCursor();
    // (readInt's end-of-text cases run in the worker above: on the old reader they never return)
    expect(scanFails(() => c.reset('"abc').readString())).toBe(true);
    expect(scanFails(() => c.reset('"a\\u00').skipValue())).toBe(true);
    expect(scanFails(() => c.reset('1.').skipValue())).toBe(true);
    expect(scanFails(() => c.reset('1e').skipValue())).toBe(true);
    expect(scanFails(() => c.reset('{').nextKey(true))).toBe(true);
    expect(c.reset('   ').peek()).toBe(-1);
  });

  it('refuses numbers with leading zeros (not JSON), accepts a lone zero', () => {
    const c = new JsonCursor();
    expect(scanFails(() => c.reset('0767225797300').readInt())).toBe(true);
    expect(scanFails(() => c.reset('-01').readInt())).toBe(true);
    expect(scanFails(() => c.reset('00').skipValue())).toBe(true);
    expect(scanFails(() => c.reset('-007.5').skipValue())).toBe(true);
    expect(c.reset('0').readInt()).toBe(0);
    expect(c.reset('-0').readInt()).toBe(-0);
    expect(scanFails(() => c.reset('0.5').skipValue())).toBe(false);
    expect(c.reset('1445654').readInt()).toBe(1445654);
  });
});

describe('findDuplicateKey', () => {
  it('finds a key repeated in one object, at any depth, escaped or not', () => {
    expect(findDuplicateKey('{"e":"depthUpdate","e":1767234015300,"s":"BTCUSDT"}')).toBe('e');
    expect(findDuplicateKey('{"stream":"x","data":{"a":[],"b":{"c":1,"c":2}}}')).toBe('c');
    expect(findDuplicateKey('{"s":"BTCUSDT","\\u0073":"ETHUSDT"}')).toBe('s');
    expect(findDuplicateKey('{"data":{"e":1},"data":{"e":1}}')).toBe('data');
  });
  it('does not confuse keys of different objects, values that look like keys, or keys differing in case', () => {
    for (const f of FRAMES) expect(findDuplicateKey(f), f).toBeUndefined();
    expect(findDuplicateKey('[{"a":1},{"a":2}]')).toBeUndefined();
    expect(findDuplicateKey('{"a":"a","b":["a","a"],"c":{"a":{}},"E":1,"e":"x"}')).toBeUndefined();
    expect(findDuplicateKey('{"a":"\\"a\\":1,"}')).toBeUndefined();
  });
  it('returns on any text without throwing, even nested 25,000 deep', () => {
    for (const t of ['', '{', '{"a":', '{[', '}}]]', '{"a":1,"a"', '{"\\', '{"\\u12":1,"\\u12":2}']) expect(() => findDuplicateKey(t), t).not.toThrow();
    expect(findDuplicateKey('{"a":1,"a"')).toBe('a');
    expect(findDuplicateKey(`${'{"a":'.repeat(25_000)}1${'}'.repeat(25_000)}`)).toBeUndefined();
  });
});

describe('JsonCursor.readUnits', () => {
  const scales = [fastScale({ mantissa: 1n, exponent: 2 }), fastScale({ mantissa: 5n, exponent: 3 }), fastScale({ mantissa: 1n, exponent: 0 }), fastScale({ mantissa: 25n, exponent: 8 })];
  /** readString then unitsOf, the two passes readUnits replaces. */
  const twoPass = (c: JsonCursor, sc: FastScale): number => {
    c.readString();
    return unitsOf(c.s, c.start, c.end, sc);
  };
  const outcome = (text: string, at: number, sc: FastScale, read: (c: JsonCursor, sc: FastScale) => number) => {
    const c = new JsonCursor().reset(text);
    c.i = at;
    try {
      const v = read(c, sc);
      return { v, i: c.i, start: c.start, end: c.end };
    } catch (err) {
      if (!isScanFailure(err)) throw err;
      return 'fails';
    }
  };
  it('answers as readString then unitsOf on any text, at any offset, for any scale', () => {
    const ch = fc.constantFrom('0', '1', '5', '9', '.', '-', '"', '\\', ' ', '\n', 'e', 'x', ',', '\u0001', '\u00e9');
    fc.assert(
      fc.property(fc.array(ch, { maxLength: 30 }).map((a) => a.join('')), fc.nat(40), fc.nat(3), (body, at, k) => {
        for (const text of [body, `"${body}`, `  "${body}"`, `"${body}"]`]) {
          const sc = scales[k]!;
          const start = Math.min(at, text.length);
          const got = outcome(text, start, sc, (c, s) => c.readUnits(s));
          const want = outcome(text, start, sc, twoPass);
          expect(got).toEqual(want);
        }
      }),
      { numRuns: 3000 },
    );
  });
  it('reads prices and sizes as venues write them, and refuses what is off the grid or malformed', () => {
    const cents = scales[0]!;
    const read = (text: string, sc = cents) => outcome(text, 0, sc, (c, s) => c.readUnits(s));
    expect(read('"65000.10"')).toEqual({ v: 6_500_010, i: 10, start: 1, end: 9 });
    expect(read('"65000.1000000"')).toMatchObject({ v: 6_500_010 });
    expect(read('"-3"')).toMatchObject({ v: -300 });
    expect(read('"65000.101"')).toMatchObject({ v: NaN }); // off the tick grid
    expect(read('"0.00500000"', scales[1])).toMatchObject({ v: 1 });
    expect(read('"0.00700000"', scales[1])).toMatchObject({ v: NaN });
    expect(read('"1e3"')).toMatchObject({ v: NaN });
    expect(read('"99999999999999999"')).toMatchObject({ v: NaN }); // past 2^53 units
    for (const bad of ['"65000.1', '65000.1"', '"6\\u0035"', '"6\u00015"', '']) expect(read(bad)).toBe('fails');
  });
});

describe('RepeatedKeyFinder', () => {
  it('finds what findDuplicateKey finds, with the depth, on objects wider and deeper than its first arrays', () => {
    const f = new RepeatedKeyFinder();
    const cases = [
      '{"a":1,"b":2}',
      '{"a":1,"a":2}',
      '{"a":{"b":1},"b":{"a":1}}',
      '{"a":[{"x":1},{"x":2}]}',
      '{"a":{"x":1,"y":{"x":2},"x":3}}',
      '{"v":"\\"a\\":1","a":2}',
      '{"p\\u0061":1,"pa":2}',
      // 100 keys in one object (the key arrays start at 64), the last one repeated
      `{${Array.from({ length: 100 }, (_, k) => `"k${k}":${k}`).join(',')},"k99":0}`,
      // 40 levels deep (the depth array starts at 16), a repeat at the bottom
      `${'{"d":'.repeat(40)}{"z":1,"z":2}${'}'.repeat(40)}`,
    ];
    for (const text of cases) {
      JSON.parse(text);
      expect(f.find(text), text).toBe(findDuplicateKey(text));
    }
    expect(f.find('{"a":{"x":1,"y":{"x":2},"x":3}}')).toBe('x');
    expect(f.depth).toBe(2);
    expect(f.find('{"a":1,"a":2}')).toBe('a');
    expect(f.depth).toBe(1);
    expect(f.find('{"a":1}')).toBeUndefined();
    expect(f.depth).toBe(0);
  });
});
