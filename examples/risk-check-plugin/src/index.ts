/**
 * `acme-risk-max-order-lots`: a risk plugin as a third party writes one. Enable it with
 *
 *   [risk_checks.fat_finger]
 *   plugin = "acme-risk-max-order-lots"
 *   max_lots = 50
 *   symbols = ["BTCUSDT"]     # optional; every symbol when absent
 *
 * Its check runs after core's built-in pre-trade chain. Only @cwts/core's public entries are
 * used: the root (contracts, manifest API, tokens) and `@cwts/core/config` (zod option checks
 * with core's messages).
 */
import { TOKENS, definePlugin } from '@cwts/core';
import { checkOptions } from '@cwts/core/config';
import { z } from 'zod';
import { MaxOrderLotsCheck } from './max-order-lots.js';

export { MaxOrderLotsCheck, type MaxOrderLotsSettings } from './max-order-lots.js';

const optionsSchema = z.strictObject({
  max_lots: z.number().int().positive(),
  symbols: z.array(z.string().min(1)).default([]),
});

export const plugin = definePlugin({
  name: 'acme-risk-max-order-lots',
  kind: 'risk',
  // The core API this plugin was built against and needs, as a literal. Never CORE_API_VERSION:
  // that is the installed core's (a peer dependency), so it would claim whatever core it is
  // installed beside and the loader's version check could never refuse it (docs/versioning.md).
  // 1.3: the check sets RiskCheck.parent (a routed parent is checked as a whole), which an older
  // core ignores.
  coreApi: '1.3',
  validateOptions(options, path) {
    const r = checkOptions(optionsSchema, options, path);
    return r.ok ? [] : r.issues;
  },
  register({ registrar, instanceName, config }) {
    // validateOptions ran before register (core guarantees it); parse again for the typed value.
    const o = optionsSchema.parse(config);
    registrar.value(TOKENS.RiskCheck, new MaxOrderLotsCheck(instanceName, { maxLots: o.max_lots, symbols: o.symbols }));
  },
});
