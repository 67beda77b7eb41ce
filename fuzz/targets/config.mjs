/**
 * config: TOML configuration text through parseConfig (smol-toml, ${VAR} substitution, schema
 * validation and defaults), seeded with the reference app's real config files. A config either
 * loads or is refused with a ConfigError; anything else thrown is a crash. The environment holds
 * sentinel secrets behind every ${VAR} the seeds use: no message may ever contain one.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, parseConfig } from '@cwts/core/config';
import { Prng } from '../prng.mjs';
import { Mutator } from '../mutate.mjs';
import { FuzzFailure } from '../failure.mjs';

export const description = 'TOML config text -> parseConfig (parse, ${VAR}, validate)';

const SECRET = 'fuzzSentinelSecret7Q4vX';
const ENV = {
  FUZZ_SECRET: SECRET,
  BINANCE_API_KEY: `${SECRET}binanceKey`,
  BINANCE_API_SECRET: `${SECRET}binanceSecret`,
  KRAKEN_API_KEY: `${SECRET}krakenKey`,
  KRAKEN_API_SECRET: `${SECRET}krakenSecret`,
};

function seeds() {
  const dir = new URL('../../examples/reference-app/config/', import.meta.url);
  const sim = readFileSync(new URL('sim.toml', dir), 'utf8');
  const production = readFileSync(new URL('production.toml', dir), 'utf8');
  // a venue whose URL carries a credential, and a sim venue with a substituted option
  const credentialUrl = production.replace('api_url = "wss://stream.binance.com:9443/ws"', 'api_url = "wss://trader:${FUZZ_SECRET}@stream.binance.com:9443/ws"');
  const substitutedOption = sim.replace(/^seed = 42$/m, 'seed = "${FUZZ_SECRET}"');
  return [sim, production, credentialUrl, substitutedOption];
}

export async function create({ seed }) {
  const rng = new Prng(seed);
  const mut = new Mutator(new Prng(seed ^ 0x5bd1e995), 'toml');
  const list = seeds();
  const totals = { accepted: 0, refused: 0 };
  const check = (text) => {
    let messages;
    try {
      const loaded = parseConfig(text, ENV, 'fuzz.toml', '/nonexistent-fuzz-dir');
      totals.accepted++;
      messages = loaded.warnings.map(String);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      totals.refused++;
      messages = [err.message, JSON.stringify(err.issues ?? [])];
    }
    for (const m of messages) {
      if (m.includes(SECRET)) throw new FuzzFailure('secret-leak', `a config message contains a substituted secret: ${m.replace(new RegExp(SECRET, 'g'), '<SECRET>').slice(0, 300)}`);
    }
  };
  return {
    next() {
      const i = rng.int(list.length);
      return mut.mutate(list[i], `config-${i}`);
    },
    saved: (f) => f,
    run: check,
    reset() {},
    probe(f) {
      let best = Infinity;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        try {
          check(f);
        } catch {}
        best = Math.min(best, performance.now() - t0);
      }
      return best;
    },
    counts: () => ({ ...totals, mutations: Object.fromEntries(mut.ops) }),
  };
}
