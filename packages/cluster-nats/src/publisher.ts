import type { NatsConnection } from '@nats-io/transport-node';
import { errorText } from './errors.js';
import type { ClusterNames, PublishedKind } from './names.js';

/** A publish that failed: what, why, and how many of that kind failed since the last report. */
export interface PublishFailure {
  kind: PublishedKind;
  /** Larger than the server's max_payload: it never goes out, however long one waits. */
  oversized: boolean;
  bytes: number;
  error: string;
  /** Failures (of any kind) since the last one reported, this one included. */
  since: number;
}

/** At most one report (a log line and a count in cwts_errors_total) per this many wall ms. */
export const PUBLISH_FAILURE_REPORT_MS = 60_000;

/**
 * Publishes on the cluster's subjects (captured by its JetStream stream). `nc.publish` only
 * queues bytes on the connection, so the engine thread never waits on the network; while the
 * connection is down the client buffers, and past its buffer messages are dropped (and
 * counted): the journal, not the stream, is the record of what a shard did.
 *
 * A message larger than the server's max_payload (a state with many positions and marks) is
 * refused by the client every time: counted in `dropped` and `oversized`, and reported through
 * `onFailure` (the shard logs it and counts it in cwts_errors_total{component="cluster:publish"})
 * at most once per PUBLISH_FAILURE_REPORT_MS, with the number since the last report: a count
 * inside the state message alone went unseen when the state was what could not be sent.
 */
export class ShardPublisher {
  private seq = 0;
  dropped = 0;
  /** Of `dropped`: larger than the server's max_payload. */
  oversized = 0;
  private unreported = 0;
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly nc: NatsConnection,
    private readonly names: ClusterNames,
    private readonly shardId: string,
    private readonly instance: string,
    private readonly wallMs: () => number,
    private readonly onFailure?: (f: PublishFailure) => void,
  ) {}

  publish(kind: PublishedKind, body: Record<string, unknown>): void {
    const msg = { shard: this.shardId, instance: this.instance, seq: ++this.seq, ts: this.wallMs(), ...body };
    let text = '';
    try {
      text = JSON.stringify(msg, bigintText);
      this.nc.publish(this.names.subject(kind, this.shardId), text);
    } catch (err) {
      this.dropped++;
      const error = errorText(err);
      const oversized = /max_payload/i.test(error);
      if (oversized) this.oversized++;
      this.unreported++;
      const now = this.wallMs();
      if (!this.onFailure || now - this.lastReport < PUBLISH_FAILURE_REPORT_MS) return;
      this.lastReport = now;
      const since = this.unreported;
      this.unreported = 0;
      try {
        this.onFailure({ kind, oversized, bytes: Buffer.byteLength(text), error, since });
      } catch {
        // a report that fails never reaches the engine thread's caller
      }
    }
  }
}

export function bigintText(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
