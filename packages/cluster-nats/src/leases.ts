import type { KV } from '@nats-io/kv';
import { errorText, isServerRejection } from './errors.js';
import { listKeys } from './list-keys.js';
import { leaseKey, type LeaseTimings } from './names.js';
import type { ClusterStore } from './connect.js';
import type { Membership } from './membership.js';
import { assignKeysAmong } from './rendezvous.js';

/** Milliseconds on a monotonic clock (the injectable Clock's monoNs). */
export type MonoMs = () => number;

export interface LeaseEvent {
  kind: 'acquired' | 'released' | 'lost' | 'releasing';
  key: string;
  exchange: string;
  symbol: string;
  why: string;
  /** released / lost: wall ms at which the shard stopped counting it (a lapsed lease stopped before it was noticed). */
  endedAt?: number;
}

export interface LeaseManagerOptions {
  leases: KV;
  members: KV;
  shardId: string;
  /** Unique per process: a restarted shard with the same id never inherits a lease it cannot prove it renewed. */
  instance: string;
  timings: LeaseTimings;
  monoMs: MonoMs;
  wallMs: () => number;
  /** Symbols this shard may trade (the configured venues' symbols). */
  candidates: readonly { exchange: string; symbol: string }[];
  /** Lease changes, in order (the shard publishes them and cancels orders on a lost symbol). */
  onEvent(e: LeaseEvent): void;
  /** Open orders of this shard on a symbol: a handover waits for them to be gone. */
  openOrders(exchange: string, symbol: string): number;
  /** This shard's position in lots: a handover waits (up to handoverMs) for it to be flat. */
  position(exchange: string, symbol: string): number;
  /** Longest wait for a symbol being handed over to be flat and without orders. */
  handoverMs: number;
  /**
   * Whether position() and openOrders() tell what this shard holds. False while the shard's
   * engine has not restored its journal (they read 0 then: empty, not flat): no handover starts
   * or ends meanwhile (renewals and acquisitions go on), and a lease lost then counts as lost with
   * a position ("Stranded positions") until the engine can say. Absent: always known.
   */
  positionsKnown?(): boolean;
  /**
   * Whether this shard can place an order that reduces a position now. False during a HALT (the
   * cluster's, one observed but not applied yet, or the engine's own HALTED state until resumed
   * locally): every order is refused, reducing ones included, so a handover's wait for flat cannot
   * succeed. Then a handover of a symbol with a position or open orders does not start, and one
   * under way does not time out: its wait starts again once this is true. Absent: always.
   */
  canFlatten?(): boolean;
  onError(message: string): void;
  /** The shard's membership (an epoch-fenced lease on its id); without it a plain heartbeat `put`. */
  membership?: Membership;
  /**
   * The cluster's store upkeep (openCluster's `store`; its `timings` should be the ones passed
   * here): a round whose calls fail asks it whether the server lost the buckets (and has them
   * recreated), and a recreated lease bucket is made to keep keys at least this process's
   * lifetime before any lease is taken from it. Without it neither happens (tests on a fake KV).
   */
  store?: Pick<ClusterStore, 'recover' | 'keep'>;
}

interface Held {
  exchange: string;
  symbol: string;
  revision: number;
  /** Monotonic ms until which trading on it is allowed (renewal send time + ttl - margin). */
  validUntil: number;
  /** Set when handing it over to its preferred shard: no new orders, waits for open ones. */
  releasingSince?: number;
  /** Fires at validUntil: drops the lease (and so cancels its orders) whatever a round is waiting on. */
  expiry?: NodeJS.Timeout;
}

/**
 * Symbol leases in a NATS KV bucket whose max_age is the lease lifetime (nats-server 2.9 has no
 * per-key TTL). A shard creates a free key atomically (`kv.create`), renews it by revision
 * (`kv.update` compare-and-set) every tick, and counts it only until the last successful renewal's
 * send time + ttl - margin: the server's copy was written after that send, so it cannot expire
 * earlier, and no other shard can create the key before it expires. Hence two live shards never
 * hold one symbol at once, even if this process stalls or loses the server.
 *
 * Symbols are spread over the live shards (rendezvous hashing with a capacity bound, the same
 * answer on every shard); a free symbol its assigned shard has not taken within two ticks goes to
 * any shard; a shard holding a symbol assigned to another live shard hands it over: only orders
 * that reduce the position pass while it waits (up to handoverMs) for the position to be flat and
 * its orders gone, then it deletes the key; with orders still open at the timeout it stops
 * counting the lease and leaves the key to expire by max_age, as stop() does. A symbol whose lease
 * was lost (not let go) while this shard held a position on it is taken back once free, ahead of
 * the assignment, unless another process held it meanwhile; a symbol let go is never taken back
 * for its position, so at most one shard ever competes with the assignment for it, once.
 */
export class LeaseManager {
  private readonly held = new Map<string, Held>();
  private readonly freeSince = new Map<string, number>();
  private readonly memberSince = new Map<string, number>();
  private readonly byKey = new Map<string, { exchange: string; symbol: string }>();
  /**
   * Keys whose lease this shard lost involuntarily (not renewed in time, renewal refused) while
   * holding a position on the symbol, and that no other process has held since: the only ones it
   * takes back ahead of the assignment (the stranded-position rule). A lease it let go itself (a
   * handover, also one that timed out not flat; a stop) is not here: taking that symbol back from
   * the shard it was handed to made the two trade it back and forth.
   */
  private readonly stranded = new Set<string>();
  private ticks = 0;
  private stopped = false;
  /** The lease bucket's stream creation time as last seen (its identity: it changes when the bucket is recreated). */
  private bucketCreated: string | undefined;
  /** Monotonic ms before which no lease is taken: the bucket may be younger than a lease lifetime. */
  private quarantineUntil = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: LeaseManagerOptions) {
    for (const c of o.candidates) this.byKey.set(leaseKey(c.exchange, c.symbol), c);
  }

  /** The engine's gate: synchronous, no I/O. */
  holds(exchange: string, symbol: string): boolean {
    return this.state(exchange, symbol) === 'held';
  }

  /** 'releasing': still ours while being handed over; only orders that reduce the position go. */
  state(exchange: string, symbol: string): 'held' | 'releasing' | 'none' {
    const h = this.held.get(leaseKey(exchange, symbol));
    if (h === undefined || this.o.monoMs() >= h.validUntil) return 'none';
    return h.releasingSince === undefined ? 'held' : 'releasing';
  }

  /** Keys held right now (for published state). */
  heldKeys(): string[] {
    const now = this.o.monoMs();
    return [...this.held.entries()].filter(([, h]) => h.releasingSince === undefined && now < h.validUntil).map(([k]) => k);
  }

  /** Keys held, being handed over included (what this shard is still responsible for). */
  heldCount(): number {
    return this.held.size;
  }

  get candidateCount(): number {
    return this.byKey.size;
  }

  private value(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ shard: this.o.shardId, instance: this.o.instance, ts: this.o.wallMs() }));
  }

  /** The member value without a Membership: with the keys this shard lists (as MemberDoc.keys). */
  private memberValue(): Uint8Array {
    return new TextEncoder().encode(JSON.stringify({ shard: this.o.shardId, instance: this.o.instance, ts: this.o.wallMs(), keys: [...this.byKey.keys()] }));
  }

  /**
   * The lease keys each other member lists (its member value's `keys`); undefined where a member
   * publishes none (an older version) or its value could not be read: it counts as listing all.
   */
  private async memberKeys(members: readonly string[]): Promise<Map<string, Set<string> | undefined>> {
    const out = new Map<string, Set<string> | undefined>();
    for (const m of members) {
      if (m === this.o.shardId) continue;
      try {
        const e = await this.o.members.get(m);
        const keys = e?.operation === 'PUT' ? (e.json<{ keys?: unknown }>().keys as unknown) : undefined;
        out.set(m, Array.isArray(keys) ? new Set(keys.filter((k): k is string => typeof k === 'string')) : undefined);
      } catch {
        out.set(m, undefined);
      }
    }
    return out;
  }

  /** One round: heartbeat, renew, hand over, take free symbols. Never throws. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    this.ticks++;
    const now = this.o.monoMs();
    if ((await this.heartbeat()) === 'unreachable') {
      // Most likely cut off from the server: no call would answer this round. Leases whose
      // validity ran out are dropped (the gate already shut them); the rest wait for next round.
      for (const [key, h] of [...this.held]) if (this.o.monoMs() >= h.validUntil) this.drop(key, h, 'lost', 'not renewed in time');
      // Or the server lost its store: then no call would ever answer until the buckets are back.
      await this.o.store?.recover();
      return;
    }
    await this.renewAll();
    let members: string[];
    let present: Set<string>;
    try {
      // Bounded: a listing that never ends (see listKeys) held up every later round, renewals included.
      const listMs = this.o.timings.tickMs;
      [members, present] = await Promise.all([listKeys(this.o.members, listMs), listKeys(this.o.leases, listMs).then((ks) => new Set(ks))]);
    } catch (err) {
      this.o.onError(`listing leases failed: ${errorText(err)}`);
      await this.o.store?.recover();
      return;
    }
    if (!members.includes(this.o.shardId)) members.push(this.o.shardId);
    for (const m of members) if (!this.memberSince.has(m)) this.memberSince.set(m, now);
    for (const m of [...this.memberSince.keys()]) if (!members.includes(m)) this.memberSince.delete(m);
    // A newcomer is preferred only once it has been seen for two ticks (no flapping at startup).
    const settled = members.filter((m) => m === this.o.shardId || now - this.memberSince.get(m)! >= 2 * this.o.timings.tickMs);
    // Each symbol only among the shards whose configs list it: handing one to a shard that can
    // never take it would leave it untraded for a round, then back here (configs that disagree).
    const lists = await this.memberKeys(settled);
    const assignment = assignKeysAmong([...this.byKey.keys()], (k) => settled.filter((m) => m === this.o.shardId || (lists.get(m)?.has(k) ?? true)));
    await this.handOver(assignment, now);
    if (this.ticks < 2) return; // let the other shards' heartbeats arrive before taking anything
    if (!(await this.bucketSettled())) return;
    for (const [key, c] of this.byKey) {
      if (this.held.has(key) || this.stopped) continue;
      if (present.has(key)) {
        this.freeSince.delete(key);
        // Another process took it since: the position stays stranded here (docs/scale-out.md).
        if (this.stranded.has(key) && (await this.heldByAnother(key))) this.stranded.delete(key);
        continue;
      }
      if (!this.freeSince.has(key)) this.freeSince.set(key, now);
      const mine = assignment.get(key) === this.o.shardId;
      // A position left here by a lease lost involuntarily (a stall, an outage), the key not held
      // by anyone since: take the symbol back as soon as it is free, so the position is managed
      // again (a handover then waits for it to be flat, and what it lets go is not taken back).
      // (A position not known yet, the engine restoring, is not flat: the claim stands.)
      if (this.stranded.has(key) && this.known() && this.o.position(c.exchange, c.symbol) === 0) this.stranded.delete(key);
      const stranded = this.stranded.has(key);
      const orphaned = now - this.freeSince.get(key)! >= 2 * this.o.timings.tickMs;
      if (mine || stranded || orphaned) await this.acquire(key, c, mine ? 'preferred' : stranded ? 'position held here' : 'orphaned');
    }
  }

  /**
   * Whether leases may be taken from the bucket as it is now. The no-two-holders argument assumes
   * the server keeps a key until its max_age; a server that lost its store (replicas = 1 on a lost
   * disk) forgets every key at once, and the bucket is recreated empty by whichever process opens
   * the cluster next, while a previous holder still counts its lease up to a lifetime after its
   * last renewal. So a bucket that may be younger than one lease lifetime is quarantined: no lease
   * is taken until the rest of that lifetime has passed on this process's monotonic clock. Its age
   * is bounded below by server timestamps only (last write - creation; nats-server 2.9 reports no
   * server time), so a bucket not written since it was created counts as brand new. With a store
   * the lifetime is the longest of this process's and any lease bucket's max_age it has seen
   * (holders with a longer takeover_ms counted theirs that long in the bucket before).
   *
   * The lifetime runs from when the answer that showed the bucket came back, not from the start
   * of the round: what the round did before (heartbeat, renewals, listings: each call may wait up
   * to its timeout) may have taken long, and a previous holder may have renewed in the old bucket
   * meanwhile, or while the status was asked. The server answered after any such renewal, so a
   * clock read once the answer is here is later than it.
   */
  private async bucketSettled(): Promise<boolean> {
    let created: string;
    let lastWrite: string;
    let now: number;
    try {
      const info = (await this.o.leases.status()).streamInfo;
      now = this.o.monoMs();
      created = info.created;
      lastWrite = info.state.last_ts;
    } catch (err) {
      this.o.onError(`reading the lease bucket's state failed: ${errorText(err)}`);
      await this.o.store?.recover();
      return false;
    }
    if (created !== this.bucketCreated) {
      const recreated = this.bucketCreated !== undefined;
      // Before a lease is counted in it: a bucket recreated by a process with a shorter
      // takeover_ms keeps keys for less than this one counts them (raised here, or the timings
      // shrink to it), and a holder in the bucket before counted its lease up to that bucket's
      // max_age, which may be longer than this process's lifetime. Unread: asked again next round.
      let longest = 0;
      if (this.o.store) {
        try {
          longest = (await this.o.store.keep()).leasesLongestMs;
        } catch (err) {
          this.o.onError(`reading the lease and member buckets' max_age failed: ${errorText(err)}`);
          return false;
        }
      }
      this.bucketCreated = created;
      const ageAtLeast = Math.max(0, Date.parse(lastWrite) - Date.parse(created)) || 0;
      const wait = Math.max(this.o.timings.ttlMs, longest) - ageAtLeast;
      this.quarantineUntil = now + wait;
      if (wait > 0) this.o.onError(`lease bucket ${recreated ? 'recreated (the NATS server lost its store?)' : 'created recently'}: no lease is taken for ${wait} ms, until any lease counted in an earlier bucket has run out`);
    }
    return now >= this.quarantineUntil;
  }

  /** Whether the key is held by another process (a shard of another id, or a restart of this one). */
  private async heldByAnother(key: string): Promise<boolean> {
    try {
      const e = await this.o.leases.get(key);
      if (e?.operation !== 'PUT') return false;
      return e.json<{ instance?: unknown }>().instance !== this.o.instance;
    } catch {
      return false; // unread: asked again next round
    }
  }

  private async heartbeat(): Promise<'ok' | 'unreachable' | 'taken'> {
    if (this.o.membership) return this.o.membership.beat();
    try {
      await this.o.members.put(this.o.shardId, this.memberValue());
      return 'ok';
    } catch (err) {
      this.o.onError(`membership heartbeat failed: ${errorText(err)}`);
      return 'unreachable';
    }
  }

  private async acquire(key: string, c: { exchange: string; symbol: string }, why: string): Promise<void> {
    const sent = this.o.monoMs();
    try {
      const revision = await this.o.leases.create(key, this.value());
      if (this.stopped) return; // stop() ran meanwhile: the key expires by max_age
      const h: Held = { ...c, revision, validUntil: sent + this.o.timings.ttlMs - this.o.timings.marginMs };
      this.held.set(key, h);
      this.armExpiry(key, h);
      this.freeSince.delete(key);
      this.stranded.delete(key); // held again: a later loss decides anew
      this.o.onEvent({ kind: 'acquired', key, ...c, why });
    } catch (err) {
      if (!isServerRejection(err)) this.o.onError(`taking lease ${key} failed: ${errorText(err)}`);
    }
  }

  private async renewAll(): Promise<void> {
    for (const [key, h] of [...this.held]) {
      if (this.held.get(key) !== h) continue; // dropped meanwhile (its validity ended): not ours to renew
      const sent = this.o.monoMs();
      try {
        const revision = await this.o.leases.update(key, this.value(), h.revision);
        // Dropped while the renewal was out (its validity ended first; its orders are cancelled):
        // the key, renewed, expires by max_age, and nobody else takes it before.
        if (this.held.get(key) !== h) continue;
        h.revision = revision;
        h.validUntil = sent + this.o.timings.ttlMs - this.o.timings.marginMs;
        this.armExpiry(key, h);
      } catch (err) {
        if (isServerRejection(err)) {
          // A renewal whose answer was lost (a timeout) may have been applied: then the key holds
          // this process's value at a later revision, and is still ours (as Membership does it).
          if (await this.recoverRevision(key, h)) continue;
          this.drop(key, h, 'lost', `renewal refused: ${errorText(err)}`);
        } else {
          this.o.onError(`renewing lease ${key} failed: ${errorText(err)}`);
          for (const [k, x] of [...this.held]) if (this.o.monoMs() >= x.validUntil) this.drop(k, x, 'lost', 'not renewed in time');
          return; // the rest would time out the same way; next round
        }
      }
    }
  }

  /**
   * After a refused renewal: whether the key still holds this process's lease. If so its revision
   * is adopted; the validity is not extended (the renewal that wrote it was sent at an unknown
   * time, at least a round ago): the next successful renewal does that, or the lease runs out.
   */
  private async recoverRevision(key: string, h: Held): Promise<boolean> {
    try {
      const e = await this.o.leases.get(key);
      if (e?.operation !== 'PUT' || e.json<{ instance?: unknown }>().instance !== this.o.instance) return false;
      h.revision = e.revision;
      return true;
    } catch {
      return false; // unread: dropped as refused, as before (the gate must not count a lease it cannot prove)
    }
  }

  private known(): boolean {
    return this.o.positionsKnown?.() ?? true;
  }

  private canFlatten(): boolean {
    return this.o.canFlatten?.() ?? true;
  }

  /** A position or open orders on the symbol: what a handover waits for to be gone. */
  private busy(h: Held): boolean {
    return this.o.openOrders(h.exchange, h.symbol) > 0 || this.o.position(h.exchange, h.symbol) !== 0;
  }

  private async handOver(assignment: ReadonlyMap<string, string>, now: number): Promise<void> {
    // Until the engine has restored its journal, position() and openOrders() read 0 whatever is
    // held: a handover started or ended then let a restored position go as if flat, on a symbol
    // this shard would not take back. Decided once they are known; the leases are renewed meanwhile.
    const known = this.known();
    // During a HALT no order passes, reducing ones included: a symbol let go when the wait ran out
    // left its position here, unmanaged (never taken back for it) while the new owner trades the
    // symbol after the resume. What is flat, without orders, still goes: nothing is left behind.
    const flattenable = this.canFlatten();
    for (const [key, h] of [...this.held]) {
      if (this.held.get(key) !== h) continue; // dropped meanwhile (validity ended): its orders may still fill, the key must stay
      const preferred = assignment.get(key) ?? this.o.shardId;
      if (h.releasingSince === undefined) {
        if (preferred === this.o.shardId || !known) continue;
        if (!flattenable && this.busy(h)) continue;
        h.releasingSince = now;
        this.o.onEvent({ kind: 'releasing', key, exchange: h.exchange, symbol: h.symbol, why: `preferred by ${preferred}` });
      }
      if (preferred === this.o.shardId) {
        // The other shard left before the handover finished: keep trading it.
        h.releasingSince = undefined;
        this.o.onEvent({ kind: 'acquired', key, exchange: h.exchange, symbol: h.symbol, why: 'handover cancelled' });
        continue;
      }
      if (!known) {
        // Not reached while the engine restores (no handover starts before); if ever, the wait
        // for flat starts again once the position is known, rather than timing out meanwhile.
        h.releasingSince = now;
        continue;
      }
      const waited = now - h.releasingSince;
      const open = this.o.openOrders(h.exchange, h.symbol);
      const busy = open > 0 || this.o.position(h.exchange, h.symbol) !== 0;
      if (busy && !flattenable) {
        // A HALT came during the handover: the wait for flat starts again once it is lifted here.
        h.releasingSince = now;
        continue;
      }
      if (busy && waited < this.o.handoverMs) continue;
      const left = this.o.position(h.exchange, h.symbol);
      const still = left !== 0 ? ` with a position of ${left} lots still held here (not flat after ${this.o.handoverMs} ms)` : '';
      if (open > 0) {
        // As in stop(): deleted now, the key would be created by the new owner in this same round
        // while those orders (their cancels just sent) can still fill. It stops counting here and
        // expires by max_age, which gives the venue a lease lifetime more.
        this.drop(key, h, 'released', `handed over to ${preferred}${still}, with ${open} order(s) still open here after ${this.o.handoverMs} ms: the key is left to expire by max_age (${this.o.timings.ttlMs} ms)`);
        continue;
      }
      await this.release(key, h, `handed over to ${preferred}${still}`);
    }
  }

  private async release(key: string, h: Held, why: string): Promise<void> {
    // Stop counting it before the key goes: once deleted, another shard may create it at once.
    this.drop(key, h, 'released', why);
    try {
      await this.o.leases.delete(key, { previousSeq: h.revision });
    } catch (err) {
      // Not deleted: it expires by max_age.
      if (!isServerRejection(err)) this.o.onError(`releasing lease ${key} failed: ${errorText(err)}`);
    }
  }

  /**
   * Drops the lease as lost when its validity ends, on a timer of its own: a lease round may be
   * waiting on calls that time out (each up to the KV client's timeout while cut off from the
   * server, and a round blocks the next), and the orders resting on the symbol must be cancelled
   * (onEvent 'lost') before the server expires the key and another shard may take it, one margin
   * later. The lease gate already refuses new orders from validUntil (state()). Re-armed by each
   * renewal; checked against the injected monotonic clock when it fires.
   */
  private armExpiry(key: string, h: Held): void {
    if (h.expiry !== undefined) clearTimeout(h.expiry);
    const wait = Math.max(0, Math.ceil(h.validUntil - this.o.monoMs()));
    h.expiry = setTimeout(() => {
      h.expiry = undefined;
      if (this.held.get(key) !== h) return;
      if (this.o.monoMs() < h.validUntil) return this.armExpiry(key, h); // the monotonic clock is behind the timer's
      try {
        this.drop(key, h, 'lost', 'not renewed in time (its validity ended before a renewal answered)');
      } catch (err) {
        this.o.onError(`dropping lease ${key} at the end of its validity failed: ${errorText(err)}`);
      }
    }, wait);
    h.expiry.unref?.();
  }

  private drop(key: string, h: Held, kind: 'lost' | 'released', why: string): void {
    if (this.held.get(key) !== h) return;
    this.held.delete(key);
    if (h.expiry !== undefined) clearTimeout(h.expiry);
    h.expiry = undefined;
    // Lost with a position here: taken back once free (unless another process takes it first).
    // Let go (released): never taken back for the position; only by the assignment, as any symbol.
    // A position not known yet (the engine restoring its journal) may be there: it counts as one.
    if (kind === 'lost' && (!this.known() || this.o.position(h.exchange, h.symbol) !== 0)) this.stranded.add(key);
    else this.stranded.delete(key);
    const mono = this.o.monoMs();
    const wall = this.o.wallMs();
    const endedAt = mono > h.validUntil ? Math.floor(wall - (mono - h.validUntil)) : wall;
    this.o.onEvent({ kind, key, exchange: h.exchange, symbol: h.symbol, why, endedAt });
  }

  /**
   * Clean stop: releases every lease so a live shard takes them at its next tick. The deletes go
   * out together: one after another, each waiting its timeout while the server is gone, they
   * took longer than a service manager's stop grace. `reachable` false (the connection is known
   * to be down): the leases stop counting here and are left to expire by max_age. A symbol on
   * which this shard still has orders open (cancels the venue did not confirm) is not released:
   * another shard would trade it while those orders can still fill; its key expires by max_age,
   * which gives the venue a lease lifetime more. Before the engine restored its journal
   * (`positionsKnown` false: a SIGTERM while the venues load their instruments) no key is deleted:
   * the journal may hold positions and orders on any of them (orders of an earlier run possibly
   * still working at the venue, never reconciled), so each is treated as one with orders open.
   */
  async stop(reachable = true): Promise<void> {
    this.stopped = true;
    if (!reachable) {
      for (const [key, h] of [...this.held]) this.drop(key, h, 'released', 'shard stopping (NATS unreachable: the key expires by max_age)');
      return;
    }
    if (!this.known()) {
      for (const [key, h] of [...this.held]) {
        this.drop(key, h, 'released', `shard stopping before its engine restored its journal (positions and open orders unknown): the key is left to expire by max_age (${this.o.timings.ttlMs} ms)`);
      }
    }
    const releases: Promise<void>[] = [];
    for (const [key, h] of [...this.held]) {
      const open = this.o.openOrders(h.exchange, h.symbol);
      if (open > 0) this.drop(key, h, 'released', `shard stopping with ${open} order(s) still open here: the key is left to expire by max_age (${this.o.timings.ttlMs} ms)`);
      else releases.push(this.release(key, h, 'shard stopping'));
    }
    await Promise.all(releases);
    if (this.o.membership) return; // its owner ends it after giving budget back
    try {
      await this.o.members.delete(this.o.shardId);
    } catch {
      /* expires by max_age */
    }
  }
}

export { listKeys };
