/**
 * Grouping an order's single fills into the taker matches Kraken's consolidated view lists as one
 * trade (src/taker-matches.ts): only matches timed before the driver started, named by the id
 * the consolidated view gives them.
 */
import { describe, expect, it } from 'vitest';
import { decimalAbove, hasTakerMatchBefore, takerMatchesOf, type MatchTrade } from '../src/taker-matches.js';

const START = 2_000_000; // ms
const at = (s: number, maker = false): MatchTrade => ({ time: s, maker });
const ids = (m: { id: string; members: [string, MatchTrade][] }[]) => m.map((x) => [x.id, x.members.map(([id]) => id)]);

describe('Kraken taker matches from before the start', () => {
  it('the consolidated view is asked for an order with two or more taker fills before the start', () => {
    expect(hasTakerMatchBefore([['A', at(1000)], ['B', at(1000)]], START)).toBe(true);
    expect(hasTakerMatchBefore([['A', at(1000)], ['B', at(1000.001)]], START)).toBe(true);
    expect(hasTakerMatchBefore([['A', at(1000)], ['M', at(1000, true)], ['N', at(1500, true)]], START)).toBe(false);
    expect(hasTakerMatchBefore([['A', at(1999)], ['B', at(2000)]], START)).toBe(false); // at the start: single fills
  });

  it("named by its first fill's id when the consolidated view lists that one (Kraken's, and the local server's, form)", () => {
    const singles: [string, MatchTrade][] = [['A', at(1000)], ['B', at(1000)], ['C', at(1000)], ['M', at(1500, true)]];
    expect(ids(takerMatchesOf(singles, ['A', 'B', 'C', 'M'], ['A', 'M'], START))).toEqual([['A', ['A', 'B', 'C']]]);
  });

  it('left as single fills when the consolidated view names the match by an id of no single fill (this version journaled them one by one)', () => {
    const singles: [string, MatchTrade][] = [['A', at(1000)], ['B', at(1000)], ['M', at(1500, true)]];
    // reported under X, the match looked new to a journal holding A and B: booked a second time at every restart
    expect(takerMatchesOf(singles, ['A', 'B', 'M'], ['X', 'M'], START)).toEqual([]);
  });

  it('nothing when the consolidated view lists every fill as itself; fills from the start on are never grouped', () => {
    const singles: [string, MatchTrade][] = [['A', at(1000)], ['B', at(1000)], ['D', at(2500)], ['E', at(2500)]];
    expect(takerMatchesOf(singles, ['A', 'B', 'D', 'E'], ['A', 'B', 'D', 'E'], START)).toEqual([]);
    expect(takerMatchesOf(singles, ['A', 'B', 'D', 'E'], ['A', 'B', 'D'], START)).toEqual([]);
  });

  it('fills of one match whose times differ: named by the one listed taker fill no later than they are', () => {
    const singles: [string, MatchTrade][] = [['A', at(1000)], ['B', at(1000.001)], ['C', at(1000.002)], ['M', at(1500, true)]];
    expect(ids(takerMatchesOf(singles, ['A', 'B', 'C', 'M'], ['A', 'M'], START))).toEqual([['A', ['A', 'B', 'C']]]);
    expect(takerMatchesOf(singles, ['A', 'B', 'C', 'M'], ['A', 'M'], START)[0]!.time).toBe(1000);
  });

  it('a match that no one listed id names fails: reported as fills, one a journal held as the match would look new', () => {
    // a maker fill is never consolidated: not listed, the view is not understood
    expect(() => takerMatchesOf([['A', at(1000)], ['M', at(1000, true)]], ['A', 'M'], ['A'], START)).toThrow(/maker fill M is not listed/);
    expect(() => takerMatchesOf([['A', at(1000)], ['B', at(1000)]], ['A', 'B'], [], START)).toThrow(/fills A, B are consolidated under no one trade id/);
    // two taker fills at that time listed as themselves: which one names the match is not known
    expect(() => takerMatchesOf([['A', at(1000)], ['B', at(1000)], ['C', at(1000)]], ['A', 'B', 'C'], ['A', 'B'], START)).toThrow(/no one trade id/);
    // a fill at its own time, two listed taker fills before it
    expect(() => takerMatchesOf([['A', at(990)], ['B', at(995)], ['C', at(1000)]], ['A', 'B', 'C'], ['A', 'B'], START)).toThrow(/no one trade id/);
    // two ids of no fill
    expect(() => takerMatchesOf([['A', at(1000)], ['B', at(1000)]], ['A', 'B'], ['X', 'Y'], START)).toThrow(/no one trade id/);
  });

  it('decimalAbove compares exactly, whatever the decimals written', () => {
    expect(decimalAbove('0.07', '0.04000000')).toBe(true);
    expect(decimalAbove('0.04', '0.04000000')).toBe(false);
    expect(decimalAbove('0.039999999', '0.04')).toBe(false);
    expect(decimalAbove('1', '0.99999999')).toBe(true);
    expect(decimalAbove('0', '0')).toBe(false);
  });
});
