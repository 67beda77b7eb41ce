/**
 * The built-in whale and cascade detectors on the simulated venue's injected episodes (ground
 * truth from SyntheticMarket.episodes), with precision, recall and detection delay, plus a long
 * calm run for false alarms. The simulator is imported from its built dist (workspace package
 * @cwts/exchange-sim, which itself depends on @cwts/core: a relative dist import keeps core's
 * build free of a cycle). Stated delays: a whale trade is flagged on the trade itself (0 ms); a
 * cascade onset within 4 s of the first forced order.
 */
import { describe, expect, it } from 'vitest';
import type { Signal } from '../src/domain/signal.js';
import { CascadeDetector, DetectorHarness, WhaleDetector } from '../src/detectors/index.js';
// @ts-ignore -- a workspace package's build output, typed through its .d.ts
import { resolveSimOptions, SyntheticMarket } from '../../exchange-sim/dist/index.js';

interface Episode {
  kind: 'whale' | 'cascade';
  symbol: string;
  startTs: number;
  endTs: number;
  side: 'buy' | 'sell';
  qty: number;
}

const START = 1_700_000_000_000;
const WARMUP_MS = 60_000;
const CASCADE_DELAY_MS = 4000;
const CASCADE_TAIL_MS = 3000;

function simulate(minutes: number, options: Record<string, unknown>): { signals: Signal[]; episodes: Episode[]; events: number } {
  const m = new SyntheticMarket({ exchange: 'sim', symbols: ['BTCUSDT', 'ETHUSDT'], options: resolveSimOptions(options), startTs: START });
  const detectors = [
    new WhaleDetector('whale', {}),
    // per-symbol thresholds in notional, tuned to the simulator's trade sizes
    new WhaleDetector('whale_tuned', { z_threshold: 3, symbols: { BTCUSDT: { min_notional: 50_000 }, ETHUSDT: { min_notional: 50_000 } } }),
    new CascadeDetector('cascade', {}),
    new CascadeDetector('cascade_noliq', { liquidations: 'off' }),
  ];
  const h = new DetectorHarness(detectors, m.instruments());
  let events = 0;
  m.attach((ev: { type: string }) => {
    if (ev.type === 'feed_status') return;
    events++;
    h.feed(ev as never);
  });
  m.generate(START + minutes * 60_000);
  return { signals: h.signals, episodes: m.episodes as Episode[], events };
}

const isOnset = (s: Signal): boolean => s.kind === 'cascade_building' || (s.kind === 'cascade' && (s.evidence as { from: string }).from === 'exhaustion');
const dirOf = (side: 'buy' | 'sell', kind: 'whale' | 'cascade'): number => (kind === 'whale' ? (side === 'buy' ? 1 : -1) : side === 'sell' ? -1 : 1);

interface Score {
  episodes: number;
  detected: number;
  signals: number;
  truePositives: number;
  recall: number;
  precision: number;
  delayP50Ms?: number;
  delayMaxMs?: number;
}

function score(signals: Signal[], episodes: Episode[], kind: 'whale' | 'cascade', pick: (s: Signal) => boolean): Score {
  const eps = episodes.filter((e) => e.kind === kind && e.startTs >= START + WARMUP_MS);
  const sig = signals.filter((s) => pick(s) && s.ts >= START + WARMUP_MS);
  const window = (e: Episode, s: Signal): boolean =>
    s.symbol === e.symbol && s.direction === dirOf(e.side, kind) && (kind === 'whale' ? s.ts === e.startTs : s.ts >= e.startTs && s.ts <= e.endTs + CASCADE_TAIL_MS);
  const delays: number[] = [];
  for (const e of eps) {
    const first = sig.find((s) => window(e, s) && (kind === 'whale' || s.ts - e.startTs <= CASCADE_DELAY_MS));
    if (first) delays.push(first.ts - e.startTs);
  }
  const tp = sig.filter((s) => eps.some((e) => window(e, s))).length;
  delays.sort((a, b) => a - b);
  return {
    episodes: eps.length,
    detected: delays.length,
    signals: sig.length,
    truePositives: tp,
    recall: eps.length ? delays.length / eps.length : 1,
    precision: sig.length ? tp / sig.length : 1,
    ...(kind === 'cascade' && delays.length ? { delayP50Ms: delays[delays.length >> 1], delayMaxMs: delays[delays.length - 1] } : {}),
  };
}

describe('detectors on the simulated venue (30 virtual minutes, BTCUSDT + ETHUSDT, seed 7)', () => {
  const run = simulate(30, { seed: 7 });
  const report: Record<string, unknown> = { events: run.events };

  it('whale trades: each injected whale flagged on its own trade, few false alarms', () => {
    const d = score(run.signals, run.episodes, 'whale', (s) => s.detector === 'whale' && s.kind === 'whale_trade');
    const t = score(run.signals, run.episodes, 'whale', (s) => s.detector === 'whale_tuned' && s.kind === 'whale_trade');
    report.whaleDefault = d;
    report.whaleTuned = t;
    expect(d.episodes).toBeGreaterThan(300);
    expect(d.recall).toBeGreaterThanOrEqual(0.9);
    expect(d.precision).toBeGreaterThanOrEqual(0.95);
    expect(t.recall).toBeGreaterThanOrEqual(0.99);
    expect(t.precision).toBeGreaterThanOrEqual(0.99);
  });

  it('cascades: onset detected within 4 s, with and without the liquidation feed', () => {
    const withLiq = score(run.signals, run.episodes, 'cascade', (s) => s.detector === 'cascade' && isOnset(s));
    const noLiq = score(run.signals, run.episodes, 'cascade', (s) => s.detector === 'cascade_noliq' && isOnset(s));
    report.cascade = withLiq;
    report.cascadeNoLiquidationFeed = noLiq;
    expect(withLiq.episodes).toBeGreaterThan(40);
    expect(withLiq.recall).toBeGreaterThanOrEqual(0.95);
    expect(withLiq.precision).toBeGreaterThanOrEqual(0.95);
    expect(withLiq.delayMaxMs!).toBeLessThanOrEqual(CASCADE_DELAY_MS);
    expect(noLiq.recall).toBeGreaterThanOrEqual(0.9);
    expect(noLiq.precision).toBeGreaterThanOrEqual(0.9);
    const inputs = run.signals.find((s) => s.detector === 'cascade_noliq')!.evidence.inputs;
    expect(inputs).not.toContain('liquidations');
    const later = run.signals.filter((s) => s.detector === 'cascade');
    expect(later[later.length - 1].evidence.inputs).toContain('liquidations');
  });

  it('bursts: same-side flow bursts fall mostly inside injected episodes', () => {
    const bursts = run.signals.filter((s) => s.detector === 'whale' && s.kind === 'whale_burst' && s.ts >= START + WARMUP_MS);
    const inside = bursts.filter((s) => run.episodes.some((e) => e.symbol === s.symbol && s.ts >= e.startTs - 1000 && s.ts <= e.endTs + 1000));
    report.bursts = { signals: bursts.length, insideEpisodes: inside.length };
    expect(bursts.length).toBeGreaterThan(10);
    expect(inside.length / bursts.length).toBeGreaterThanOrEqual(0.8);
    console.log(`detectors on the simulated venue: ${JSON.stringify(report, null, 1)}`);
  });
});

describe('detectors on a long calm run (60 virtual minutes, no injected episodes)', () => {
  it('raises few false alarms', () => {
    const run = simulate(60, { seed: 11, whale_probability: 0, cascade_probability: 0 });
    const count = (det: string, pick: (s: Signal) => boolean): number => run.signals.filter((s) => s.detector === det && pick(s) && s.ts >= START + WARMUP_MS).length;
    const calm = {
      events: run.events,
      whaleTrades: count('whale', (s) => s.kind === 'whale_trade'),
      whaleTradesTuned: count('whale_tuned', (s) => s.kind === 'whale_trade'),
      bursts: count('whale', (s) => s.kind === 'whale_burst'),
      cascadeOnsets: count('cascade', isOnset),
      cascadeOnsetsNoLiq: count('cascade_noliq', isOnset),
      wallSignals: count('whale', (s) => s.kind.startsWith('wall_')),
    };
    console.log(`calm run (2 symbols x 59 minutes after warm-up): ${JSON.stringify(calm)}`);
    expect(run.episodes).toHaveLength(0);
    expect(calm.whaleTrades).toBeLessThanOrEqual(4);
    expect(calm.whaleTradesTuned).toBe(0);
    expect(calm.cascadeOnsets).toBeLessThanOrEqual(1);
    expect(calm.cascadeOnsetsNoLiq).toBeLessThanOrEqual(1);
    expect(calm.bursts).toBeLessThanOrEqual(10);
    // 1.9M simulated events of pure computation (no I/O, nothing to hang on): ~20 s alone, over
    // 120 s on a 2-core machine shared with other work. The limit only guards against a hang.
  }, 600_000);
});
