import type { NatsConnection } from '@nats-io/transport-node';
import type { ClusterNames, PublishedKind } from './names.js';

/**
 * Publishes on the cluster's subjects (captured by its JetStream stream). `nc.publish` only
 * queues bytes on the connection, so the engine thread never waits on the network; while the
 * connection is down the client buffers, and past its buffer messages are dropped (and
 * counted): the journal, not the stream, is the record of what a shard did.
 */
export class ShardPublisher {
  private seq = 0;
  dropped = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: ClusterNames,
    private readonly shardId: string,
    private readonly instance: string,
    private readonly wallMs: () => number,
  ) {}

  publish(kind: PublishedKind, body: Record<string, unknown>): void {
    const msg = { shard: this.shardId, instance: this.instance, seq: ++this.seq, ts: this.wallMs(), ...body };
    try {
      this.nc.publish(this.names.subject(kind, this.shardId), JSON.stringify(msg, bigintText));
    } catch {
      this.dropped++;
    }
  }
}

export function bigintText(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
