import type { KV } from '@nats-io/kv';
import { errorText, isServerRejection } from './errors.js';
import { listKeys } from './list-keys.js';
import { BUDGET_KEY } from './names.js';

/**
 * The `budget` key: every shard's reservation of the global limit, in common units (quote x
 * 10^-18), as decimal strings, and the membership epoch each reservation belongs to.
 */
export interface BudgetDoc {
  limit: string;
  shards: Record<string, string>;
  /** shard id -> the epoch (Membership) that may use its reservation. Absent in documents of older versions. */
  epochs?: Record<string, string>;
}

const UINT = /^\d+$/;

/** The budget key as read: what can be trusted, and what cannot. */
export interface ParsedBudget {
  /** The stored limit; undefined when the key holds none that reads as a non-negative integer. */
  limit: bigint | undefined;
  /** Every entry that reads as a non-negative integer (common units). */
  shards: Map<string, bigint>;
  /**
   * Shard ids whose entry does not (negative, fractional, not a string...): each counts as a
   * full reservation (the whole limit), never as less, so no shard can grow past it.
   */
  unreadable: string[];
  /** `shards` itself is missing or not an object: no entry is known, no reservation may change. */
  shardsUnreadable: boolean;
  /** Only the string tags. */
  epochs: Record<string, string>;
  /** What is wrong with the document, for logs and the aggregator's HALT; empty when it is sound. */
  problems: string[];
  /** The document as stored (entries of others are written back as they are). */
  raw: { shards: Record<string, unknown> };
}

/**
 * The one reader of the budget key (shards and the aggregator). Entries and the limit must be
 * decimal strings of non-negative integers (`/^\d+$/`), `shards` and `epochs` objects. It never
 * throws: `json` may (bad JSON), which makes the whole document unreadable.
 */
export function parseBudgetDoc(json: () => unknown): ParsedBudget {
  let raw: unknown;
  const problems: string[] = [];
  try {
    raw = json();
  } catch (err) {
    raw = undefined;
    problems.push(`not JSON (${errorText(err)})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
  const doc = isObject(raw) ? raw : undefined;
  if (!doc && problems.length === 0) problems.push(`not an object (${String(JSON.stringify(raw)).slice(0, 80)})`);
  const limitRaw = doc?.limit;
  const limit = typeof limitRaw === 'string' && UINT.test(limitRaw) ? BigInt(limitRaw) : undefined;
  if (doc && limit === undefined) problems.push(`limit ${JSON.stringify(limitRaw) ?? 'missing'} is not a non-negative integer`);
  const shards = new Map<string, bigint>();
  const unreadable: string[] = [];
  const shardsUnreadable = !isObject(doc?.shards);
  if (doc && shardsUnreadable) problems.push('shards is not an object');
  const rawShards = shardsUnreadable ? {} : (doc!.shards as Record<string, unknown>);
  for (const [id, v] of Object.entries(rawShards)) {
    if (typeof v === 'string' && UINT.test(v)) shards.set(id, BigInt(v));
    else {
      unreadable.push(id);
      problems.push(`entry of ${id} ${JSON.stringify(v) ?? 'undefined'} is not a non-negative integer (counted as the whole limit)`);
    }
  }
  const epochs: Record<string, string> = Object.create(null) as Record<string, string>; // no inherited names
  if (doc?.epochs !== undefined) {
    if (!isObject(doc.epochs)) problems.push('epochs is not an object');
    else for (const [id, v] of Object.entries(doc.epochs)) if (typeof v === 'string') epochs[id] = v;
  }
  return { limit, shards, unreadable, shardsUnreadable, epochs, problems, raw: { shards: rawShards } };
}

/** The sum of reservations as a shard must count it: every unreadable entry is the whole `limit`. */
export function reservedTotal(p: ParsedBudget, limit: bigint, except?: string): bigint {
  let sum = 0n;
  for (const [id, v] of p.shards) if (id !== except) sum += v;
  for (const id of p.unreadable) if (id !== except) sum += limit;
  return sum;
}

export interface BudgetEvent {
  /** reserved/released/refused: this shard's own; reclaimed: a dead shard's reservation put back in the pool by this shard. */
  kind: 'reserved' | 'released' | 'refused' | 'reclaimed';
  /** This shard's reservation in the key after the change (refused: what it may use now; reclaimed: 0, the dead shard's). */
  held: bigint;
  delta: bigint;
  /** Monotonic ms from the request to the committed compare-and-set. */
  latencyMs: number;
  attempts: number;
  why: string;
  /** The budget key's revision this change committed (orders every change of every shard). */
  revision?: number;
  /** reclaimed: whose reservation, and its epoch. */
  of?: string;
  epoch?: string;
}

/** A reclaim gives up on a members listing after this long (it is retried on the next round). */
export const RECLAIM_LIST_KEYS_MS = 1000;

export interface BudgetLedgerOptions {
  control: KV;
  /** The members bucket: a shard id without a key there has no valid epoch (reclaim). */
  members: KV;
  shardId: string;
  /** max_total_position in common units. */
  limit: bigint;
  chunk: bigint;
  /** Most this shard may hold (its fair share); default the whole limit. */
  cap?: () => bigint;
  /** This process's valid membership epoch (Membership.current). */
  epoch(): { epoch: string; validUntil: number } | undefined;
  /** A dead shard's reservation goes back to the pool this long after its member key is first seen gone (budget_release_ms - takeover_ms). */
  reclaimGraceMs?: number;
  /** The cluster is REDUCING (portfolio VaR above its limit): no reservation grows. */
  reducing?: () => boolean;
  monoMs: () => number;
  /** How long reclaim waits for the members bucket's key listing (default RECLAIM_LIST_KEYS_MS). */
  listKeysMs?: number;
  onEvent(e: BudgetEvent): void;
  onError(message: string): void;
}

const MAX_ATTEMPTS = 50;

/**
 * This shard's share of `max_total_position`. Reservations change only by compare-and-set on
 * one KV key holding every shard's share, and only when the new sum stays within the limit, so
 * the sum over shards never exceeds it. The engine reads `held` synchronously; growing it is a
 * background request (coalesced), and shrinking lowers it before the key is written, so the
 * shard never counts budget the key does not give it.
 *
 * Fencing: a reservation is tagged with the membership epoch that may use it, and `held` is
 * non-zero only while that epoch is this process's valid one. A new epoch (a restart, or this
 * process after its heartbeat lapsed) takes the entry over by compare-and-set before using any
 * of it. Any shard removes the entry of a shard id that has no member key (`reclaim`): the server
 * drops that key only after the epoch's own validity ended, and a later epoch's takeover moves
 * the key's revision, so the reclaim's compare-and-set fails (docs/scale-out.md, "Fencing").
 */
export class BudgetLedger {
  /** The amount the key gives to `tag` (as far as this process knows). */
  private amount = 0n;
  private tag: string | undefined;
  private inFlight: Promise<void> | undefined;
  private wanted = 0n;
  /** After a refusal, orders are refused locally for a moment instead of asking the server each time. */
  private quietUntil = 0;
  /** `<shard>|<epoch>` -> monotonic ms when its member key was first seen gone. */
  private readonly absentSince = new Map<string, number>();

  constructor(private readonly o: BudgetLedgerOptions) {}

  /** What the engine may use now: the reservation, while its epoch is this process's valid one. Synchronous. */
  get held(): bigint {
    const e = this.o.epoch();
    return e !== undefined && e.epoch === this.tag ? this.amount : 0n;
  }

  /** The epoch `held` is usable under right now, or undefined when `held` is 0 for want of one. */
  usableEpoch(): string | undefined {
    const e = this.o.epoch();
    return e !== undefined && e.epoch === this.tag ? this.tag : undefined;
  }

  cap(): bigint {
    return this.o.cap?.() ?? this.o.limit;
  }

  /**
   * Asks, in the background, for enough budget that `held` covers `need`. Never blocks.
   * `retag`: a new epoch began; take this shard id's entry over even if it already covers `need`
   * (a restart's positions are restored with it).
   */
  request(need: bigint, retag = false): void {
    const e = this.o.epoch();
    if (e === undefined) return; // no valid epoch: nothing may be reserved now
    if (!retag && e.epoch === this.tag && (need <= this.amount || this.o.monoMs() < this.quietUntil)) return;
    if (need > this.wanted) this.wanted = need;
    if (this.inFlight) return;
    this.serialized(() => this.fill());
  }

  /**
   * Runs one change at a time: a refill committing between a release's local lowering and its
   * write would otherwise raise the local figure above what the key ends up giving.
   */
  private serialized(op: () => Promise<void>): Promise<void> {
    const p = op().finally(() => {
      this.inFlight = undefined;
      if (this.wanted > this.held) this.request(this.wanted);
    });
    this.inFlight = p;
    return p;
  }

  /** Idle for tests and stop. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async fill(): Promise<void> {
    const started = this.o.monoMs();
    const target = this.wanted;
    this.wanted = 0n; // what is asked while this one is in flight is asked again after it
    const chunk = this.o.chunk;
    const cap = this.cap();
    const reducing = this.o.reducing?.() ?? false;
    const r = await this.change('grow', (mine, others, limit) => {
      const shortBy = target - mine;
      if (shortBy <= 0n || reducing) return mine; // a takeover of the entry (retag) changes nothing else
      const ask = ((shortBy + chunk - 1n) / chunk) * chunk;
      const room = limit - others - mine;
      const share = cap - mine;
      let grant = ask < room ? ask : room;
      if (share < grant) grant = share;
      return grant > 0n ? mine + grant : mine;
    });
    if (r === undefined) return;
    const latencyMs = this.o.monoMs() - started;
    if (r.next > r.before) {
      this.o.onEvent({ kind: 'reserved', held: r.next, delta: r.next - r.before, latencyMs, attempts: r.attempts, why: target > r.before ? `needed ${target}` : 'reservation taken over by this epoch', revision: r.revision });
    } else if (target > r.next) {
      this.quietUntil = this.o.monoMs() + 250;
      const why = reducing ? 'the cluster is REDUCING (portfolio VaR above cluster.max_var): no reservation grows' : `no room: the global budget is reserved by all shards, or this shard is at its share (${cap})`;
      this.o.onEvent({ kind: 'refused', held: this.held, delta: 0n, latencyMs, attempts: r.attempts, why, revision: r.revision });
    }
  }

  /**
   * Gives back what exceeds `keep()` (rounded up to whole chunks). `keep` is evaluated after any
   * refill in flight settled, in the same synchronous step that lowers `held`, so no order can
   * take exposure above the new figure in between.
   */
  async releaseDownTo(keep: () => bigint, why: string): Promise<void> {
    while (this.inFlight) await this.inFlight;
    // Nothing else runs between the wait above and this synchronous step.
    await this.serialized(async () => {
      const k = keep();
      const target = k <= 0n ? 0n : ((k + this.o.chunk - 1n) / this.o.chunk) * this.o.chunk;
      if (target >= this.amount || this.tag === undefined) return;
      const started = this.o.monoMs();
      const before = this.amount;
      this.amount = target; // stop using it first, then give it back
      const r = await this.change('shrink', () => target);
      if (r === undefined || !r.written) return; // the key still counts it: over-reserved, never over the limit
      this.o.onEvent({ kind: 'released', held: target, delta: target - before, latencyMs: this.o.monoMs() - started, attempts: r.attempts, why, revision: r.revision });
    });
  }

  /**
   * Puts back in the pool the reservation of every other shard id that has had no member key
   * for `reclaimGraceMs`. The budget key is read before the member list: a shard id seen without
   * a key after that read has no valid epoch, and any epoch that starts later must write the
   * budget key before it uses budget, which makes this compare-and-set fail. Never throws.
   */
  async reclaim(): Promise<void> {
    const started = this.o.monoMs();
    for (let attempts = 1; attempts <= MAX_ATTEMPTS; attempts++) {
      try {
        const e = await this.o.control.get(BUDGET_KEY);
        if (!e || e.operation !== 'PUT') return;
        const doc = parseBudgetDoc(() => e.json<unknown>());
        if (doc.shardsUnreadable) {
          this.o.onError(`budget reclaim skipped: the budget key is unreadable (${doc.problems.join('; ')})`);
          return;
        }
        // bounded: a listing of a bucket written meanwhile may never end (list-keys.ts), and the
        // shard's round awaits this reclaim
        const live = new Set(await listKeys(this.o.members, this.o.listKeysMs ?? RECLAIM_LIST_KEYS_MS));
        const now = this.o.monoMs();
        const dead: { id: string; amount: bigint; epoch: string }[] = [];
        const seen = new Set<string>();
        for (const id of Object.keys(doc.raw.shards)) {
          if (id === this.o.shardId || live.has(id)) continue;
          const epoch = doc.epochs[id] ?? '';
          const key = `${id}|${epoch}`;
          seen.add(key);
          if (!this.absentSince.has(key)) this.absentSince.set(key, now);
          if (now - this.absentSince.get(key)! >= (this.o.reclaimGraceMs ?? 0)) dead.push({ id, amount: doc.shards.get(id) ?? doc.limit ?? this.o.limit, epoch });
        }
        for (const k of [...this.absentSince.keys()]) if (!seen.has(k)) this.absentSince.delete(k);
        if (dead.length === 0) return;
        // The limit as stored (or the configured one where unreadable); others' entries as they are.
        const out = { limit: (doc.limit ?? this.o.limit).toString(), shards: { ...doc.raw.shards }, epochs: { ...doc.epochs } };
        for (const d of dead) {
          delete out.shards[d.id];
          delete out.epochs[d.id];
        }
        const revision = await this.o.control.update(BUDGET_KEY, encode(out), e.revision);
        const latencyMs = this.o.monoMs() - started;
        for (const d of dead) {
          this.absentSince.delete(`${d.id}|${d.epoch}`);
          this.o.onEvent({ kind: 'reclaimed', held: 0n, delta: -d.amount, latencyMs, attempts, why: `shard ${d.id} has no member key (epoch ${d.epoch || 'unknown'} expired)`, revision, of: d.id, epoch: d.epoch });
        }
        return;
      } catch (err) {
        if (isServerRejection(err)) continue; // the key moved: read both again
        this.o.onError(`budget reclaim failed: ${errorText(err)}`);
        return;
      }
    }
  }

  /**
   * One compare-and-set loop on the budget key. `grow` may write only under this process's valid
   * epoch, and takes this shard id's entry over for it; `shrink` writes only an entry still
   * tagged with the epoch this process last held it under. `decide` returns the new amount.
   */
  private async change(mode: 'grow' | 'shrink', decide: (mine: bigint, others: bigint, limit: bigint) => bigint): Promise<{ next: bigint; before: bigint; written: boolean; attempts: number; revision?: number } | undefined> {
    const id = this.o.shardId;
    for (let attempts = 1; attempts <= MAX_ATTEMPTS; attempts++) {
      const epoch = mode === 'grow' ? this.o.epoch()?.epoch : this.tag;
      if (epoch === undefined) return undefined;
      try {
        const e = await this.o.control.get(BUDGET_KEY);
        const doc = e && e.operation === 'PUT' ? parseBudgetDoc(() => e.json<unknown>()) : parseBudgetDoc(() => ({ limit: this.o.limit.toString(), shards: {} }));
        if (doc.shardsUnreadable) {
          this.quietUntil = this.o.monoMs() + 1000;
          this.o.onError(`budget key unreadable (${doc.problems.join('; ')}): no reservation changes until it is repaired`);
          return undefined;
        }
        // Shards configured with different limits: the smallest one binds everybody. A stored
        // limit that cannot be read is replaced by this shard's (the write repairs it).
        const stored = doc.limit ?? this.o.limit;
        const limit = stored < this.o.limit ? stored : this.o.limit;
        const entryEpoch = doc.epochs[id];
        const present = Object.hasOwn(doc.raw.shards, id);
        // Shrinking touches only an entry still ours: a reclaimed one is back in the pool already,
        // and one a later epoch took over is not ours to change.
        if (mode === 'shrink' && (!present || (entryEpoch !== undefined && entryEpoch !== epoch))) return undefined;
        const mineUnreadable = doc.unreadable.includes(id);
        if (mineUnreadable && mode === 'grow') {
          // What it gives us is unknown: use none of it (a shrink may still overwrite it lower).
          this.quietUntil = this.o.monoMs() + 1000;
          this.o.onError(`budget entry of ${id} is unreadable (${JSON.stringify(doc.raw.shards[id]) ?? 'undefined'}): this shard reserves nothing until it is repaired`);
          return undefined;
        }
        // An unreadable entry counts as the whole limit: fail safe, never negative.
        const mine = mineUnreadable ? limit : (doc.shards.get(id) ?? 0n);
        const others = reservedTotal(doc, limit, id);
        const decided = decide(mine, others, limit);
        const next = mode === 'shrink' && decided > mine ? mine : decided;
        const before = epoch === this.tag ? this.amount : 0n;
        if (next === mine && (entryEpoch === epoch || !present)) {
          if (mode === 'grow') this.set(epoch, mine);
          return { next, before, written: false, attempts, revision: e?.revision };
        }
        if (mode === 'grow' && this.o.epoch()?.epoch !== epoch) return undefined; // lapsed while reading
        const out = { limit: limit.toString(), shards: { ...doc.raw.shards, [id]: next.toString() }, epochs: { ...doc.epochs, [id]: epoch } };
        if (next === 0n) {
          delete out.shards[id];
          delete out.epochs[id];
        }
        const revision = e ? await this.o.control.update(BUDGET_KEY, encode(out), e.revision) : await this.o.control.create(BUDGET_KEY, encode(out));
        // A grow counts the new amount only from here; a shrink lowered it before writing.
        if (mode === 'grow') this.set(epoch, next);
        return { next, before, written: true, attempts, revision };
      } catch (err) {
        if (isServerRejection(err)) continue; // another shard wrote first: read again
        this.o.onError(`budget update failed: ${errorText(err)}`);
        return undefined;
      }
    }
    this.o.onError(`budget update gave up after ${MAX_ATTEMPTS} compare-and-set conflicts`);
    return undefined;
  }

  private set(epoch: string, amount: bigint): void {
    this.tag = epoch;
    this.amount = amount;
  }
}

const encode = (doc: BudgetDoc | { limit: string; shards: Record<string, unknown>; epochs: Record<string, string> }): Uint8Array => new TextEncoder().encode(JSON.stringify(doc));
