import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { VenueErrorMap } from './errors.js';
import { MemoryVenue, fill, order, startPolled, until, view } from './polled-execution.fixture.js';

/**
 * What the polled client makes of answers that do not settle an order: a venue error that says
 * the outcome is unknown, a submit that fails after the driver spent a while, and a trade list
 * that lags the order's state at a restart. The driver is in memory; time is a ManualClock
 * (polls and retries run on short real timers, and the tests wait for what they produce).
 */
const errors = new VenueErrorMap('v', [
  { code: -1007, reason: 'VENUE_ERROR', outcomeUnknown: true, text: 'execution status unknown' },
  { code: -2010, reason: 'INSUFFICIENT_BALANCE' },
]);

class VenueError extends Error {
  constructor(readonly code: number) {
    super(`venue error ${code}`);
  }
}

async function setup(opts: { pollIntervalMs?: number; unknownOrderGraceMs?: number } = {}) {
  const driver = new MemoryVenue({ errors });
  const clock = new ManualClock(1000);
  const { client, reports } = await startPolled(driver, { clock, pollIntervalMs: opts.pollIntervalMs ?? 10, unknownOrderGraceMs: opts.unknownOrderGraceMs ?? 10_000 });
  return { client, driver, clock, reports };
}

describe('PolledExecutionClient: a venue answer that leaves the outcome unknown', () => {
  it('a submit answered with a code the venue documents as "execution status unknown" is asked for by client id and followed, not reported rejected', async () => {
    const { client, driver, reports } = await setup();
    driver.place = async () => {
      driver.view = view(); // the venue booked it all the same
      throw new VenueError(-1007);
    };
    client.submit(order());
    await until(() => reports.some((r) => r.kind === 'ack'));
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    driver.view = view({ filledQty: '0.010', state: 'filled' });
    driver.fills = [fill('T1', '0.010')];
    await until(() => reports.some((r) => r.kind === 'fill'));
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastQty])).toEqual([['T1', 10]]);
    await client.stop();
  });

  it("the venue's own refusal still rejects at once", async () => {
    const { client, driver, reports } = await setup();
    driver.place = async () => {
      throw new VenueError(-2010);
    };
    client.submit(order());
    await until(() => reports.length > 0);
    expect(reports[0]).toMatchObject({ kind: 'rejected', rejectReason: 'INSUFFICIENT_BALANCE' });
    await client.stop();
  });

  it('"never reached the venue" is judged from when the failure was seen, not from before the driver spent a while (e.g. reloading pairs) on its request', async () => {
    const { client, driver, clock, reports } = await setup({ unknownOrderGraceMs: 10_000 });
    driver.place = async () => {
      clock.advance(8_000); // the driver's own work before its request went out
      throw new Error('RequestTimeout: request timed out');
    };
    client.submit(order());
    await new Promise((r) => setTimeout(r, 80)); // a few by-client-id asks: unknown
    clock.advance(6_000); // 14 s after the submit began, 6 s after the failure
    await new Promise((r) => setTimeout(r, 80));
    expect(reports.filter((r) => r.kind === 'rejected')).toEqual([]);
    clock.advance(5_000); // 11 s after the failure
    await until(() => reports.some((r) => r.kind === 'rejected'));
    expect(reports[0]!.text).toMatch(/never reached the venue/);
    await client.stop();
  });

  it('"never reached the venue" is judged by when a lookup began: one begun inside the grace whose answer comes past it is no verdict', async () => {
    const { client, driver, clock, reports } = await setup({ unknownOrderGraceMs: 10_000 });
    driver.place = async () => {
      throw new Error('RequestTimeout: request timed out');
    };
    let lookups = 0;
    driver.fetchOrder = async () => {
      // The first lookup (several calls, each waiting for the venue's request budget) answers 20 s
      // after it began; the venue took the order (before its deadline) after the lookup's only
      // call that could have seen it working: the answer is "unknown".
      if (++lookups === 1) {
        clock.advance(20_000);
        driver.view = view();
        return undefined;
      }
      return driver.view && { ...driver.view };
    };
    client.submit(order());
    await until(() => reports.length > 0);
    expect(reports.map((r) => r.kind)).toEqual(['ack']);
    expect(lookups).toBeGreaterThanOrEqual(2);
    await client.stop();
  });
});

describe('PolledExecutionClient.queryOrder while the trade list lags the order (a restart)', () => {
  it('a working order: reported and followed as far as its listed trades book it; the trade listed later is booked by the poll', async () => {
    const { client, driver, reports } = await setup();
    driver.view = view({ filledQty: '0.005' });
    driver.fills = [fill('T1', '0.005')];
    driver.lagReads = 1;
    const st = await client.queryOrder(order({ venueOrderId: 'V1', status: 'open' }));
    expect(st).toMatchObject({ status: 'open', filledQty: 0, fills: [] });
    await until(() => reports.some((r) => r.kind === 'fill'));
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.lastQty, r.cumQty])).toEqual([['T1', 5, 5]]);
    await client.stop();
  });

  it('an order the venue shows filled: not reported final before its trades are booked; the missing one comes by the poll, then the end', async () => {
    const { client, driver, reports } = await setup();
    driver.view = view({ filledQty: '0.010', state: 'filled' });
    driver.fills = [fill('T1', '0.004'), fill('T2', '0.006')];
    driver.lagReads = 1;
    const st = await client.queryOrder(order({ venueOrderId: 'V1', status: 'open' }));
    expect(st).toMatchObject({ status: 'open', filledQty: 0, fills: [] });
    expect(client.workingOrders).toBe(1);
    await until(() => reports.filter((r) => r.kind === 'fill').length === 2);
    expect(reports.filter((r) => r.kind === 'fill').map((r) => [r.tradeId, r.cumQty, r.leavesQty])).toEqual([['T1', 4, 6], ['T2', 10, 0]]);
    await until(() => client.workingOrders === 0);
    await client.stop();
  });

  it('a trade list that agrees: the venue status as before (filled, with every trade listed)', async () => {
    const { client, driver } = await setup();
    driver.view = view({ filledQty: '0.010', state: 'filled' });
    driver.fills = [fill('T1', '0.010')];
    const st = await client.queryOrder(order({ venueOrderId: 'V1', status: 'open' }));
    expect(st).toMatchObject({ status: 'filled', filledQty: 10 });
    expect(st!.fills.map((f) => f.tradeId)).toEqual(['T1']);
    expect(client.workingOrders).toBe(0);
    await client.stop();
  });
});
