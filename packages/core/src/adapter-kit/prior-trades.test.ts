import { describe, expect, it } from 'vitest';
import { claimPriorTrades } from './prior-trades.js';

interface T {
  id: string;
  lots?: number;
}

/** Claims over `trades` with priorLots `prior`; the ids claimed and whether the claim is complete. */
function claim(trades: T[], prior: number): { ids: string[]; done: boolean } {
  const ids: string[] = [];
  const done = claimPriorTrades(trades, prior, (t) => t.lots, (t) => ids.push(t.id));
  return { ids, done };
}

describe('claimPriorTrades (an order first seen partly filled: its earliest trades are booked already)', () => {
  it('claims the earliest trades adding up to the prior lots and leaves the later ones to be booked', () => {
    expect(claim([{ id: 'a', lots: 2 }, { id: 'b', lots: 3 }, { id: 'c', lots: 4 }], 5)).toEqual({ ids: ['a', 'b'], done: true });
  });

  it('a lagging list that lacks some claims what it has and is not done: the next read claims the rest', () => {
    expect(claim([{ id: 'a', lots: 2 }], 5)).toEqual({ ids: ['a'], done: false });
    // the next read walks from the first trade again (claiming it again is harmless)
    expect(claim([{ id: 'a', lots: 2 }, { id: 'b', lots: 3 }, { id: 'c', lots: 1 }], 5)).toEqual({ ids: ['a', 'b'], done: true });
  });

  it('a trade past what is left stops the walk: the venue count and its trades disagree, what follows is booked as new', () => {
    expect(claim([{ id: 'a', lots: 2 }, { id: 'b', lots: 4 }, { id: 'c', lots: 1 }], 5)).toEqual({ ids: ['a'], done: false });
  });

  it('a trade that is not a fill (no lots, zero, negative, NaN) stops the walk too', () => {
    for (const lots of [undefined, 0, -1, Number.NaN]) {
      expect(claim([{ id: 'a', lots: 1 }, { id: 'bad', lots }, { id: 'c', lots: 1 }], 3)).toEqual({ ids: ['a'], done: false });
    }
  });

  it('an empty list claims nothing', () => {
    expect(claim([], 1)).toEqual({ ids: [], done: false });
  });
});
