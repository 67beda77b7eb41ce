/**
 * A message larger than the server's max_payload is refused by the client every time it is
 * published (a state with many positions and marks: every state of the shard). It was only
 * counted in `dropped`, which travels inside the state message that could not be sent: nobody saw
 * it. It is now counted apart (`oversized`) and reported (the shard logs it and counts it in
 * cwts_errors_total{component="cluster:publish"}) at most once a minute, with how many since.
 */
import { describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { clusterNames } from './names.js';
import { PUBLISH_FAILURE_REPORT_MS, ShardPublisher, type PublishFailure } from './publisher.js';

const MAX_PAYLOAD = 1000;

/** A connection that, like the client, refuses a payload over the server's max_payload. */
function fakeNc(sent: string[]): NatsConnection {
  return {
    publish(_subject: string, data: string) {
      if (Buffer.byteLength(data) > MAX_PAYLOAD) throw new Error("'payload' max_payload size exceeded");
      sent.push(data);
    },
  } as unknown as NatsConnection;
}

describe('ShardPublisher', () => {
  it('counts a message over max_payload apart and reports it, at most once per interval, with how many since', () => {
    let now = 1_000_000;
    const sent: string[] = [];
    const reports: PublishFailure[] = [];
    const pub = new ShardPublisher(fakeNc(sent), clusterNames('pubtest'), 's1', 'i1', () => now, (f) => reports.push(f));
    const big = { positions: 'x'.repeat(2 * MAX_PAYLOAD) };
    pub.publish('state', big);
    expect(reports).toMatchObject([{ kind: 'state', oversized: true, since: 1, error: expect.stringMatching(/max_payload/) }]);
    expect(reports[0]!.bytes).toBeGreaterThan(MAX_PAYLOAD);
    // Every state interval fails the same way: counted, not reported again within the interval.
    for (let k = 0; k < 9; k++) {
      now += 1000;
      pub.publish('state', big);
    }
    pub.publish('fill', { qty: 1 }); // small messages still go
    expect(sent).toHaveLength(1);
    expect(reports).toHaveLength(1);
    expect(pub.dropped).toBe(10);
    expect(pub.oversized).toBe(10);
    now += PUBLISH_FAILURE_REPORT_MS;
    pub.publish('state', big);
    expect(reports).toHaveLength(2);
    expect(reports[1]).toMatchObject({ kind: 'state', oversized: true, since: 10 });
  });

  it('a report that throws never reaches the caller (the engine thread publishes orders and fills)', () => {
    const pub = new ShardPublisher(fakeNc([]), clusterNames('pubtest'), 's1', 'i1', () => 0, () => {
      throw new Error('logger gone');
    });
    expect(() => pub.publish('order', { big: 'x'.repeat(2 * MAX_PAYLOAD) })).not.toThrow();
    expect(pub.dropped).toBe(1);
  });
});
