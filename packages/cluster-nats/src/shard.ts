import { randomUUID } from 'node:crypto';
import { formatScaled, type RiskCheck } from '@cwts/core';
import { type ClusterShard, type ClusterShardOptions } from '@cwts/core/cluster';
import { type Engine } from '@cwts/core/engine';
import { COMMON_EXPONENT, commonToDecimal, quoteToAtoms } from '@cwts/core/risk';
import { BudgetLedger, type BudgetEvent } from './budget.js';
import { openCluster, type ClusterHandles } from './connect.js';
import { errorText } from './errors.js';
import { worstGrossExposure } from './exposure.js';
import { BudgetGate, ClusterHaltGate, ClusterReduceGate, LeaseGate, readHaltDoc, type HaltDoc, type ReduceDoc } from './gates.js';
import { LeaseManager, type LeaseEvent } from './leases.js';
import { Membership } from './membership.js';
import { HALT_KEY, leaseTimings, REDUCE_KEY, type LeaseTimings } from './names.js';
import { positionsAndMarks } from './marks.js';
import { ShardPublisher } from './publisher.js';

export type { HaltDoc } from './gates.js';

/**
 * The longest a shard's stop() takes (leases, budget, member key, flush), so SIGTERM ends well
 * inside the service manager's 30 s stop grace even with NATS gone.
 */
export const STOP_DEADLINE_MS = 5000;

/**
 * One shard of a cluster: trades only the symbols it leases, within the share of the global
 * position budget it reserved, publishes what it does, and obeys the global HALT.
 */
export class NatsShard implements ClusterShard {
  readonly riskChecks: readonly RiskCheck[];
  readonly observer: ClusterShard['observer'];
  private readonly instance = randomUUID();
  private readonly monoMs: () => number;
  /** From the config until start(): then as the buckets really keep keys (openCluster). */
  private timings: LeaseTimings;
  /** `[cluster] budget_chunk` in common units (quote x 10^-18). */
  private readonly chunk: bigint;
  private h: ClusterHandles | undefined;
  private engine: Engine | undefined;
  private leases: LeaseManager | undefined;
  private membership: Membership | undefined;
  private ledger: BudgetLedger | undefined;
  private pub: ShardPublisher | undefined;
  private timers: NodeJS.Timeout[] = [];
  private leaseTick: Promise<void> | undefined;
  private haltWatch: { stop(): void } | undefined;
  private reduceWatch: { stop(): void } | undefined;
  /** Set while the cluster is REDUCING (the aggregator's `reduce` key). */
  private reducing: ReduceDoc | undefined;
  /** Set while the `halt` key is set: the `cluster_halt` gate refuses every order. */
  private clusterHalt: HaltDoc | undefined;
  /** A HALT this shard observed that its engine has not applied yet (the engine was not started). */
  private haltPending: HaltDoc | undefined;
  /** The revision the initial read of `halt` saw: the watch's first delivery repeats it. */
  private haltSeenAtStart: number | undefined;
  private haltRetry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** stop() ran past STOP_DEADLINE_MS and closed the connection. */
  private stopLate = false;
  /** False from a `disconnect` until a `reconnect` (the client's status events). */
  private connected = true;

  constructor(private readonly o: ClusterShardOptions) {
    const clock = o.clock;
    this.monoMs = () => Number(clock.monoNs() / 1000n) / 1000;
    this.timings = leaseTimings(o.cluster.takeover_ms);
    const max = o.cluster.max_total_position;
    this.chunk = max === undefined ? 0n : quoteToAtoms(o.cluster.budget_chunk ?? max / 10, COMMON_EXPONENT);
    // The global HALT first: nothing passes while it is set, whatever the engine's own state.
    const checks: RiskCheck[] = [new ClusterHaltGate(() => this.clusterHalt ?? this.haltPending), new LeaseGate((ex, sym) => this.leases?.state(ex, sym) ?? 'none'), new ClusterReduceGate(() => this.reducing)];
    if (o.cluster.max_total_position !== undefined) {
      checks.push(new BudgetGate(() => (this.engine && this.ledger ? { engine: this.engine, ledger: this.ledger } : undefined)));
    }
    this.riskChecks = checks;
    this.observer = {
      order: (ord) => this.pub?.publish('order', { clientOrderId: ord.clientOrderId, exchange: ord.exchange, symbol: ord.symbol, side: ord.side, qty: ord.qty, price: ord.price ?? null, lease: this.leases?.state(ord.exchange, ord.symbol) ?? 'none' }),
      fill: (r, i) => this.pub?.publish('fill', { clientOrderId: r.clientOrderId, exchange: r.exchange, symbol: r.symbol, side: r.side, price: r.lastPrice, qty: r.lastQty, fee: r.feeAtoms, position: this.engine?.positions.qty(r.exchange, r.symbol) ?? null, quote: i.quote }),
      riskState: (s, now) => this.pub?.publish('risk', { state: s.state, reason: s.reason, at: now }),
    };
  }

  async start(engine: Engine): Promise<void> {
    const c = this.o.cluster;
    const log = this.o.logger;
    this.engine = engine;
    this.h = await openCluster(c, `cwts-shard-${c.shard_id}`);
    const h = this.h;
    for (const n of h.notices) log.warn(`cluster ${c.name}: ${n}`);
    void (async () => {
      for await (const st of h.nc.status()) {
        if (st.type === 'disconnect') this.connected = false;
        else if (st.type === 'reconnect') this.connected = true;
      }
    })().catch(() => {});
    this.timings = h.timings;
    const wallMs = () => this.o.clock.now();
    this.pub = new ShardPublisher(h.nc, h.names, c.shard_id, this.instance, wallMs);
    this.membership = new Membership({
      members: h.members,
      shardId: c.shard_id,
      instance: this.instance,
      timings: this.timings,
      monoMs: this.monoMs,
      wallMs,
      onEpoch: (epoch, why) => this.onEpoch(epoch, why),
      onError: (m) => log.warn(m),
    });
    const candidates = this.o.loaded.config.venues.flatMap((v) => v.symbols.map((symbol) => ({ exchange: v.name, symbol })));
    this.leases = new LeaseManager({
      leases: h.leases,
      members: h.members,
      shardId: c.shard_id,
      instance: this.instance,
      timings: this.timings,
      monoMs: this.monoMs,
      wallMs,
      candidates,
      onEvent: (e) => this.onLeaseEvent(e),
      openOrders: (ex, sym) => engine.openOrders(ex, sym).length,
      position: (ex, sym) => engine.positions.qty(ex, sym),
      handoverMs: 3 * c.takeover_ms,
      onError: (m) => log.warn(m),
      membership: this.membership,
    });
    if (c.max_total_position !== undefined) {
      const limit = quoteToAtoms(c.max_total_position, COMMON_EXPONENT);
      const chunk = this.chunk;
      // A shard's share follows its symbols: limit x leased / candidates (at least one chunk).
      const cap = () => {
        const l = this.leases!;
        const share = (limit * BigInt(l.heldCount())) / BigInt(Math.max(1, l.candidateCount));
        return share > chunk ? share : chunk;
      };
      const membership = this.membership;
      this.ledger = new BudgetLedger({
        control: h.control,
        members: h.members,
        shardId: c.shard_id,
        limit,
        chunk,
        cap,
        epoch: () => membership.current(),
        reducing: () => this.reducing !== undefined,
        reclaimGraceMs: c.budget_release_ms - c.takeover_ms,
        monoMs: this.monoMs,
        onEvent: (e) => this.onBudgetEvent(e),
        onError: (m) => log.warn(m),
      });
      // The first reservation is made when the first heartbeat opens an epoch (onEpoch).
    }
    await this.watchHalt();
    await this.watchReduce();
    const leaseLoop = setInterval(() => {
      if (this.leaseTick) return;
      this.leaseTick = this.tick().finally(() => (this.leaseTick = undefined));
    }, this.timings.tickMs);
    const stateLoop = setInterval(() => this.publishState(), c.publish_interval_ms);
    this.timers.push(leaseLoop, stateLoop);
    this.leaseTick = this.tick().finally(() => (this.leaseTick = undefined));
    log.info(
      { cluster: c.name, shard: c.shard_id, instance: this.instance, candidates: candidates.length, ...this.timings },
      `cluster ${c.name}: shard ${c.shard_id} joined (${candidates.length} candidate symbols, lease ${this.timings.ttlMs} ms renewed every ${this.timings.tickMs} ms)`,
    );
  }

  private async tick(): Promise<void> {
    await this.leases?.tick();
    const e = this.engine;
    const l = this.ledger;
    if (!e || !l || this.stopped) return;
    await l.reclaim();
    const exposure = worstGrossExposure(e);
    if (exposure === undefined) return;
    const chunk = this.chunk;
    // Keep half a chunk of headroom ready; give back what sits idle beyond three chunks, and
    // what exceeds this shard's share once its exposure is below it (symbols handed over).
    // What to keep is measured again right before `held` drops (exposure may grow meanwhile).
    const keepAtLeast = (floor: () => bigint) => () => {
      const now = worstGrossExposure(e) ?? l.held;
      const f = floor();
      return now > f ? now : f;
    };
    if (l.held > l.cap() && exposure < l.held) await l.releaseDownTo(keepAtLeast(() => l.cap()), "above this shard's share");
    else if (l.held - exposure < chunk / 2n && l.held < l.cap()) l.request(exposure + chunk);
    else if (l.held - exposure > 3n * chunk) await l.releaseDownTo(keepAtLeast(() => (worstGrossExposure(e) ?? l.held) + chunk), 'idle headroom');
  }

  private onLeaseEvent(e: LeaseEvent): void {
    const log = this.o.logger;
    this.pub?.publish('lease', { ...e });
    if (e.kind === 'acquired') log.info({ lease: e.key }, `lease ${e.key} acquired (${e.why})`);
    else log.warn({ lease: e.key }, `lease ${e.key} ${e.kind}: ${e.why}`);
    if (e.kind !== 'acquired' && this.engine) {
      // Another shard may trade it next: nothing of ours may stay working there.
      for (const o of this.engine.openOrders(e.exchange, e.symbol)) this.engine.cancel(o.clientOrderId);
    }
  }

  /** A membership epoch began (take this shard id's reservation over, at least a chunk) or ended (the ledger's held is 0 now). */
  private onEpoch(epoch: string | undefined, why: string): void {
    this.pub?.publish('member', { kind: epoch ? 'epoch' : 'ended', epoch: epoch ?? null, why });
    if (epoch) {
      this.o.logger.info({ epoch }, `cluster: membership epoch ${epoch} (${why})`);
      this.ledger?.request(this.chunk, true);
    } else {
      this.o.logger.warn(`cluster: membership epoch ended (${why}): no budget is used until a new epoch takes the reservation over`);
    }
  }

  private onBudgetEvent(e: BudgetEvent): void {
    this.pub?.publish('budget', { kind: e.kind, held: e.held, delta: e.delta, latencyMs: e.latencyMs, attempts: e.attempts, why: e.why, revision: e.revision ?? null, of: e.of ?? null, epoch: e.epoch ?? null });
    this.o.logger.debug({ budget: e.kind, held: formatScaled(e.held, COMMON_EXPONENT), latencyMs: e.latencyMs }, `cluster budget ${e.kind}`);
  }

  /**
   * Reads the `halt` key once, then watches it. The read happens inside start(), so a HALT set
   * before this shard started closes the `cluster_halt` gate before start() returns, before the
   * engine starts and before any lease is taken. One bad record never ends the watch.
   */
  private async watchHalt(): Promise<void> {
    const control = this.h!.control;
    const first = await control.get(HALT_KEY);
    this.haltSeenAtStart = first?.revision;
    if (first?.operation === 'PUT') this.onHaltRecord(first); // a DEL before we came: nothing to report
    const w = await control.watch({ key: HALT_KEY });
    this.haltWatch = w;
    void (async () => {
      let initial = true;
      for await (const e of w) {
        // The watch starts with the key's last record: the one read above, unless it changed meanwhile.
        const repeat = initial && e.revision === this.haltSeenAtStart;
        initial = false;
        if (repeat) continue;
        try {
          this.onHaltRecord(e);
        } catch (err) {
          this.o.logger.error({ err: errorText(err) }, `cluster: HALT record not handled: ${errorText(err)}`);
        }
      }
    })().catch((err) => this.o.logger.error({ err: errorText(err) }, 'cluster HALT watch ended'));
  }

  private onHaltRecord(e: { operation: string; json<T>(): T }): void {
    if (e.operation !== 'PUT') {
      // The engine stays HALTED (a HALT not applied yet still is) until resumed locally, on purpose.
      this.clusterHalt = undefined;
      this.o.logger.warn('cluster: global HALT cleared; this shard stays HALTED until resumed through its control endpoint');
      this.pub?.publish('halt', { observed: 'cleared' });
      return;
    }
    const doc = readHaltDoc(() => e.json<unknown>());
    // Synchronously, before anything else: the gate refuses from here on.
    this.clusterHalt = doc;
    this.haltPending = doc;
    this.applyHalt();
  }

  /** The cluster-wide REDUCING: set and cleared by the aggregator as the portfolio VaR crosses cluster.max_var. */
  private async watchReduce(): Promise<void> {
    const w = await this.h!.control.watch({ key: REDUCE_KEY });
    this.reduceWatch = w;
    void (async () => {
      for await (const e of w) {
        if (e.operation !== 'PUT') {
          if (this.reducing) this.o.logger.warn('cluster REDUCING cleared');
          this.reducing = undefined;
          this.pub?.publish('reduce', { observed: 'cleared' });
          continue;
        }
        let doc: ReduceDoc;
        try {
          doc = e.json<ReduceDoc>();
          if (typeof doc?.reason !== 'string') throw new Error('no reason');
        } catch (err) {
          doc = { reason: `unreadable REDUCING record (${errorText(err)})`, by: '?', ts: 0 };
        }
        this.reducing = doc;
        this.o.logger.warn(`cluster REDUCING by ${doc.by}: ${doc.reason}`);
        this.pub?.publish('reduce', { observed: 'reducing', reason: doc.reason, by: doc.by, reduceTs: doc.ts, delayMs: this.o.clock.now() - doc.ts });
      }
    })().catch((err) => this.o.logger.error({ err: errorText(err) }, 'cluster REDUCING watch ended'));
  }

  /**
   * HALTs the engine (cancels, the journal's HALTED state). A HALT already set when the shard
   * starts arrives before the engine started (and restored its journal): the engine applies it
   * as soon as it runs; until then the `cluster_halt` gate refuses every order. Never throws.
   */
  private applyHalt(): void {
    const doc = this.haltPending;
    if (doc === undefined || this.stopped) return;
    const engine = this.engine;
    if (!engine?.started) {
      this.haltRetry ??= setTimeout(() => {
        this.haltRetry = undefined;
        this.applyHalt();
      }, 20).unref();
      return;
    }
    try {
      engine.halt(`cluster HALT by ${doc.by}: ${doc.reason}`);
    } catch (err) {
      this.o.logger.error({ err: errorText(err) }, `cluster HALT: the engine refused it: ${errorText(err)}`);
      return; // the gate stays shut (haltPending)
    }
    this.haltPending = undefined;
    // Published after the engine stopped taking orders: no order of ours follows this in the stream.
    this.pub?.publish('halt', { observed: 'halt', reason: doc.reason, by: doc.by, haltTs: doc.ts, delayMs: this.o.clock.now() - doc.ts });
  }

  private publishState(): void {
    const e = this.engine;
    if (!e || !this.pub) return;
    const t = e.totals();
    const eq = e.risk?.equitySnapshot?.();
    const { positions, marks } = positionsAndMarks(e);
    this.pub.publish('state', {
      equity: eq ? eq.equity : t.equity,
      peak: eq ? eq.peak : null,
      realized: t.realized,
      unrealized: t.unrealized,
      fees: t.fees,
      equityText: commonToDecimal(eq ? eq.equity : t.equity),
      grossExposure: worstGrossExposure(e) ?? null,
      reserved: this.ledger?.held ?? null,
      epoch: this.membership?.current()?.epoch ?? null,
      // Orders this process against other processes of the same shard id (the aggregator).
      epochRevision: this.membership?.epochRevision() ?? null,
      // The epoch `reserved` is usable under; null while none is (lapsed, or not yet taken over).
      budgetEpoch: this.ledger?.usableEpoch() ?? null,
      riskState: e.riskState.state,
      leases: this.leases?.heldKeys() ?? [],
      positions,
      marks,
      clusterReducing: this.reducing !== undefined,
      dropped: this.pub.dropped,
    });
  }

  /**
   * Within STOP_DEADLINE_MS whatever NATS does: `run` calls this on SIGTERM, inside the service
   * manager's stop grace (30 s in the deploy files), after the engine stopped. What is not
   * deleted by then (leases, the member key) expires by itself within the lease lifetime.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.haltRetry) clearTimeout(this.haltRetry);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_DEADLINE_MS)));
    const left = this.leave().then(() => 'done' as const);
    const outcome = await Promise.race([left, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.stopLate = true;
      this.o.logger.warn(`cluster: stop not finished within ${STOP_DEADLINE_MS} ms (NATS slow or unreachable): leases and the member key not deleted expire by themselves within ${this.timings.ttlMs} ms, and the budget is reclaimed by the other shards`);
      this.haltWatch?.stop();
      this.reduceWatch?.stop();
      await this.h?.nc.close().catch(() => {});
    }
  }

  private async leave(): Promise<void> {
    // Known down: each call would only wait its timeout; what is not deleted expires by itself.
    const reachable = () => this.connected && !this.h?.nc.isClosed();
    try {
      await this.leaseTick;
      await this.leases?.stop(reachable());
      if (this.ledger && this.engine && reachable()) {
        // Open positions stay at the venue and keep their budget; the idle rest goes back.
        const engine = this.engine;
        const ledger = this.ledger;
        await ledger.releaseDownTo(() => worstGrossExposure(engine) ?? ledger.held, 'shard stopping');
      }
      // After the budget went back: the rest (backing open positions) is reclaimed once the key is gone.
      await this.membership?.stop(reachable());
      this.publishState();
      this.haltWatch?.stop();
      this.reduceWatch?.stop();
      if (reachable()) await this.h?.nc.drain();
      else await this.h?.nc.close();
    } catch (err) {
      if (this.stopLate) return; // stop() gave up and closed the connection: that is what failed here
      this.o.logger.warn({ err: errorText(err) }, `cluster: stop incomplete: ${errorText(err)}`);
      await this.h?.nc.close().catch(() => {});
    }
  }
}
