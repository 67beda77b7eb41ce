import type { KV } from '@nats-io/kv';
import type { ClusterStore } from './connect.js';
import { errorText, isServerRejection } from './errors.js';
import type { LeaseTimings } from './names.js';

/** The member key's value: who holds the shard id, and in which epoch. */
export interface MemberDoc {
  shard: string;
  instance: string;
  epoch: string;
  ts: number;
  /** The lease keys this shard's config lists: symbols are only assigned to shards that list them. */
  keys?: string[];
}

export interface MembershipOptions {
  members: KV;
  shardId: string;
  instance: string;
  timings: LeaseTimings;
  monoMs: () => number;
  wallMs: () => number;
  /** A new epoch became valid (`epoch` set) or the current one ended (`epoch` undefined). */
  onEpoch(epoch: string | undefined, why: string): void;
  onError(message: string): void;
  /** The lease keys this shard may take (published in the member value). */
  candidateKeys?: readonly string[];
  /**
   * openCluster's `store` (its `timings` should be the ones passed here): an epoch begun in a
   * members bucket that keeps keys for less than this process counts them (recreated by a process
   * with a shorter takeover_ms after a store loss) has the bucket raised, or the timings shrunk,
   * before it counts; an epoch whose bucket cannot be read then is not begun. Without it, neither.
   */
  store?: Pick<ClusterStore, 'keep'>;
}

/**
 * This process's membership of the cluster: a lease on the key `<shard_id>` in the members
 * bucket (max_age = lease lifetime), with the same rules as a symbol lease. It is created with
 * `kv.create` (so a shard id is held by one process at a time), renewed by revision, and counts
 * only until the last renewal's send time + lifetime - margin. Each unbroken run of renewals is
 * an **epoch** (`<instance>.<n>`); once a renewal lapses locally, or the server refuses one, the
 * epoch is over for good, and the next create starts a new one. The budget ledger uses budget
 * only under the current valid epoch; others may reclaim a shard's budget once its member key
 * is gone, which the server does only after the epoch's validity ended (docs/scale-out.md).
 */
export class Membership {
  private revision: number | undefined;
  private epochId: string | undefined;
  private validUntil = 0;
  private count = 0;
  private takenWarned = false;
  private startRevision: number | undefined;
  private startBucketCreated: number | undefined;

  constructor(private readonly o: MembershipOptions) {}

  /** The valid epoch, or undefined (never joined, lapsed, or the shard id is held by another process). Synchronous. */
  current(): { epoch: string; validUntil: number } | undefined {
    if (this.epochId === undefined || this.o.monoMs() >= this.validUntil) return undefined;
    return { epoch: this.epochId, validUntil: this.validUntil };
  }

  /**
   * The members-bucket revision that began this process's latest epoch (kept after it ended):
   * server-assigned and increasing, so it orders two processes of one shard id (the aggregator).
   * Undefined until the bucket it counts in is known (epochBucketCreated): a revision without its
   * bucket once ranked this process in "the oldest bucket", below the process it replaced, and
   * the aggregator ignored it for its whole life.
   */
  epochRevision(): number | undefined {
    return this.startBucketCreated === undefined ? undefined : this.startRevision;
  }

  /**
   * When the members bucket that epochRevision counts in was created (server ms; undefined until
   * it could be read: asked again at every successful heartbeat): revisions restart in a
   * recreated bucket, so this ranks first.
   */
  epochBucketCreated(): number | undefined {
    return this.startBucketCreated;
  }

  /**
   * Right after the create or renewal that proved the key ours: the renewals chain by revision
   * from the epoch's first one, so the bucket read now is the one that revision counts in (unless
   * it is recreated in between, and then the next renewal is refused and a new epoch begins).
   * `sent`: the epoch just began at that send time, and its validity must fit what the bucket
   * keeps (checkKept). False: that check could not be made (with a store only).
   */
  private async readBucketCreated(sent?: number): Promise<boolean> {
    let status: Awaited<ReturnType<KV['status']>>;
    try {
      status = await this.o.members.status();
      const t = Date.parse(status.streamInfo.created);
      if (Number.isSafeInteger(t)) this.startBucketCreated = t;
    } catch (err) {
      if (sent === undefined || !this.o.store) return true; // still unknown: asked again at the next successful heartbeat
      this.o.onError(`reading the members bucket after joining failed (${errorText(err)}): the epoch is not begun (tried again next heartbeat)`);
      return false;
    }
    return sent === undefined || this.checkKept(sent, status.ttl);
  }

  /**
   * The member key written at `sent` lives until at least `sent + haveMs` (the bucket's max_age
   * when read right after): where that is shorter than the lifetime this process counts (a bucket
   * recreated by a process with a shorter takeover_ms), the store raises the bucket (or shrinks
   * the timings to it) before the epoch counts. A raise answered before the key could expire
   * keeps it the raised max_age; one answered later may have come too late, and then the epoch
   * counts only as long as the key was sure to live. Unraised, unread: the epoch is not begun.
   */
  private async checkKept(sent: number, haveMs: number): Promise<boolean> {
    const store = this.o.store;
    if (!store || !(haveMs > 0) || haveMs >= this.o.timings.ttlMs) return true;
    try {
      await store.keep();
    } catch (err) {
      this.o.onError(`the members bucket keeps keys ${haveMs} ms, less than the ${this.o.timings.ttlMs} ms this process counts, and reading or raising it failed (${errorText(err)}): the epoch is not begun (tried again next heartbeat)`);
      return false;
    }
    const answered = this.o.monoMs();
    const t = this.o.timings;
    this.validUntil = sent + t.ttlMs - t.marginMs;
    // The margin of a lifetime of haveMs (names.ts: leaseTimingsWithin's proportion).
    const sure = sent + haveMs - Math.round(haveMs * 0.2);
    if (answered >= sure) this.validUntil = Math.min(this.validUntil, sure);
    return true;
  }

  /** An epoch whose bucket could not be checked: dropped before anyone was told of it (the key, ours, is taken over by the next one). */
  private unbegin(): void {
    this.epochId = undefined;
    this.revision = undefined;
    this.validUntil = 0;
  }

  /**
   * One heartbeat. 'unreachable': the server did not answer (the epoch keeps its validity until
   * it runs out); 'taken': the member key belongs to another process (a previous run of this
   * shard id whose key has not expired yet, or a second process with the same id).
   */
  async beat(): Promise<'ok' | 'unreachable' | 'taken'> {
    const sent = this.o.monoMs();
    if (this.epochId !== undefined && sent >= this.validUntil) this.end('heartbeat not renewed in time');
    try {
      if (this.epochId === undefined) {
        const epoch = `${this.o.instance}.${++this.count}`;
        this.revision = await this.o.members.create(this.o.shardId, this.value(epoch));
        this.startRevision = this.revision;
        this.startBucketCreated = undefined;
        this.epochId = epoch;
        this.validUntil = sent + this.o.timings.ttlMs - this.o.timings.marginMs;
        this.takenWarned = false;
        if (!(await this.readBucketCreated(sent))) {
          this.unbegin();
          return 'unreachable';
        }
        this.o.onEpoch(epoch, 'joined');
      } else {
        this.revision = await this.o.members.update(this.o.shardId, this.value(this.epochId), this.revision!);
        this.validUntil = sent + this.o.timings.ttlMs - this.o.timings.marginMs;
        if (this.startBucketCreated === undefined) await this.readBucketCreated();
      }
      return 'ok';
    } catch (err) {
      if (!isServerRejection(err)) {
        this.o.onError(`membership heartbeat failed: ${errorText(err)}`);
        return 'unreachable';
      }
      if (this.epochId !== undefined) {
        // A renewal whose answer was lost may have been applied: then the key is still ours.
        if (await this.recoverRevision()) return 'ok';
        this.end(`heartbeat refused: ${errorText(err)}`);
        return 'unreachable';
      }
      // Our own earlier epoch's key, not expired yet: that epoch is over here, so the new one may
      // take the key over by revision at once.
      const replaced = await this.replaceOwnKey(sent);
      if (replaced !== 'no') return replaced;
      if (!this.takenWarned) {
        this.takenWarned = true;
        this.o.onError(`shard id ${this.o.shardId} is held by ${await this.holder()}: this process reserves no budget until that key expires (a previous run, gone within the lease lifetime) or is released`);
      }
      return 'taken';
    }
  }

  /**
   * Clean stop: ends the epoch, then deletes the key so the budget can be reclaimed at once.
   * `reachable` false (the connection is known to be down): the key is left to expire by max_age.
   */
  async stop(reachable = true): Promise<void> {
    const rev = this.revision;
    if (this.epochId !== undefined) this.end('shard stopping');
    if (rev === undefined || !reachable) return;
    try {
      await this.o.members.delete(this.o.shardId, { previousSeq: rev });
    } catch {
      /* expires by max_age */
    }
  }

  private end(why: string): void {
    this.epochId = undefined;
    this.revision = undefined;
    this.validUntil = 0;
    this.o.onEpoch(undefined, why);
  }

  private async recoverRevision(): Promise<boolean> {
    try {
      const e = await this.o.members.get(this.o.shardId);
      if (!e || e.operation !== 'PUT' || e.json<MemberDoc>().epoch !== this.epochId) return false;
      this.revision = e.revision; // validity is not extended: the next renewal does that
      return true;
    } catch {
      return false;
    }
  }

  private async replaceOwnKey(sent: number): Promise<'ok' | 'unreachable' | 'no'> {
    try {
      const e = await this.o.members.get(this.o.shardId);
      if (!e || e.operation !== 'PUT' || e.json<MemberDoc>().instance !== this.o.instance) return 'no';
      const epoch = `${this.o.instance}.${++this.count}`;
      this.revision = await this.o.members.update(this.o.shardId, this.value(epoch), e.revision);
      this.startRevision = this.revision;
      this.startBucketCreated = undefined;
      this.epochId = epoch;
      this.validUntil = sent + this.o.timings.ttlMs - this.o.timings.marginMs;
      if (!(await this.readBucketCreated(sent))) {
        this.unbegin();
        return 'unreachable';
      }
      this.o.onEpoch(epoch, 'rejoined');
      return 'ok';
    } catch {
      return 'no';
    }
  }

  private async holder(): Promise<string> {
    try {
      const e = await this.o.members.get(this.o.shardId);
      return e && e.operation === 'PUT' ? `instance ${e.json<MemberDoc>().instance}` : 'another process';
    } catch {
      return 'another process';
    }
  }

  private value(epoch: string): Uint8Array {
    const doc: MemberDoc = { shard: this.o.shardId, instance: this.o.instance, epoch, ts: this.o.wallMs() };
    if (this.o.candidateKeys) doc.keys = [...this.o.candidateKeys];
    return new TextEncoder().encode(JSON.stringify(doc));
  }
}
