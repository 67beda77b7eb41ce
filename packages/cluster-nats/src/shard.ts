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
import { HALT_KEY, leaseKey, leaseTimings, REDUCE_KEY, type LeaseTimings } from './names.js';
import { positionsAndMarks } from './marks.js';
import { ShardPublisher, type PublishFailure } from './publisher.js';

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
  private roundTimer: NodeJS.Timeout | undefined;
  /** The period roundTimer was armed with. */
  private roundTickMs = 0;
  private leaseTick: Promise<void> | undefined;
  private haltWatch: { stop(): void } | undefined;
  private reduceWatch: { stop(): void } | undefined;
  /** Set while the cluster is REDUCING (the aggregator's `reduce` key). */
  private reducing: ReduceDoc | undefined;
  /** Set while the `halt` key is set: the `cluster_halt` gate refuses every order. */
  private clusterHalt: HaltDoc | undefined;
  /** A HALT this shard observed that its engine has not applied yet (the engine was not started). */
  private haltPending: HaltDoc | undefined;
  /**
   * The latest revision of `halt` / `reduce` handled, from the watch, the read before it or the
   * read of each lease round. Revisions only grow within one control bucket; both restart at 0
   * when the bucket is found recreated (`controlCreated` changed).
   */
  private haltRevision = 0;
  private reduceRevision = 0;
  /** The control bucket's stream creation time when its watches were set up (its identity). */
  private controlCreated: string | undefined;
  private controlUnreadable = false;
  private controlRead: Promise<void> | undefined;
  /** start() until it returned: stop() waits for it, and start() gives up once stop() began. */
  private starting: Promise<void> | undefined;
  private haltRetry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The stop under way: a second stop() (run's, after the shard stopped itself) waits for it. */
  private stopping: Promise<void> | undefined;
  /** stop() ran past STOP_DEADLINE_MS and closed the connection. */
  private stopLate = false;
  /** Orders on symbols not leased here that cancelUnleased asked cancelled: client order id -> monotonic ms of the last ask. */
  private readonly unleasedCancelSent = new Map<string, number>();
  /** Cancels cancelUnleased sent (published in `state` as `unleasedCancels`). */
  private unleasedCancels = 0;
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

  /**
   * Joins the cluster. A stop() that begins meanwhile (SIGTERM during startup) waits for this,
   * and this gives up at its next step: no lease loop starts, and the connection is closed.
   */
  start(engine: Engine): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.starting = this.startUp(engine).finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startUp(engine: Engine): Promise<void> {
    const c = this.o.cluster;
    const log = this.o.logger;
    this.engine = engine;
    const h = await openCluster(c, `cwts-shard-${c.shard_id}`);
    this.h = h;
    if (this.stopped) return this.abandonStart();
    for (const n of h.notices) log.warn(`cluster ${c.name}: ${n}`);
    h.store.onNotice = (n) => log.warn(`cluster ${c.name}: ${n}`);
    void (async () => {
      for await (const st of h.nc.status()) {
        if (st.type === 'disconnect') this.connected = false;
        else if (st.type === 'reconnect') this.connected = true;
      }
    })().catch(() => {});
    this.timings = h.timings;
    const wallMs = () => this.o.clock.now();
    this.pub = new ShardPublisher(h.nc, h.names, c.shard_id, this.instance, wallMs, (f) => this.publishFailed(f));
    const candidates = this.o.loaded.config.venues.flatMap((v) => v.symbols.map((symbol) => ({ exchange: v.name, symbol })));
    this.membership = new Membership({
      members: h.members,
      candidateKeys: candidates.map((x) => leaseKey(x.exchange, x.symbol)),
      shardId: c.shard_id,
      instance: this.instance,
      timings: this.timings,
      monoMs: this.monoMs,
      wallMs,
      onEpoch: (epoch, why) => this.onEpoch(epoch, why),
      onError: (m) => log.warn(m),
      store: h.store,
    });
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
      // run starts the shard before the engine, which restores its journal only after every venue
      // loaded its instruments: until then both above read 0, which is not flat.
      positionsKnown: () => engine.restored,
      // A HALT refuses every order, reducing ones too (the cluster_halt gate, then the engine's
      // HALTED state, which stays until resumed locally): a handover could not get flat meanwhile.
      canFlatten: () => this.clusterHalt === undefined && this.haltPending === undefined && engine.riskState.state !== 'HALTED',
      handoverMs: 3 * c.takeover_ms,
      onError: (m) => log.warn(m),
      membership: this.membership,
      store: h.store,
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
    this.controlCreated = (await h.control.status()).streamInfo.created;
    await this.watchHalt();
    await this.watchReduce();
    if (this.stopped) return this.abandonStart();
    this.armRounds();
    this.timers.push(setInterval(() => this.publishStateSafely(), c.publish_interval_ms));
    this.startRound();
    log.info(
      { cluster: c.name, shard: c.shard_id, instance: this.instance, candidates: candidates.length, ...this.timings },
      `cluster ${c.name}: shard ${c.shard_id} joined (${candidates.length} candidate symbols, lease ${this.timings.ttlMs} ms renewed every ${this.timings.tickMs} ms)`,
    );
  }

  /**
   * engine.start() failed (core's ClusterShard.engineStartFailed, which `run` calls): this shard
   * leaves (stop(), as on SIGTERM), without waiting. The shard cannot tell a failed start from a
   * slow one by the engine's state (`restored` and `started` stay false either way), and an engine
   * that never restored its journal hands nothing over, so a shard that went on renewing its
   * leases held its symbols for as long as the process lived, traded by nobody. Stopping lets go
   * only what is safe: before the restore, the leases expire by max_age and the reservation stays
   * (what the journal holds is unknown); after it, as a clean stop. It does not retry the engine's
   * start (a half-started engine is not made to start again); the process is expected to exit.
   * Needs a core that calls it (core API 1.13).
   */
  engineStartFailed(error: unknown): void {
    // A start the engine's own stop interrupted (SIGTERM first) is not a failure: run's stop
    // stops the shard once the engine has stopped (its cancels out), as usual. run does not call
    // this then; an embedder might.
    if (this.stopped || this.engine?.isStopping) return;
    this.o.logger.error({ err: errorText(error) }, `cluster ${this.o.cluster.name}: the engine failed to start (${errorText(error)}): shard ${this.o.cluster.shard_id} leaves the cluster`);
    void this.stop();
  }

  /** stop() began while start() awaited: nothing may run on; stop() waits for this. */
  private async abandonStart(): Promise<void> {
    this.haltWatch?.stop();
    this.reduceWatch?.stop();
    await this.h?.nc.close().catch(() => {});
    this.o.logger.warn(`cluster ${this.o.cluster.name}: shard ${this.o.cluster.shard_id} stopped while joining: it took no lease`);
  }

  /**
   * The lease rounds' timer, every renewal period. The timings are live (openCluster's store):
   * where a recreated bucket keeps keys for less than this process counted and cannot be raised,
   * they shrink, and the rounds must follow, or leases would lapse between two renewals.
   */
  private armRounds(): void {
    if (this.roundTimer) clearInterval(this.roundTimer);
    this.roundTickMs = this.timings.tickMs;
    this.roundTimer = setInterval(() => this.startRound(), this.roundTickMs);
  }

  /** One lease and budget round, unless one is still running. A failure is counted, never a fault. */
  private startRound(): void {
    if (this.leaseTick) return;
    this.leaseTick = this.tick()
      .catch((err) => this.loopFailed('cluster:round', err))
      .finally(() => {
        this.leaseTick = undefined;
        if (!this.stopped && this.roundTimer && this.timings.tickMs !== this.roundTickMs) this.armRounds();
      });
  }

  /**
   * A background loop of the shard (the lease and budget round, the state publisher) threw. It
   * is counted (cwts_errors_total{component}) and logged, and the loop runs again at its next
   * interval; it is not a process fault (which HALTs the engine and stops the process) because
   * both fail closed by themselves: a round that does not run leaves leases unrenewed (the
   * `lease` gate shuts them when their validity runs out) and no budget reserved (the `budget`
   * gate refuses what it does not cover), and a state not published leaves this shard's last
   * positions counted by the aggregator as stale.
   */
  private loopFailed(component: 'cluster:round' | 'cluster:state', err: unknown): void {
    const what = component === 'cluster:round' ? 'lease and budget round' : 'state publish';
    const message = `cluster: ${what} failed (counted; retried at the next interval): ${errorText(err)}`;
    try {
      if (this.engine) return this.engine.onFeedError(component, message);
    } catch {
      // Never thrown from here: the line below still reports it.
    }
    this.o.logger.warn({ component }, message);
  }

  /**
   * A message not published (throttled by the publisher: at most one report a minute), counted in
   * cwts_errors_total{component="cluster:publish"} and logged. One larger than the server's
   * max_payload never goes out: for a `state`, the aggregator keeps this shard's last one it got.
   */
  private publishFailed(f: PublishFailure): void {
    const why = f.oversized
      ? `${f.bytes} bytes, over the NATS server's max_payload (raise max_payload in nats-server.conf, or trade fewer symbols per shard)`
      : f.error;
    const message = `cluster: ${f.kind} message not published: ${why}; ${f.since} message(s) not published since the last report (state.dropped counts them all)`;
    try {
      if (this.engine) return this.engine.onFeedError('cluster:publish', message);
    } catch {
      // Never thrown from here: the line below still reports it.
    }
    this.o.logger.warn({ component: 'cluster:publish' }, message);
  }

  private publishStateSafely(): void {
    try {
      this.publishState();
    } catch (err) {
      this.loopFailed('cluster:state', err);
    }
  }

  private async tick(): Promise<void> {
    // Beside the round, not in it: a control read waiting on its timeout must not delay renewals.
    this.controlRead ??= this.readControl().finally(() => (this.controlRead = undefined));
    await this.leases?.tick();
    const e = this.engine;
    if (e?.restored && !this.stopped) {
      try {
        this.cancelUnleased(e);
      } catch (err) {
        this.loopFailed('cluster:round', err);
      }
    }
    const l = this.ledger;
    if (!e || !l || this.stopped) return;
    await l.reclaim();
    // Until the engine has restored its journal it holds none of the positions this shard id's
    // reservation backs (run starts the shard before the engine, which restores only after every
    // venue loaded its instruments): its exposure reads 0, and releasing by it would hand the
    // budget behind the restored positions to another shard. The reservation is left as it is
    // (the new epoch's takeover, onEpoch, still re-tags it) until then.
    if (!e.restored) return;
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

  /**
   * Cancels this shard's open orders on every symbol it does not lease (neither held nor being
   * handed over): each lease round once the engine has restored its journal, the first within a
   * renewal period of the restore. A lease event cancels only on a lease this process held; an
   * order restored from the journal (or found by the reconciliation) after a crash, after a stop
   * whose cancels the venue did not confirm, or after a lease lost while the engine was still
   * empty, kept working on a symbol another shard took meanwhile: two shards with orders on one
   * symbol. The lease gate refuses new orders there already. An order whose cancel is pending is
   * left alone; one whose cancel the venue refused (back to working) is cancelled again at most
   * once a lease lifetime.
   */
  private cancelUnleased(e: Engine): void {
    const leases = this.leases;
    if (!leases) return;
    const sent = this.unleasedCancelSent;
    const now = this.monoMs();
    let seen: Set<string> | undefined;
    let cancelled: string[] | undefined;
    for (const o of e.allOpenOrders()) {
      if (leases.state(o.exchange, o.symbol) !== 'none') continue;
      (seen ??= new Set()).add(o.clientOrderId);
      if (o.status === 'pending_cancel') continue;
      const last = sent.get(o.clientOrderId);
      if (last !== undefined && now - last < this.timings.ttlMs) continue;
      sent.set(o.clientOrderId, now);
      this.unleasedCancels++;
      e.cancel(o.clientOrderId);
      (cancelled ??= []).push(`${o.clientOrderId} (${o.exchange}:${o.symbol})`);
    }
    for (const id of sent.keys()) if (!seen?.has(id)) sent.delete(id);
    if (cancelled) {
      this.o.logger.warn(
        { cancelled: cancelled.length, total: this.unleasedCancels },
        `cluster: cancelling ${cancelled.length} open order(s) on symbols shard ${this.o.cluster.shard_id} does not lease (restored from the journal or found by reconciliation; another shard may trade them): ${cancelled.slice(0, 10).join(', ')}${cancelled.length > 10 ? ', ...' : ''}`,
      );
    }
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
    // A DEL before we came: nothing to report (its revision still orders what follows).
    if (first) this.onControlRecord(HALT_KEY, first, first.operation === 'PUT');
    const w = await control.watch({ key: HALT_KEY });
    this.haltWatch = w;
    void (async () => {
      // The watch starts with the key's last record: the one read above (skipped by its revision), unless it changed meanwhile.
      for await (const e of w) this.onControlRecord(HALT_KEY, e);
    })().catch((err) => this.o.logger.error({ err: errorText(err) }, 'cluster HALT watch ended'));
  }

  /**
   * Handles one record of `halt` or `reduce` (from a watch or a read) unless one as new was
   * handled already: a read answered after a watch delivery may hold the older record.
   */
  private onControlRecord(key: string, e: { revision: number; operation: string; json<T>(): T }, apply = true): void {
    const isHalt = key === HALT_KEY;
    if (e.revision <= (isHalt ? this.haltRevision : this.reduceRevision)) return;
    if (isHalt) this.haltRevision = e.revision;
    else this.reduceRevision = e.revision;
    if (!apply) return;
    try {
      if (isHalt) this.onHaltRecord(e);
      else this.onReduceRecord(e);
    } catch (err) {
      this.o.logger.error({ err: errorText(err) }, `cluster: ${key} record not handled: ${errorText(err)}`);
    }
  }

  /**
   * Each lease round: a backstop to the watches. A NATS server that lost its store drops the
   * watches' consumers with it, and the client does not recreate them; so the control bucket's
   * identity (its stream's creation time) is checked, the watches are set up again on a
   * recreated one, and `halt` and `reduce` are read and applied whatever the watches deliver.
   * A HALT already observed stays in force in a recreated bucket without one (the engine stays
   * HALTED until resumed locally anyway). A REDUCING does not: the aggregator writes `reduce`
   * only when it finds none and the VaR is over, and deletes only a record it sees, so one kept
   * from the lost bucket would never be cleared (while a shard started now is not REDUCING).
   */
  private async readControl(): Promise<void> {
    const h = this.h;
    if (!h || this.stopped) return;
    const log = this.o.logger;
    try {
      const created = (await h.control.status()).streamInfo.created;
      if (this.stopped) return;
      if (created !== this.controlCreated) {
        log.warn(`cluster: the control bucket was recreated (the NATS server lost its store?): watching halt and reduce again`);
        this.controlCreated = created;
        this.haltRevision = 0;
        this.reduceRevision = 0;
        this.haltWatch?.stop();
        this.reduceWatch?.stop();
        await this.watchHalt();
        await this.watchReduce(true);
        if (this.stopped) {
          this.haltWatch?.stop();
          this.reduceWatch?.stop();
        }
      } else {
        for (const key of [HALT_KEY, REDUCE_KEY]) {
          const e = await h.control.get(key);
          if (e) this.onControlRecord(key, e);
        }
      }
      this.controlUnreadable = false;
    } catch (err) {
      if (!this.controlUnreadable) log.warn({ err: errorText(err) }, `cluster: reading halt and reduce failed (retried every lease round): ${errorText(err)}`);
      this.controlUnreadable = true;
      // The server may have lost its store: recreated, the next read finds the new bucket.
      if (!this.stopped) await h.store.recover();
    }
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

  /**
   * The cluster-wide REDUCING: set and cleared by the aggregator as the portfolio VaR crosses
   * cluster.max_var. Read once inside start() like `halt`: a shard starting while the cluster is
   * REDUCING returns from start() with its gate closed, and its first budget request is refused.
   * In a `recreated` control bucket (a store loss) the record read is the whole truth: none, or a
   * deletion, is not REDUCING, as for a shard starting now; the aggregator writes it again while
   * the VaR is over. Read before the watch starts, so a record the watch delivers comes after.
   */
  private async watchReduce(recreated = false): Promise<void> {
    const control = this.h!.control;
    const first = await control.get(REDUCE_KEY);
    if (first) this.onControlRecord(REDUCE_KEY, first, first.operation === 'PUT' || (recreated && this.reducing !== undefined));
    else if (recreated && this.reducing !== undefined) this.reduceCleared('the recreated control bucket holds no reduce record');
    const w = await control.watch({ key: REDUCE_KEY });
    this.reduceWatch = w;
    void (async () => {
      for await (const e of w) this.onControlRecord(REDUCE_KEY, e);
    })().catch((err) => this.o.logger.error({ err: errorText(err) }, 'cluster REDUCING watch ended'));
  }

  private onReduceRecord(e: { operation: string; json<T>(): T }): void {
    if (e.operation !== 'PUT') {
      this.reduceCleared();
      return;
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

  private reduceCleared(why?: string): void {
    if (this.reducing) this.o.logger.warn(`cluster REDUCING cleared${why ? ` (${why})` : ''}`);
    this.reducing = undefined;
    this.pub?.publish('reduce', { observed: 'cleared' });
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
    // An engine that has not restored its journal is empty, not flat: its equity and positions
    // would replace this shard's last state at the aggregator (a false drawdown HALT, a REDUCING
    // cleared, positions gone from the VaR). Until then the aggregator keeps the last one it had.
    if (!e?.restored || !this.pub) return;
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
      // Ranks first: revisions restart when the members bucket is recreated.
      epochBucketCreated: this.membership?.epochBucketCreated() ?? null,
      // The epoch `reserved` is usable under; null while none is (lapsed, or not yet taken over).
      budgetEpoch: this.ledger?.usableEpoch() ?? null,
      riskState: e.riskState.state,
      leases: this.leases?.heldKeys() ?? [],
      positions,
      marks,
      clusterReducing: this.reducing !== undefined,
      unleasedCancels: this.unleasedCancels,
      dropped: this.pub.dropped,
      oversized: this.pub.oversized,
    });
  }

  /**
   * Within STOP_DEADLINE_MS whatever NATS does: `run` calls this on SIGTERM, inside the service
   * manager's stop grace (30 s in the deploy files), after the engine stopped. What is not
   * deleted by then (leases, the member key) expires by itself within the lease lifetime.
   */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.roundTimer) clearInterval(this.roundTimer);
    if (this.haltRetry) clearTimeout(this.haltRetry);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), STOP_DEADLINE_MS)));
    // A start() under way gives up at its next step (it saw `stopped`); what it opened is closed here.
    const starting = this.starting;
    const left = (async () => {
      await starting?.catch(() => {});
      await this.leave();
    })().then(() => 'done' as const);
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
      await this.controlRead; // it may set the watches up again: before they are stopped below
      await this.leases?.stop(reachable());
      // Not after an engine that never restored its journal (a SIGTERM while the venues loaded
      // their instruments): its exposure reads 0 while the journaled positions need the budget.
      if (this.ledger && this.engine?.restored && reachable()) {
        // Open positions stay at the venue and keep their budget; the idle rest goes back.
        const engine = this.engine;
        const ledger = this.ledger;
        await ledger.releaseDownTo(() => worstGrossExposure(engine) ?? ledger.held, 'shard stopping');
      }
      // After the budget went back: the rest (backing open positions) is reclaimed once the key is gone.
      await this.membership?.stop(reachable());
      this.publishStateSafely();
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
