/**
 * A venue trade list that would take an order past its size (a trade too many under another id,
 * or one larger than the rest of the order): the kit must not book it. Found by the bybit-exec
 * fuzz target (seed 1, fuzz frame 799: 901 of 743 lots booked). The venue is in memory; polls run
 * only when a test asks (reconcile), on a ManualClock.
 */
import { describe, expect, it } from 'vitest';
import { MemoryVenue, fill, flush, order, startPolled, view } from './polled-execution.fixture.js';

async function setup() {
  const venue = new MemoryVenue({ view: view() });
  const { client, reports } = await startPolled(venue);
  client.submit(order());
  await flush();
  const fills = () => reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty, r.leavesQty]);
  return { client, venue, reports, fills };
}

describe('PolledExecutionClient: a trade that would take an order past its size', () => {
  it('a trade too many (another id) is refused and counted; the order is filled at its size and nothing more', async () => {
    const { client, venue, reports, fills } = await setup();
    venue.view = view({ state: 'filled', filledQty: '0.010' });
    venue.fills = [fill('T1', '0.006'), fill('T2', '0.004'), fill('T3', '0.003')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 6, 4], ['T2', 10, 0]]);
    expect(client.invalidFills).toBe(1);
    expect(reports.filter((r) => r.kind === 'fill').reduce((n, r) => n + (r.lastQty ?? 0), 0)).toBe(10);
    await client.stop();
  });

  it('a trade larger than what is left is refused; the honest trade under the same id, read later, books', async () => {
    const { client, venue, fills } = await setup();
    venue.view = view({ state: 'open', filledQty: '0.006' });
    venue.fills = [fill('T1', '0.004'), fill('T2', '0.009')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 4, 6]]);
    expect(client.invalidFills).toBe(1);
    venue.fills = [fill('T1', '0.004'), fill('T2', '0.002')];
    await client.reconcile('poll');
    expect(fills()).toEqual([['T1', 4, 6], ['T2', 6, 4]]);
    await client.stop();
  });
});
