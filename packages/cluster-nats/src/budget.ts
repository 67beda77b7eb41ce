import type { KV } from '@nats-io/kv';
import { errorText, isServerRejection } from './errors.js';
import { BUDGET_KEY } from './names.js';

/** The `budget` key: every shard's reservation of the global limit, in common units (quote x 10^-18), as decimal strings. */
export interface BudgetDoc {
  limit: string;
  shards: Record<string, string>;
}

export interface BudgetEvent {
  kind: 'reserved' | 'released' | 'refused';
  /** This shard's reservation after the change. */
  held: bigint;
  delta: bigint;
  /** Monotonic ms from the request to the committed compare-and-set. */
  latencyMs: number;
  attempts: number;
  why: string;
}

export interface BudgetLedgerOptions {
  control: KV;
  shardId: string;
  /** max_total_position in common units. */
  limit: bigint;
  chunk: bigint;
  /** Most this shard may hold (its fair share); default the whole limit. */
  cap?: () => bigint;
  monoMs: () => number;
  onEvent(e: BudgetEvent): void;
  onError(message: string): void;
}

const MAX_ATTEMPTS = 50;

/**
 * This shard's share of `max_total_position`. Reservations change only by compare-and-set on
 * one KV key holding every shard's share, and only when the new sum stays within the limit, so
 * the sum over shards never exceeds it. The engine reads `held` synchronously; growing it is a
 * background request (coalesced), and shrinking lowers `held` before the key is written, so the
 * shard never counts budget the key does not give it.
 */
export class BudgetLedger {
  /** What the engine may use now. */
  held = 0n;
  private inFlight: Promise<void> | undefined;
  private wanted = 0n;
  /** After a refusal, orders are refused locally for a moment instead of asking the server each time. */
  private quietUntil = 0;

  constructor(private readonly o: BudgetLedgerOptions) {}

  cap(): bigint {
    return this.o.cap?.() ?? this.o.limit;
  }

  /** Reads this shard's reservation left by a previous run of the same shard id (its positions are restored too). */
  async load(): Promise<void> {
    const e = await this.o.control.get(BUDGET_KEY);
    if (e && e.operation === 'PUT') this.held = BigInt(e.json<BudgetDoc>().shards[this.o.shardId] ?? '0');
  }

  /** Asks, in the background, for enough budget that `held` covers `need`. Never blocks. */
  request(need: bigint): void {
    if (need <= this.held || this.o.monoMs() < this.quietUntil) return;
    if (need > this.wanted) this.wanted = need;
    if (this.inFlight) return;
    this.inFlight = this.fill().finally(() => {
      this.inFlight = undefined;
      if (this.wanted > this.held) this.request(this.wanted);
    });
  }

  /** Idle for tests and stop. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async fill(): Promise<void> {
    const started = this.o.monoMs();
    const target = this.wanted;
    const shortBy = target - this.held;
    if (shortBy <= 0n) return;
    const chunks = (shortBy + this.o.chunk - 1n) / this.o.chunk;
    const ask = chunks * this.o.chunk;
    const cap = this.cap();
    const r = await this.change((mine, others, limit) => {
      const room = limit - others - mine;
      const share = cap - mine;
      let grant = ask < room ? ask : room;
      if (share < grant) grant = share;
      return grant > 0n ? mine + grant : undefined;
    });
    this.wanted = 0n;
    if (r === undefined) return;
    const latencyMs = this.o.monoMs() - started;
    if (r.next === undefined || r.next <= this.held) {
      this.quietUntil = this.o.monoMs() + 250;
      this.o.onEvent({ kind: 'refused', held: this.held, delta: 0n, latencyMs, attempts: r.attempts, why: `no room: the global budget is reserved by all shards, or this shard is at its share (${cap})` });
      return;
    }
    const delta = r.next - this.held;
    this.held = r.next;
    this.o.onEvent({ kind: 'reserved', held: this.held, delta, latencyMs, attempts: r.attempts, why: `needed ${target}` });
  }

  /**
   * Gives back what exceeds `keep()` (rounded up to whole chunks). `keep` is evaluated after any
   * refill in flight settled, in the same synchronous step that lowers `held`, so no order can
   * take exposure above the new figure in between.
   */
  async releaseDownTo(keep: () => bigint, why: string): Promise<void> {
    await this.settled();
    const k = keep();
    const target = k <= 0n ? 0n : ((k + this.o.chunk - 1n) / this.o.chunk) * this.o.chunk;
    if (target >= this.held) return;
    const started = this.o.monoMs();
    const before = this.held;
    this.held = target; // stop using it first, then give it back
    const r = await this.change(() => target);
    if (r === undefined) return; // the key still counts it for us: over-reserved, never over the limit
    this.o.onEvent({ kind: 'released', held: this.held, delta: target - before, latencyMs: this.o.monoMs() - started, attempts: r.attempts, why });
  }

  /** One compare-and-set loop on the budget key; `decide` returns this shard's new share or undefined for no change. */
  private async change(decide: (mine: bigint, others: bigint, limit: bigint) => bigint | undefined): Promise<{ next: bigint | undefined; attempts: number } | undefined> {
    for (let attempts = 1; attempts <= MAX_ATTEMPTS; attempts++) {
      try {
        const e = await this.o.control.get(BUDGET_KEY);
        const doc: BudgetDoc = e && e.operation === 'PUT' ? e.json<BudgetDoc>() : { limit: this.o.limit.toString(), shards: {} };
        // Shards configured with different limits: the smallest one binds everybody.
        const stored = BigInt(doc.limit);
        const limit = stored < this.o.limit ? stored : this.o.limit;
        const mine = BigInt(doc.shards[this.o.shardId] ?? '0');
        let others = 0n;
        for (const [id, v] of Object.entries(doc.shards)) if (id !== this.o.shardId) others += BigInt(v);
        const next = decide(mine, others, limit);
        if (next === undefined) return { next: undefined, attempts };
        const out: BudgetDoc = { limit: limit.toString(), shards: { ...doc.shards, [this.o.shardId]: next.toString() } };
        if (next === 0n) delete out.shards[this.o.shardId];
        const bytes = new TextEncoder().encode(JSON.stringify(out));
        if (e) await this.o.control.update(BUDGET_KEY, bytes, e.revision);
        else await this.o.control.create(BUDGET_KEY, bytes);
        return { next, attempts };
      } catch (err) {
        if (isServerRejection(err)) continue; // another shard wrote first: read again
        this.o.onError(`budget update failed: ${errorText(err)}`);
        return undefined;
      }
    }
    this.o.onError(`budget update gave up after ${MAX_ATTEMPTS} compare-and-set conflicts`);
    return undefined;
  }
}
