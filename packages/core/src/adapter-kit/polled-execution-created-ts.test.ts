import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { MemoryVenue, order as baseOrder, startPolled, until, view } from './polled-execution.fixture.js';

/**
 * Every read of one of our orders carries its creation time, as queryOrder's does: a venue whose
 * closed-order history answers only a recent span unless told where to look (Bybit: 7 days)
 * searches back to it. The poll and the lookup of an unknown submit asked without it, so an
 * order resting longer than that span that filled while we ran was never found again.
 */
const CREATED = 1_000;
const order = () => baseOrder({ createdTs: CREATED, updatedTs: CREATED });

async function setup() {
  const driver = new MemoryVenue();
  driver.cancel = async () => {
    throw new Error('venue refused the cancel');
  };
  // ten days after the order was made
  const { client, reports } = await startPolled(driver, { clock: new ManualClock(CREATED + 10 * 86_400_000) });
  return { client, driver, reports };
}

describe("PolledExecutionClient: an order's reads carry its creation time", () => {
  it('the poll of a working order, and its read after a refused cancel', async () => {
    const { client, driver, reports } = await setup();
    client.submit(order());
    await until(() => reports.some((r) => r.kind === 'ack'));
    driver.view = view();
    await client.reconcile('poll');
    client.cancel({ ...order(), venueOrderId: 'V1' });
    await until(() => driver.refs.length === 2);
    expect(driver.refs).toEqual([
      { symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'V1', createdTs: CREATED },
      { symbol: 'BTC/USD', clientOrderId: 'c1', venueOrderId: 'V1', createdTs: CREATED },
    ]);
    await client.stop();
  });

  it('the lookup by client id of a submit whose outcome is unknown', async () => {
    const { client, driver, reports } = await setup();
    driver.place = async () => {
      driver.view = view();
      throw Object.assign(new Error('request timed out'), { name: 'RequestTimeout' });
    };
    client.submit(order());
    await until(() => reports.some((r) => r.kind === 'ack'));
    expect(driver.refs[0]).toEqual({ symbol: 'BTC/USD', clientOrderId: 'c1', createdTs: CREATED });
    await client.stop();
  });
});
