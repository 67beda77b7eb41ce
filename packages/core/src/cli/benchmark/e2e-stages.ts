/**
 * Where the tick-to-order time goes: the same frames through the same components, each stage
 * called here under its own timer (the engine itself carries no timing hooks):
 *   parse      the venue feed's onFrame (parse, edge validation, sequence/checksum, its BookSync)
 *   book       Engine.onMarketEvent with no detectors and no strategy attached (counters, book
 *              store update, risk hook)
 *   detectors  whale + cascade onMarketEvent
 *   strategy   the strategy's onMarketEvent (it decides; its submit is captured, not run)
 *   route      SmartOrderRouter.route: the split over the venues (decideRoute on 4 x 20 levels)
 *   risk       the pre-trade check chain, once per child order
 *   submit     Engine.submitChild without the chain: order creation, hand-off to the venue's
 *              execution client, metrics
 * Unpaced, so no queueing: the stages add up to the service time of an event, not to the paced
 * tick-to-order.
 */
import { performance } from 'node:perf_hooks';
import type { MarketEventSink } from '../../contracts/exchange.js';
import type { StrategyContext, SubmitResult } from '../../contracts/trading.js';
import type { FeedStatusEvent, MarketEvent } from '../../domain/events.js';
import type { OrderIntent } from '../../domain/orders.js';
import type { Engine } from '../../engine/engine.js';
import { runChain } from '../../risk/index.js';
import { buildPipeline, type E2EPipelineOptions, type E2EVenueIntake } from './e2e-pipeline.js';
import type { E2EFrames } from './e2e.js';
import { LatencySamples, type LatencySummary } from './samples.js';

export const E2E_STAGES = ['parse', 'book', 'detectors', 'strategy', 'route', 'risk', 'submit'] as const;
export type E2EStage = (typeof E2E_STAGES)[number];

export interface E2EStagesResult {
  events: number;
  parents: number;
  /** Per stage, ns: per event for parse..strategy, per parent order for route, risk, submit (all children). */
  stages: Record<E2EStage, LatencySummary>;
}

/** Passes everything to the engine until `capture` is on; then keeps market events for the caller. */
class CaptureSink implements MarketEventSink {
  capture = false;
  readonly events: MarketEvent[] = [];
  constructor(private readonly engine: Engine) {}
  onMarketEvent(ev: MarketEvent): void {
    if (this.capture) this.events.push(ev);
    else this.engine.onMarketEvent(ev);
  }
  onFeedStatus(st: FeedStatusEvent): void {
    this.engine.onFeedStatus(st);
  }
  onFeedError(component: string, message: string): void {
    this.engine.onFeedError(component, message);
  }
  onFeedReject(r: Parameters<NonNullable<MarketEventSink['onFeedReject']>>[0]): void {
    this.engine.onFeedReject(r);
  }
}

export async function runE2EStages(intakes: readonly E2EVenueIntake[], frames: E2EFrames, o: E2EPipelineOptions & { events: number; warmup?: number }): Promise<E2EStagesResult> {
  const sinks: CaptureSink[] = [];
  const p = await buildPipeline(intakes, { ...o, detached: true }, (engine) => {
    const s = new CaptureSink(engine);
    sinks.push(s);
    return s;
  });
  const engine = p.engine;
  let intent: OrderIntent | undefined;
  // The strategy sees the engine's books; its submit is kept for the route stage.
  const ctx = Object.create(engine) as StrategyContext;
  ctx.submit = (i: OrderIntent): SubmitResult => {
    intent = i;
    return { accepted: true };
  };
  const nv = intakes.length;
  const total = Math.min(o.events + (o.warmup ?? 0), nv * Math.min(...frames.perVenue.map((f) => f.length)));
  const warm = Math.min(o.warmup ?? 0, Math.floor(total / 2));
  const n = total - warm;
  const s: Record<E2EStage, LatencySamples> = Object.fromEntries(E2E_STAGES.map((k) => [k, new LatencySamples(n)])) as Record<E2EStage, LatencySamples>;
  const chain = p.risk.checks;
  const detectors = p.detectors;
  for (const c of sinks) c.capture = true;
  let parents = 0;
  for (let i = 0; i < total; i++) {
    const v = i % nv;
    const sink = sinks[v]!;
    sink.events.length = 0;
    intent = undefined;
    p.clock.advance(0.01);
    const t0 = performance.now();
    p.feeds[v]!(frames.perVenue[v]![Math.floor(i / nv)]!);
    const t1 = performance.now();
    let tBook = 0;
    let tDet = 0;
    let tStrat = 0;
    for (let e = 0; e < sink.events.length; e++) {
      const ev = sink.events[e]!;
      const a = performance.now();
      engine.onMarketEvent(ev);
      const b = performance.now();
      for (let d = 0; d < detectors.length; d++) detectors[d]!.onMarketEvent(ev, engine);
      const c = performance.now();
      p.strategy.onMarketEvent(ev, ctx);
      const d = performance.now();
      tBook += b - a;
      tDet += c - b;
      tStrat += d - c;
    }
    const measured = i >= warm;
    if (measured) {
      s.parse.record((t1 - t0) * 1e6);
      s.book.record(tBook * 1e6);
      s.detectors.record(tDet * 1e6);
      s.strategy.record(tStrat * 1e6);
    }
    if (intent !== undefined) {
      const a = performance.now();
      const children = p.router.route(intent, engine);
      const b = performance.now();
      let ok = true;
      for (let k = 0; k < children.length; k++) if (!runChain(chain, children[k]!, engine).ok) ok = false;
      const c = performance.now();
      for (let k = 0; k < children.length; k++) engine.submitChild(children[k]!);
      const d = performance.now();
      if (!ok) throw new Error('e2e stages: a child order failed the risk checks');
      if (measured) {
        parents++;
        s.route.record((b - a) * 1e6);
        s.risk.record((c - b) * 1e6);
        s.submit.record((d - c) * 1e6);
      }
      p.settle();
    }
  }
  const rejected = p.rejected();
  await p.stop();
  if (rejected > 0) throw new Error(`e2e stages: ${rejected} frames rejected`);
  if (parents === 0) throw new Error('e2e stages: no event caused an order');
  return { events: n, parents, stages: Object.fromEntries(E2E_STAGES.map((k) => [k, s[k].summary()])) as Record<E2EStage, LatencySummary> };
}
