import { describe, expect, it } from 'vitest';
import { riskTestEngine, unvaluableRiskTestEngine } from '../engine/risk-test-engine.js';
import { riskCommand } from '../cli/risk.js';
import { RiskControlServer, controlRequest, type RiskControls } from './control.js';

/**
 * The fail-safe HALT of a failed valuation (risk-test-engine.ts unvaluableRiskTestEngine) is when
 * the operator reads GET /risk and presses halt: the metrics scrape answered (NaN) while every
 * JSON surface answered 500.
 */
const unvaluable = unvaluableRiskTestEngine;

const TOKEN = 'status-valuation-token-0123456789';

describe('risk status while the portfolio cannot be valued (fail-safe HALT)', () => {
  it('status() answers HALTED and why; equity and drawdown are null with the valuation error, the peak is kept', async () => {
    const { risk, metrics } = await unvaluable();
    expect(await metrics.text()).toMatch(/^cwts_risk_state 2$/m);
    const st = risk.status();
    expect(st).toMatchObject({ state: 'HALTED', equity: null, drawdownRatio: null, peakEquity: expect.any(String), maxDrawdown: expect.any(Number) });
    expect(st.reason).toMatch(/risk evaluation failed/);
    expect(st.valuationError).toMatch(/positions cannot be valued/);
    // and nothing else went missing: the VaR and the cash are still there
    expect(st).toHaveProperty('var');
    expect(st).toHaveProperty('cash');
  });

  it('status() says valuationError null while the portfolio can be valued', async () => {
    const { risk, trade } = await riskTestEngine();
    trade('buy', 1);
    const st = risk.status();
    expect(st.valuationError).toBeNull();
    expect(st.equity).toEqual(expect.any(String));
    expect(st.drawdownRatio).toEqual(expect.any(Number));
  });

  it('POST /risk/halt answers 200 for the halt that took effect (exit 0 for `cwts-ultra risk halt`), GET /risk answers 200', async () => {
    const { risk, engine } = await unvaluable();
    const server = new RiskControlServer(risk, { token: TOKEN });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const halt = await controlRequest(`http://127.0.0.1:${port}`, 'halt', { token: TOKEN, reason: 'operator' });
      expect(halt.status, JSON.stringify(halt.body)).toBe(200);
      expect(halt.body).toMatchObject({ state: 'HALTED', equity: null });
      expect(engine.riskState.state).toBe('HALTED');
      const status = await controlRequest(`http://127.0.0.1:${port}`, 'status', { token: TOKEN });
      expect(status.status, JSON.stringify(status.body)).toBe(200);
      expect(status.body).toMatchObject({ state: 'HALTED', valuationError: expect.stringMatching(/cannot be valued/) });
      // `cwts-ultra risk status` says n/a and why, never "drawdown 0.00%"
      const out: string[] = [];
      expect(await riskCommand('status', { url: `http://127.0.0.1:${port}`, env: { CWTS_CONTROL_TOKEN: TOKEN } }, (l) => out.push(l))).toBe(0);
      expect(out[1]).toMatch(/^ {2}equity n\/a, peak \S+, drawdown n\/a \(max \d+\.\d\d%\), open orders \d+$/);
      expect(out[2]).toMatch(/^ {2}positions cannot be valued: .*cannot be valued/);
    } finally {
      await server.close();
    }
  });
});

describe('RiskControlServer: a status that throws', () => {
  class ThrowingStatus implements RiskControls {
    halted = 0;
    halt() { this.halted++; }
    reduce() {}
    resume() { return 'ACTIVE' as const; }
    status(): Record<string, unknown> { throw new Error('cannot be valued'); }
  }

  it('does not turn an applied action into a 500; GET /risk answers 500 with the error', async () => {
    const controls = new ThrowingStatus();
    const server = new RiskControlServer(controls, { token: TOKEN });
    const port = await server.listen(0, '127.0.0.1');
    try {
      const halt = await controlRequest(`http://127.0.0.1:${port}`, 'halt', { token: TOKEN });
      expect(controls.halted).toBe(1);
      expect(halt).toEqual({ status: 200, body: { action: 'halt', applied: true, error: 'risk status failed: cannot be valued' } });
      const resume = await controlRequest(`http://127.0.0.1:${port}`, 'resume', { token: TOKEN });
      expect(resume).toEqual({ status: 200, body: { action: 'resume', applied: true, state: 'ACTIVE', error: 'risk status failed: cannot be valued' } });
      const status = await controlRequest(`http://127.0.0.1:${port}`, 'status', { token: TOKEN });
      expect(status).toEqual({ status: 500, body: { error: 'risk status failed: cannot be valued' } });
      // the CLI reports the halt as applied (exit 0), and what it could not read
      const out: string[] = [];
      expect(await riskCommand('halt', { url: `http://127.0.0.1:${port}`, env: { CWTS_CONTROL_TOKEN: TOKEN } }, (l) => out.push(l))).toBe(0);
      expect(out).toEqual(['halt applied; the status could not be read: risk status failed: cannot be valued']);
    } finally {
      await server.close();
    }
  });
});
