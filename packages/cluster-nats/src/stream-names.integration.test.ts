/**
 * `[cluster] name` prefixes every bucket, stream and subject, so several clusters can share one
 * server without seeing each other. Buckets and subjects keep the name's case, but the stream name
 * was upper-cased: clusters `prod` and `PROD` both used stream CWTS_PROD, and openCluster for the
 * second found the first's stream by name and added none: nothing the second cluster published
 * (fills, orders, states, leases, budget) was stored, so its aggregator's restart read no shard's
 * last state and the 7-day record did not exist. Stream names now encode case (names.ts
 * streamName), an earlier version's stream is kept where it stores the cluster's subjects, and a
 * stream of the cluster's name that stores another cluster's subjects is an error.
 */
import { describe, expect, it } from 'vitest';
import { clusterConfigSchema } from '@cwts/core/cluster';
import { skipUnlessRequired } from '@cwts/core/testing';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { openCluster, type ClusterHandles } from './connect.js';
import { sharedNatsServer } from '../test/nats-server.js';

const nats = sharedNatsServer();
const mk = (name: string) => ({ ...clusterConfigSchema.parse({ name, servers: [nats.url()], takeover_ms: 2000 }), shard_id: 's1', budget_release_ms: 2000 });

/** Publishes a state message and reads it back from the cluster's stream (null: not stored). */
async function storedState(h: ClusterHandles, seq: number): Promise<unknown> {
  h.nc.publish(h.names.subject('state', 's1'), JSON.stringify({ shard: 's1', seq }));
  await h.nc.flush();
  const jsm = await jetstreamManager(h.nc);
  const end = Date.now() + 5000;
  for (;;) {
    try {
      const m = await jsm.streams.getMessage(h.names.stream, { last_by_subj: h.names.subject('state', 's1') });
      if (m.json<{ seq: number }>().seq === seq) return m.json();
    } catch {
      // not (yet) stored
    }
    if (Date.now() > end) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The stream an earlier version made for cluster `name` (upper-cased). */
async function legacyStream(name: string): Promise<void> {
  const nc = await connect({ servers: nats.url() });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: `CWTS_${name.toUpperCase()}`, subjects: [`cwts.${name}.>`], retention: RetentionPolicy.Limits, storage: StorageType.File });
  } finally {
    await nc.close();
  }
}

describe('cluster streams on one server', () => {
  it("store each cluster's messages when two names differ only in case", { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    const a = await openCluster(mk('prod'), 'shard-a');
    const b = await openCluster(mk('PROD'), 'shard-b');
    const c = await openCluster(mk('Prod'), 'shard-c');
    try {
      expect(new Set([a.names.stream, b.names.stream, c.names.stream]).size).toBe(3);
      expect(b.names.stream).toBe('CWTS_PROD'); // as earlier versions named it
      expect(await storedState(a, 1)).toMatchObject({ seq: 1 });
      expect(await storedState(b, 2), `cluster PROD's state message is in no stream`).toMatchObject({ seq: 2 });
      expect(await storedState(c, 3)).toMatchObject({ seq: 3 });
    } finally {
      await Promise.all([a.nc.close(), b.nc.close(), c.nc.close()]);
    }
  });

  it('keep the stream an earlier version made for the cluster (upper-cased name), with a notice', { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    await legacyStream('legacy');
    const h = await openCluster(mk('legacy'), 'shard');
    try {
      expect(h.names.stream).toBe('CWTS_LEGACY');
      expect(h.notices.join('\n')).toMatch(/CWTS_LEGACY \(named by an earlier version\) stores this cluster's subjects/);
      expect(await storedState(h, 7)).toMatchObject({ seq: 7 });
    } finally {
      await h.nc.close();
    }
  });

  it("refuse to start on a stream of the cluster's name that stores another cluster's subjects", { timeout: 60_000 }, async (ctx) => {
    if (nats.missing) skipUnlessRequired(ctx, 'nats-server', nats.missing);
    // An earlier version's cluster `clash` made CWTS_CLASH; a cluster `CLASH` is named to use that stream.
    await legacyStream('clash');
    await expect(openCluster(mk('CLASH'), 'shard')).rejects.toThrow(/stream CWTS_CLASH exists but stores \["cwts\.clash\.>"\], not cwts\.CLASH\.>: it belongs to another cluster/);
    // `clash` itself goes on with it.
    const h = await openCluster(mk('clash'), 'shard');
    try {
      expect(h.names.stream).toBe('CWTS_CLASH');
    } finally {
      await h.nc.close();
    }
  });
});
