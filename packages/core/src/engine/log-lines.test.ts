import { describe, expect, it } from 'vitest';

import { defineInstrument } from '../domain/instrument.js';
import type { Signal } from '../domain/signal.js';
import { describeSignal } from './log-lines.js';

const BTC = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.00001' });
const signal = (price: number): Signal => ({ id: 's1', detector: 'cascade', kind: 'cascade_exhaustion', exchange: 'sim', symbol: 'BTCUSDT', direction: 1, strength: 0.5, ts: 0, evidence: { price } }) as Signal;

describe('signal log line', () => {
  it('prints a whole-tick price and a mid between two ticks (a half tick) exactly, and never throws', () => {
    expect(describeSignal(signal(300546), BTC)).toMatch(/@ 3005\.46$/);
    // the reference app's detectors report mids: this threw inside the deferred log (RangeError from BigInt)
    expect(describeSignal(signal(300546.5), BTC)).toMatch(/@ 3005\.465$/);
    expect(describeSignal(signal(0.25), BTC)).toMatch(/@ 0\.25 ticks$/);
  });
});
