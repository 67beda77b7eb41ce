import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeEnvReferences, substituteEnv } from './env.js';
import { parseConfig } from './load.js';

const BASE = '[exchanges]\nenabled = ["sim"]\n[risk]\nmax_position = 1\nmax_drawdown = 0.1\nkelly_fraction = 0.1\nvar_confidence = 0.9\n';

/** A TOML basic string literal for any JS string. */
const tomlString = (s: string) =>
  `"${[...s].map((ch) => {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\' || cp < 0x20 || cp === 0x7f) return `\\u${cp.toString(16).padStart(4, '0')}`;
    return ch;
  }).join('')}"`;

const envValue = fc.string({ unit: 'grapheme', maxLength: 40 });
/** Text around a reference: anything without a '$' (which could form a reference or escape). */
const plain = fc.string({ maxLength: 20 }).filter((s) => !s.includes('$'));

describe('substituteEnv', () => {
  it('round-trips any environment value through a config file', () => {
    fc.assert(
      fc.property(envValue.filter((s) => !s.includes('${')), plain, plain, (value, before, after) => {
        const text = `[system]\nname = "p"\nenvironment = ${tomlString(`${before}\${V}${after}`)}\n${BASE}`;
        const { config } = parseConfig(text, { V: value });
        expect(config.system.environment).toBe(before + value + after);
      }),
      { numRuns: 200 },
    );
  });

  it('does not rescan substituted values, so even values containing ${ round-trip', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        expect(substituteEnv('${V}', { V: value })).toEqual({ ok: true, value, substituted: true, used: ['V'] });
      }),
    );
  });

  it('leaves text without a reference alone', () => {
    fc.assert(
      fc.property(fc.string().filter((s) => !s.includes('${')), (s) => {
        expect(substituteEnv(s, {})).toEqual({ ok: true, value: s, substituted: false, used: [] });
      }),
    );
  });

  it('escapeEnvReferences is undone by substituteEnv', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('$', '{', '}', 'a', 'B', '_') }), (s) => {
        expect(substituteEnv(escapeEnvReferences(s), {})).toMatchObject({ ok: true, value: s });
      }),
      { numRuns: 500 },
    );
  });

  it('reports each missing name once, in order', () => {
    expect(substituteEnv('${A}${B}${A}$${C}', { B: 'b' })).toEqual({ ok: false, missing: ['A'], malformed: 0 });
    expect(substituteEnv('${A}-${1X}-${', {})).toEqual({ ok: false, missing: ['A'], malformed: 2 });
  });
});
