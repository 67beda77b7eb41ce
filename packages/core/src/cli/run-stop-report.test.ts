/**
 * The last lines of a run in the state positions cannot be valued in (the fail-safe HALT of a
 * failed valuation: mark "last" and a trade price off the tick grid): the summary once threw there,
 * so `run` failed at the end of its stop and never said which positions it left at the venues.
 */
import { describe, expect, it } from 'vitest';
import { riskTestEngine, unvaluableRiskTestEngine } from '../engine/risk-test-engine.js';
import { logStopReport } from './run.js';

function capture() {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (obj: unknown, msg?: string) => void lines.push(typeof obj === 'string' ? { level, obj: {}, msg: obj } : { level, obj: obj as Record<string, unknown>, msg: String(msg) });
  return { lines, logger: { info: at('info'), warn: at('warn') } as unknown as Parameters<typeof logStopReport>[1] };
}

describe('run: the stop report', () => {
  it('while positions cannot be valued: counts with equity n/a and why, and the open position by quantity', async () => {
    const { engine } = await unvaluableRiskTestEngine();
    expect(() => engine.summary()).toThrow();
    const { lines, logger } = capture();
    logStopReport(engine, logger);
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn']);
    expect(lines[0]!.msg).toMatch(/^stopped: \d+ events, 0 signals, 1 orders, 1 fills, net PnL n\/a \(positions cannot be valued: .+\)$/);
    expect(lines[1]!.msg).toMatch(/^stopped with 1 open position\(s\) still held at the venues: v:BTCUSDT 0\.001 \(avg 50001, unrealized n\/a\); they are in the journal/);
  });

  it('a valued run: the summary with its equity, and flat', async () => {
    const { engine, trade } = await riskTestEngine();
    trade('buy', 1);
    trade('sell', 1, 5_000_000);
    const { lines, logger } = capture();
    logStopReport(engine, logger);
    expect(lines[0]!.msg).toMatch(/^stopped: \d+ events, 0 signals, 2 orders, 2 fills, net PnL -?\d+(\.\d+)?$/);
    expect(lines[1]).toMatchObject({ level: 'info', msg: 'stopped flat: no open positions' });
  });
});
