import { describe, expect, it } from 'vitest';
import type { RiskCheck, RiskContext } from '../contracts/trading.js';
import type { OrderIntent } from '../domain/orders.js';
import { BuiltinCheckChain } from '../engine/builtin-plugins.js';
import { BTC, RISK, riskTestEngine } from '../engine/risk-test-engine.js';
import { ScriptedVenue } from '../engine/test-venue.js';
import { OrderRateCheck, runChain } from './checks.js';

const intent = (qty: number): OrderIntent => ({ exchange: 'v', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 5_000_000, qty, tif: 'GTC', source: 't' });
/** A plugin like examples/risk-check-plugin: a size cap, run after core's chain (as composeDeployment orders them). */
const maxLots: RiskCheck = { name: 'max_lots', parent: true, check: (i) => (i.qty > 50 ? { ok: false, reason: 'RISK_CUSTOM', message: 'max_lots: over 50 lots' } : { ok: true }) };

// one order a second, burst 1: the second order in the same engine-clock millisecond has no token
const setup = (venue?: ScriptedVenue) =>
  riskTestEngine({ risk: { ...RISK, orders_per_second: 1 } }, { venue, strategy: null, riskChecks: (risk) => [new BuiltinCheckChain(risk.checks), maxLots] });

describe('order_rate: only orders that go out spend a token', () => {
  it('an order a [risk_checks] plugin refuses after core\'s chain gets its token back', async () => {
    const { engine } = await setup();
    expect(engine.submit(intent(60))).toMatchObject({ accepted: false, reason: 'RISK_CUSTOM' });
    expect(engine.submit(intent(10))).toMatchObject({ accepted: true });
    // the token is spent now: the limit still holds
    expect(engine.submit(intent(10))).toMatchObject({ accepted: false, reason: 'RISK_RATE_LIMIT' });
  });

  it('an order the execution client could not send gets its token back', async () => {
    const venue = new ScriptedVenue('v', [BTC]);
    let fail = true;
    const submit = venue.submit.bind(venue);
    venue.submit = (o) => {
      if (fail) throw new Error('socket closed');
      submit(o);
    };
    const { engine } = await setup(venue);
    expect(engine.submit(intent(10))).toMatchObject({ accepted: false, reason: 'VENUE_ERROR' });
    fail = false;
    expect(engine.submit(intent(10))).toMatchObject({ accepted: true });
    expect(engine.submit(intent(10))).toMatchObject({ accepted: false, reason: 'RISK_RATE_LIMIT' });
  });

  it('runChain hands back the token when a check after order_rate refuses', () => {
    const ctx = { now: 1000 } as unknown as RiskContext;
    const rate = new OrderRateCheck(1);
    const chain = [rate, maxLots];
    expect(runChain(chain, intent(60), ctx)).toMatchObject({ ok: false, reason: 'RISK_CUSTOM' });
    expect(runChain(chain, intent(10), ctx)).toMatchObject({ ok: true });
    expect(runChain(chain, intent(10), ctx)).toMatchObject({ ok: false, reason: 'RISK_RATE_LIMIT' });
  });
});
