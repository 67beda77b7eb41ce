/**
 * A gauge with no figure reads NaN on /metrics (docs/monitoring.md, "Gauges that read NaN"; the
 * RiskStateUnknown alert is `cwts_risk_state != cwts_risk_state`). prom-client writes that value
 * as `Nan`, which the text exposition format spells `NaN` and strict parsers refuse: the scrape
 * says `NaN`, never `Nan`.
 */
import { describe, expect, it } from 'vitest';
import { unvaluableRiskTestEngine } from '../engine/risk-test-engine.js';
import { MetricsRegistry } from './metrics.js';

const samples = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

describe('/metrics: a gauge without a figure is spelled NaN', () => {
  it('positions that cannot be valued (the fail-safe HALT): cwts_equity and cwts_drawdown_ratio read NaN, no sample reads Nan', async () => {
    const { metrics } = await unvaluableRiskTestEngine();
    const text = await metrics.text();
    expect(samples(text).filter((l) => / Nan$/.test(l))).toEqual([]);
    expect(samples(text).filter((l) => /^cwts_(equity|drawdown_ratio) /.test(l))).toEqual(['cwts_drawdown_ratio NaN', 'cwts_equity NaN']);
  });

  it('a labelled gauge, the process metrics beside them, and a risk state not restored yet', async () => {
    const metrics = new MetricsRegistry({ processMetrics: true });
    metrics.riskState.set(Number.NaN);
    metrics.position.labels('v', 'BTCUSDT').set(Number.NaN);
    metrics.setComputed('valueAtRisk', () => Number.NaN);
    const text = await metrics.text();
    expect(samples(text).filter((l) => /\bNan\b/.test(l))).toEqual([]);
    expect(samples(text).filter((l) => /^cwts_.* NaN$/.test(l)).sort()).toEqual(['cwts_position{exchange="v",symbol="BTCUSDT"} NaN', 'cwts_risk_state NaN', 'cwts_var NaN']);
    // nothing else is touched: a HELP text keeps its words
    expect(text).toContain('# HELP cwts_risk_state Risk state: 0 ACTIVE, 1 REDUCING, 2 HALTED; NaN before the journal restore');
  });
});
