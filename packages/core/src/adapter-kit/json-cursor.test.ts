import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuardedWorker } from '../testing/guarded-worker.js';
import { JsonCursor, findDuplicateKey, isScanFailure } from './json-cursor.js';

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
