/**
 * The malformed-input section of the exchange conformance suite. The adapter provides a
 * FrameHarness (adapter kit: `frame-harness.ts`) from a module; the suite loads it in a worker
 * thread under a watchdog (a call that does not return within `boundMs`, default 2 s, is a hang:
 * the worker is terminated and the case reported) and derives hostile cases from the adapter's
 * sample frames and the roles of their fields:
 *
 *   - every prefix of every sample (truncation at every offset)
 *   - every field replaced by a value of each other JSON type, and every declared field removed
 *   - negative / zero / huge / NaN-like / off-grid numbers in prices, quantities and ids
 *   - update-id jumps and gaps, a trade id far ahead of the stream (then the next real frame)
 *   - a level that crosses the book, unknown event types, streams and symbols
 *   - binary frames and frames that are not the venue's JSON at all
 *
 * Each case must end with no throw, no hang, the input counted, a rejection counted where the
 * input is invalid, and a book that is either the correct one or not SYNCED; a SYNCED book never
 * holds a level with a non-positive price or quantity and is never crossed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FrameField, FrameHarnessState, FrameSample } from '../adapter-kit/frame-harness.js';
import { GuardedWorker, type GuardedModuleRef } from './guarded-worker.js';

/** What the suite demands of one hostile input. */
export type HostileExpectation =
  | 'reject' // counted as a rejection; the book unchanged or not SYNCED
  | 'not-applied' // the book unchanged or not SYNCED (a stale id may be dropped silently)
  | 'any'; // the book unchanged, or as after the clean frame, or not SYNCED

export interface HostileCase {
  name: string;
  sample: FrameSample;
  input: string | Uint8Array;
  expect: HostileExpectation;
  /** Afterwards the clean sample must still be taken (no poisoned sequence or trade id). */
  thenPristine?: boolean;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const RAW = '\u0000raw\u0000';

/** JSON text of `root` with the value at `path` replaced by raw text (which may be invalid JSON). */
function withRaw(root: Json, path: (string | number)[], raw: string): string {
  const copy = structuredClone(root);
  setAt(copy, path, RAW);
  return JSON.stringify(copy).replace(JSON.stringify(RAW), raw);
}

function setAt(root: Json, path: (string | number)[], v: Json | undefined): void {
  let o = root as Record<string | number, Json>;
  for (let k = 0; k < path.length - 1; k++) o = o[path[k]!] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (v === undefined) delete o[last];
  else o[last] = v;
}

function getAt(root: Json, path: (string | number)[]): Json | undefined {
  let o: Json | undefined = root;
  for (const k of path) {
    if (o === null || typeof o !== 'object') return undefined;
    o = (o as Record<string | number, Json>)[k];
  }
  return o;
}

function allPaths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    const entries: [string | number, Json][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const p = [...prefix, k];
      out.push(p);
      allPaths(x, p, out);
    }
  }
  return out;
}

const WRONG_TYPES: Record<string, string[]> = {
  string: ['123', 'null', 'true', '{}', '[]'],
  number: ['"1"', 'null', 'false', '{}', '[]'],
  boolean: ['"true"', '1', 'null'],
  object: ['[]', '"x"', '1', 'null'],
  array: ['{}', '"x"', '1', 'null'],
  null: ['0', '"x"'],
};

/** Values every price must reject (as strings; numbers are written bare). */
const BAD_NUMBERS = ['-1', '0', '-0', '-65000.5', '1e400', '1E5', 'NaN', 'Infinity', '-Infinity', '9007199254740993', '123456789012345678901234567890', `0.${'0'.repeat(19)}1`, '', ' 1', '0x10', '1_000', '1.2.3', '--1', '+1'];
const HUGE_IDS = ['9007199254740000', '9007199254740991', '9007199254740993', '9000000000000000', '-1', '1e300', '1.5', 'NaN', '-0.5'];

/**
 * Where the venue writes a value as a bare JSON number (Kraken v2), " 1" and "1E5" are legal
 * JSON for the plausible values 1 and 100000 (whitespace is insignificant, exponents are part of
 * the number grammar and venues use them for tiny quantities): the adapter may take them. In a
 * JSON string (Binance) they are not plain decimals and must be rejected.
 */
function legalBareNumber(orig: Json | undefined, v: string): boolean {
  return typeof orig === 'number' && (v === ' 1' || v === '1E5');
}

function typeOf(v: Json | undefined): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function roleOf(sample: FrameSample, path: (string | number)[]): FrameField | undefined {
  const key = JSON.stringify(path);
  return sample.fields.find((f) => JSON.stringify(f.path) === key);
}

/** The hostile cases derived from one sample frame. */
export function hostileCases(sample: FrameSample): HostileCase[] {
  const out: HostileCase[] = [];
  const text = sample.text;
  const at = (name: string, input: string | Uint8Array, expect: HostileExpectation, thenPristine = false) => out.push({ name: `${sample.kind}: ${name}`, sample, input, expect, thenPristine });
  for (let n = 0; n < text.length; n++) at(`cut at byte ${n} ${JSON.stringify(text.slice(Math.max(0, n - 12), n))}`, text.slice(0, n), 'reject');
  const root = JSON.parse(text) as Json;
  // wrong JSON types, per field
  for (const path of allPaths(root)) {
    const f = roleOf(sample, path);
    for (const raw of WRONG_TYPES[typeOf(getAt(root, path))] ?? []) at(`${path.join('.')} as ${raw}`, withRaw(root, path, raw), f ? 'reject' : 'any');
  }
  // declared fields removed
  for (const f of sample.fields) {
    if (typeof f.path[f.path.length - 1] !== 'string') continue;
    const copy = structuredClone(root);
    setAt(copy, f.path, undefined);
    at(`${f.path.join('.')} removed`, JSON.stringify(copy), 'reject');
  }
  // values by role
  for (const f of sample.fields) {
    const orig = getAt(root, f.path);
    const asText = (v: string) => (typeof orig === 'string' ? JSON.stringify(v) : v === '' ? '""' : v);
    const name = f.path.join('.');
    switch (f.role) {
      case 'price':
        for (const v of BAD_NUMBERS) at(`${name} = ${JSON.stringify(v)}`, withRaw(root, f.path, asText(v)), legalBareNumber(orig, v) ? 'any' : 'reject');
        if (f.crossing) at(`${name} = ${f.crossing} (crosses the book)`, withRaw(root, f.path, asText(f.crossing)), 'not-applied');
        break;
      case 'qty':
      case 'levelQty':
        for (const v of BAD_NUMBERS) {
          const deletes = f.role === 'levelQty' && (v === '0' || v === '-0');
          at(`${name} = ${JSON.stringify(v)}`, withRaw(root, f.path, asText(v)), deletes || legalBareNumber(orig, v) ? 'any' : 'reject');
        }
        break;
      case 'seq':
      case 'firstSeq':
        for (const v of HUGE_IDS) at(`${name} = ${v}`, withRaw(root, f.path, asText(v)), 'not-applied', true);
        if (typeof orig === 'number' && (sample.channel ?? 'ws') === 'ws') {
          // a gap: every id of the frame moved ahead (a snapshot ahead of the stream is normal)
          const copy = structuredClone(root);
          for (const g of sample.fields) if (g.role === 'seq' || g.role === 'firstSeq') setAt(copy, g.path, (getAt(root, g.path) as number) + 1000);
          at(`ids ahead by 1000 (a gap)`, JSON.stringify(copy), 'not-applied');
        }
        break;
      case 'tradeId':
        for (const v of HUGE_IDS) at(`${name} = ${v}`, withRaw(root, f.path, asText(v)), 'reject', true);
        break;
      case 'type':
        at(`${name} unknown`, withRaw(root, f.path, JSON.stringify('noSuchEvent')), 'reject');
        break;
      case 'symbol':
        at(`${name} unknown`, withRaw(root, f.path, JSON.stringify('NOSUCHSYMBOL')), 'reject');
        break;
      case 'stream': {
        at(`${name} renamed`, withRaw(root, f.path, JSON.stringify('nosuch@stream')), 'any');
        const type = sample.fields.find((g) => g.role === 'type');
        if (type) {
          const copy = structuredClone(root);
          setAt(copy, f.path, 'nosuch@stream');
          setAt(copy, type.path, 'noSuchEvent');
          at('an unknown stream', JSON.stringify(copy), 'reject');
        }
        break;
      }
      default:
        break;
    }
  }
  if ((sample.channel ?? 'ws') === 'ws') {
    at('as a binary frame', new TextEncoder().encode(text), 'reject');
    at('inside 200 levels of nesting', `${'['.repeat(200)}${text}${']'.repeat(200)}`, 'reject');
    at('with its last brace doubled', `${text}}`, 'reject');
  }
  return out;
}

/** A numeric id (a JSON number or a string of digits) plus `k`, in the same form; undefined when the id is not numeric. */
function idPlus(v: Json | undefined, k: number): Json | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v + k;
  if (typeof v === 'string' && /^\d{1,30}$/.test(v)) return (BigInt(v) + BigInt(k)).toString();
  return undefined;
}

/** A positive decimal (JSON number or decimal string) doubled, written with the same decimals; undefined otherwise. */
function doubled(v: Json | undefined): Json | undefined {
  if (typeof v === 'number' && v > 0) return v * 2;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)(?:\.(\d+))?$/.exec(v);
  if (!m) return undefined;
  const dec = m[2] ?? '';
  const units = BigInt(m[1]! + dec) * 2n;
  if (units === 0n) return undefined;
  const t = units.toString().padStart(dec.length + 1, '0');
  return dec.length === 0 ? t : `${t.slice(0, t.length - dec.length)}.${t.slice(t.length - dec.length)}`;
}

/**
 * A repeat delivered after the frame itself: a venue replays after a reconnect, and a stream
 * read twice (two connections, a retry) delivers frames again. `inputs` are fed in order after
 * reset('synced'); the last one is the repeat. 'trade': it must emit no trade. 'book': the book
 * must stay as it was before the repeat (or stop being SYNCED).
 */
export interface RepeatCase {
  name: string;
  inputs: string[];
  check: 'trade' | 'book';
  /**
   * Inputs to use instead when the frames before the repeat do not leave the book SYNCED (the
   * newer frame's changed quantities break a venue checksum): the newer frame with the sample's
   * own quantities.
   */
  fallback?: string[];
}

/** The repeat cases derived from one sample (ws samples with a trade id or update ids). */
export function repeatCases(sample: FrameSample): RepeatCase[] {
  if ((sample.channel ?? 'ws') !== 'ws') return [];
  const out: RepeatCase[] = [];
  const text = sample.text;
  const root = JSON.parse(text) as Json;
  const tradeIds = sample.fields.filter((f) => f.role === 'tradeId');
  const seqs = sample.fields.filter((f) => f.role === 'seq' || f.role === 'firstSeq');
  if (tradeIds.length > 0) {
    out.push({ name: `${sample.kind}: the same trade frame twice`, inputs: [text, text], check: 'trade' });
    const newer = structuredClone(root);
    let numeric = true;
    for (const f of tradeIds) {
      const v = idPlus(getAt(root, f.path), 1);
      if (v === undefined) numeric = false;
      else setAt(newer, f.path, v);
    }
    // venues whose trade ids are not ordered (UUIDs) get the exact repeat only
    if (numeric) out.push({ name: `${sample.kind}: an older trade id after a newer one`, inputs: [JSON.stringify(newer), text], check: 'trade' });
  } else if (seqs.length > 0) {
    out.push({ name: `${sample.kind}: the same delta frame twice`, inputs: [text, text], check: 'book' });
    const last = seqs.find((f) => f.role === 'seq');
    const first = seqs.find((f) => f.role === 'firstSeq');
    const lastV = last ? getAt(root, last.path) : undefined;
    const firstV = first ? getAt(root, first.path) : undefined;
    const span = typeof lastV === 'number' && typeof firstV === 'number' ? lastV - firstV + 1 : 1;
    const newer = structuredClone(root);
    let numeric = true;
    for (const f of seqs) {
      const v = idPlus(getAt(root, f.path), span);
      if (v === undefined) numeric = false;
      else setAt(newer, f.path, v);
    }
    const plain = JSON.stringify(newer);
    // the newer frame sets other quantities, so an older frame applied after it shows in the book
    for (const f of sample.fields.filter((g) => g.role === 'levelQty')) {
      const v = doubled(getAt(root, f.path));
      if (v !== undefined) setAt(newer, f.path, v);
    }
    if (numeric) out.push({ name: `${sample.kind}: an older delta after a newer one`, inputs: [text, JSON.stringify(newer), text], check: 'book', fallback: [text, plain, text] });
  }
  return out;
}

/** Frames that are nobody's market data. */
export function foreignFrames(): { name: string; input: string | Uint8Array }[] {
  const deep = `{"e":"depthUpdate","x":${'['.repeat(100_000)}`;
  return [
    { name: 'empty text', input: '' },
    { name: 'not JSON', input: 'this is not json' },
    { name: 'JSON null', input: 'null' },
    { name: 'JSON array', input: '[1,2,3]' },
    { name: 'JSON string', input: '"depthUpdate"' },
    { name: 'empty object', input: '{}' },
    { name: 'unknown message', input: '{"totally":"unknown","message":[1,2,3]}' },
    { name: 'unknown stream', input: '{"stream":"nosuch@stream","data":{"foo":1}}' },
    { name: '100000 levels of nesting', input: deep },
    { name: 'a lone surrogate', input: '{"e":"\ud800"}' },
    { name: 'control characters', input: '{"e":"a\u0001b"}' },
    { name: 'random bytes', input: Uint8Array.from({ length: 64 }, (_, i) => (i * 73 + 11) % 256) },
    { name: 'an empty binary frame', input: new Uint8Array(0) },
  ];
}

const sameBook = (a: FrameHarnessState, b: FrameHarnessState) => JSON.stringify([a.bids, a.asks]) === JSON.stringify([b.bids, b.asks]);

/** Problems with one outcome, or [] when it is acceptable. */
export function judge(c: { name: string; expect: HostileExpectation }, before: FrameHarnessState, after: FrameHarnessState, pristineAfter: FrameHarnessState | undefined): string[] {
  const p: string[] = [];
  if (after.frames !== before.frames + 1) p.push(`input not counted (frames ${before.frames} -> ${after.frames})`);
  if (c.expect === 'reject' && after.rejected <= before.rejected) p.push('not counted as a rejection');
  if (after.state === 'synced') {
    const unchanged = sameBook(before, after) && before.state === 'synced';
    const asClean = pristineAfter !== undefined && sameBook(pristineAfter, after);
    if (c.expect !== 'any' && !unchanged) p.push(`SYNCED book changed: ${JSON.stringify({ bids: after.bids.slice(0, 3), asks: after.asks.slice(0, 3) })}`);
    // 'any' with neither outcome: a legitimate reading we cannot predict (a delete); only the
    // invariants below hold it
    void asClean;
    for (const [px, q] of [...after.bids, ...after.asks]) if (!(px > 0 && q > 0)) p.push(`SYNCED book holds the level ${px} x ${q}`);
    const bb = after.bids[0]?.[0];
    const ba = after.asks[0]?.[0];
    if (bb !== undefined && ba !== undefined && bb >= ba) p.push(`SYNCED book is crossed (${bb} >= ${ba})`);
  }
  for (const t of after.trades.slice(before.trades.length)) if (!(t.price > 0 && t.qty > 0)) p.push(`trade ${t.tradeId} emitted with ${t.price} x ${t.qty}`);
  if (c.expect !== 'any' && after.trades.length > before.trades.length) p.push(`a trade was emitted: ${JSON.stringify(after.trades.at(-1))}`);
  return p;
}

export interface MalformedInputOptions {
  /** The adapter's FrameHarness factory module (see FrameHarness in @cwts/core's adapter kit). */
  frameHarness: GuardedModuleRef | undefined;
  venue: string;
  /** Per-input bound before the suite calls it a hang. Default 2000 ms. */
  boundMs?: number;
}

/** Registers the malformed-input tests (called by describeExchangeConformance). */
export function describeMalformedInput(opts: MalformedInputOptions): void {
  describe(`malformed input: ${opts.venue}`, () => {
    let w: GuardedWorker | undefined;
    let samples: FrameSample[] = [];
    let startError = '';
    beforeAll(async () => {
      if (!opts.frameHarness) return;
      try {
        w = await GuardedWorker.start(opts.frameHarness, opts.boundMs ?? 2000);
        const r = await w.call<FrameSample[]>('samples');
        if (!r.ok) throw new Error(r.error);
        samples = r.value;
      } catch (err) {
        startError = (err as Error).message;
      }
    }, 120_000);
    afterAll(async () => {
      await w?.close();
    });

    const need = (): GuardedWorker => {
      if (!opts.frameHarness) throw new Error(`${opts.venue}: the adapter declares no frameHarness; every adapter must provide one (see FrameHarness in the adapter kit and docs/reliability.md)`);
      if (!w) throw new Error(`${opts.venue}: frame harness did not start: ${startError}`);
      return w;
    };

    /** Runs cases; returns the failures (name: problem). */
    async function run(cases: { name: string; input: string | Uint8Array; expect: HostileExpectation; channel: 'ws' | 'snapshot'; pristine?: string; thenPristine?: boolean }[]): Promise<string[]> {
      const g = need();
      const failures: string[] = [];
      const pristineAfter = new Map<string, FrameHarnessState>();
      const call = async <T>(method: string, args: unknown[], name: string): Promise<T | undefined> => {
        const r = await g.call<T>(method, args);
        if (r.ok) return r.value;
        failures.push(`${name}: ${r.hang ? 'HANG' : 'threw'}: ${r.error.split('\n')[0]}`);
        if (r.hang || !g.alive) await g.restart();
        return undefined;
      };
      for (const c of cases) {
        const mode = c.channel === 'snapshot' ? 'awaiting-snapshot' : 'synced';
        let clean: FrameHarnessState | undefined;
        if (c.pristine !== undefined) {
          clean = pristineAfter.get(c.pristine);
          if (!clean) {
            const b0 = await call<FrameHarnessState>('reset', [mode], `${c.name} (reset)`);
            clean = await call<FrameHarnessState>('feed', [c.pristine, c.channel], `${c.name} (clean frame)`);
            if (!b0 || !clean) continue;
            if (clean.rejected !== b0.rejected || clean.state !== 'synced') failures.push(`${c.name}: the clean sample itself is not accepted (${JSON.stringify(clean).slice(0, 200)})`);
            pristineAfter.set(c.pristine, clean);
          }
        }
        const before = await call<FrameHarnessState>('reset', [mode], `${c.name} (reset)`);
        if (!before) continue;
        const after = await call<FrameHarnessState>('feed', [c.input, c.channel], c.name);
        if (!after) continue;
        for (const p of judge(c, before, after, clean)) failures.push(`${c.name}: ${p}`);
        if (c.thenPristine && c.pristine !== undefined && clean) {
          const next = await call<FrameHarnessState>('feed', [c.pristine, c.channel], `${c.name} (then the clean frame)`);
          if (!next) continue;
          if (next.state === 'synced') {
            if (!sameBook(next, clean)) failures.push(`${c.name}: the clean frame afterwards was not applied (sequence poisoned?)`);
            const got = next.trades.length - after.trades.length;
            const want = clean.trades.length - before.trades.length;
            if (got !== want) failures.push(`${c.name}: the clean frame afterwards emitted ${got} trades, expected ${want} (trade id poisoned?)`);
          }
        }
      }
      return failures;
    }

    const report = (f: string[]) => expect(f.length, `${f.length} failures:\n${f.slice(0, 25).join('\n')}${f.length > 25 ? `\n... and ${f.length - 25} more` : ''}`).toBe(0);
    const casesOf = (filter: (c: HostileCase) => boolean) =>
      samples.flatMap((s) => hostileCases(s).filter(filter).map((c) => ({ ...c, channel: s.channel ?? ('ws' as const), pristine: s.text })));

    it('declares sample frames of each message type it reads, each accepted as is', async () => {
      need();
      expect(samples.length, 'sample frames').toBeGreaterThan(0);
      report(await run(samples.map((s) => ({ name: `${s.kind}: clean`, input: s.text, expect: 'any' as const, channel: s.channel ?? 'ws', pristine: s.text }))));
    }, 120_000);

    it('survives every truncation of every sample frame (cut at each byte offset)', async () => {
      need();
      report(await run(casesOf((c) => c.name.includes(': cut at byte '))));
    }, 300_000);

    it('rejects wrong JSON types and missing fields', async () => {
      need();
      report(await run(casesOf((c) => / as |removed$/.test(c.name) && !c.name.includes('as a binary frame'))));
    }, 300_000);

    it('rejects negative, zero, huge, NaN-like and off-grid numbers, and crossing levels', async () => {
      need();
      report(await run(casesOf((c) => / = /.test(c.name))));
    }, 300_000);

    it('is not poisoned by sequence jumps or far-ahead trade ids, and resyncs on gaps', async () => {
      need();
      report(await run(casesOf((c) => c.thenPristine === true || c.name.includes('(a gap)'))));
    }, 300_000);

    it('takes a repeated frame once: the same trade or delta twice, an older trade id or delta after a newer one', async () => {
      const g = need();
      const failures: string[] = [];
      const cases = samples.flatMap((s) => repeatCases(s));
      /** The states after reset and after each input, or undefined (the failure recorded). */
      const play = async (name: string, inputs: string[]): Promise<FrameHarnessState[] | undefined> => {
        const r0 = await g.call<FrameHarnessState>('reset', ['synced']);
        if (!r0.ok) {
          failures.push(`${name} (reset): ${r0.error.split('\n')[0]}`);
          if (r0.hang || !g.alive) await g.restart();
          return undefined;
        }
        const states = [r0.value];
        for (const input of inputs) {
          const r = await g.call<FrameHarnessState>('feed', [input, 'ws']);
          if (!r.ok) {
            failures.push(`${name}: ${r.hang ? 'HANG' : 'threw'}: ${r.error.split('\n')[0]}`);
            if (r.hang || !g.alive) await g.restart();
            return undefined;
          }
          states.push(r.value);
        }
        return states;
      };
      for (const c of cases) {
        let states = await play(c.name, c.inputs);
        if (states === undefined) continue;
        if (c.fallback && states[states.length - 2]!.state !== 'synced') states = await play(`${c.name} (the sample's quantities)`, c.fallback);
        if (states === undefined) continue;
        const [before, beforeRepeat, after] = [states[0]!, states[states.length - 2]!, states[states.length - 1]!];
        if (c.check === 'trade') {
          const first = states[1]!.trades.length - before.trades.length;
          if (first < 1) failures.push(`${c.name}: the first frame emitted no trade (the sample must apply after reset)`);
          const again = after.trades.length - beforeRepeat.trades.length;
          if (again !== 0) failures.push(`${c.name}: the repeat emitted ${again} trade(s) again: ${JSON.stringify(after.trades.slice(beforeRepeat.trades.length))}`);
        } else {
          if (beforeRepeat.state !== 'synced') {
            failures.push(`${c.name}: the book was not SYNCED before the repeat (the frames before it must apply after reset)`);
            continue;
          }
          if (after.state === 'synced' && !sameBook(beforeRepeat, after)) {
            failures.push(`${c.name}: the repeat was applied again: ${JSON.stringify({ before: { bids: beforeRepeat.bids.slice(0, 3), asks: beforeRepeat.asks.slice(0, 3) }, after: { bids: after.bids.slice(0, 3), asks: after.asks.slice(0, 3) } })}`);
          }
        }
      }
      report(failures);
    }, 300_000);

    it('counts binary frames, unknown streams and foreign messages', async () => {
      need();
      const own = casesOf((c) => /binary frame|unknown$|unknown stream|renamed|nesting|doubled/.test(c.name));
      const foreign = foreignFrames().map((f) => ({ name: f.name, input: f.input, expect: 'reject' as const, channel: 'ws' as const }));
      report(await run([...own, ...foreign]));
    }, 300_000);
  });
}
