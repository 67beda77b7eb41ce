import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { defineInstrument } from '../domain/instrument.js';
import { renderReportHtml } from './html.js';
import type { SessionRecord } from './session.js';
import { sessionStatistics } from './statistics.js';

const btc = defineInstrument({ exchange: 'sim', symbol: 'BTCUSDT', base: 'BTC', quote: 'USDT', tickSize: '0.01', lotSize: '0.001' });

/** Runs the page's own script (the last <script>) against a stub DOM and a stub uPlot that records each chart. */
function runPageScript(html: string) {
  const data = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)];
  const pageJs = scripts[scripts.length - 1]![1]!;
  const charts = new Map<string, { opts: { scales?: { y?: { range?: [number, number] } } }; data: unknown[][] }>();
  const bodyAttrs: Record<string, string> = {};
  const element = (id: string) => ({ id, textContent: id === 'report-data' ? data : '', appendChild: () => {}, innerHTML: '' });
  const uPlot = Object.assign(
    function (this: unknown, opts: never, d: unknown[][], el: { id: string }) {
      charts.set(el.id, { opts, data: d });
    },
    { paths: { stepped: () => () => null, bars: () => () => null } },
  );
  const document = {
    getElementById: element,
    createElement: () => element(''),
    createTextNode: () => ({}),
    body: { clientWidth: 1200, setAttribute: (k: string, v: string) => (bodyAttrs[k] = v) },
  };
  runInNewContext(pageJs, { document, uPlot, devicePixelRatio: 1 });
  return { charts, bodyAttrs };
}

describe('report page script', () => {
  it('draws a price chart over a mark per second for two days (more marks than apply can pass as arguments)', () => {
    const n = 2 * 86_400;
    const ts = Array.from({ length: n }, (_, k) => k * 1000);
    // 10000.00 to 10009.99, and one fill below at 9990.00
    const halfTicks = ts.map((_, k) => 2 * (1_000_000 + (k % 1000)));
    const record: SessionRecord = {
      instruments: [btc],
      initialEquity: 0n,
      start: 0,
      end: ts[n - 1]!,
      pnl: [],
      fills: [{ ts: 5_000, exchange: 'sim', symbol: 'BTCUSDT', clientOrderId: 'a', side: 'buy', price: 999_000, qty: 1, feeAtoms: 0n }],
      signals: [],
      marks: { 'sim:BTCUSDT': { ts, halfTicks } },
      finalMarks: { 'sim:BTCUSDT': halfTicks[n - 1]! },
      risk: [{ ts: 0, state: 'ACTIVE', reason: 'start' }],
    };
    const html = renderReportHtml({ title: 't', inputs: [], config: {}, record, stats: sessionStatistics(record), followUps: [], followUpHorizonMs: 60_000, generatedAt: 'now' });
    const { charts, bodyAttrs } = runPageScript(html);
    expect(bodyAttrs['data-rendered']).toBe('true');
    const price = charts.get('price-0')!;
    expect(price.data[1]).toHaveLength(n);
    const pad = (10009.99 - 9990) * 0.05;
    const [lo, hi] = price.opts.scales!.y!.range!;
    expect(lo).toBeCloseTo(9990 - pad, 6);
    expect(hi).toBeCloseTo(10009.99 + pad, 6);
  });

  it('an instrument without marks or fills still gets a price scale', () => {
    const record: SessionRecord = { instruments: [btc], initialEquity: 0n, start: 0, end: 1000, pnl: [], fills: [], signals: [], marks: {}, finalMarks: {}, risk: [{ ts: 0, state: 'ACTIVE', reason: 'start' }] };
    const html = renderReportHtml({ title: 't', inputs: [], config: {}, record, stats: sessionStatistics(record), followUps: [], followUpHorizonMs: 60_000, generatedAt: 'now' });
    expect(runPageScript(html).charts.get('price-0')!.opts.scales!.y!.range).toEqual([-1, 1]);
  });

  it('a capital change is a step of the equity chart that moves the drawdown\'s peak, and a row of the summary', () => {
    const E18 = 10n ** 18n;
    // capital 1000 then 100 (a restart with a lowered initial_equity); PnL 0, 10, 8, 3
    const record: SessionRecord = {
      instruments: [btc], initialEquity: 1000n * E18, start: 0, end: 180_000, fills: [], signals: [], marks: {}, finalMarks: {}, risk: [{ ts: 0, state: 'ACTIVE', reason: 'start' }],
      pnl: [0n, 10n, 8n, 3n].map((n, k) => ({ ts: k * 60_000, realized: n * E18, unrealized: 0n, fees: 0n })),
      capitalChanges: [{ index: 2, ts: 120_000, amount: -900n * E18 }],
    };
    const html = renderReportHtml({ title: 't', inputs: [], config: {}, record, stats: sessionStatistics(record), followUps: [], followUpHorizonMs: 60_000, generatedAt: 'now' });
    const eq = runPageScript(html).charts.get('equity')!;
    expect(eq.data[1]).toEqual([1000, 1010, 108, 103]);
    expect(runPageScript(html).charts.get('drawdown')!.data[1]!.map((d) => Math.abs(d as number))).toEqual([0, 0, 2, 7]);
    expect(html).toContain('<th>Capital change (deposit / withdrawal)</th><td>-900 at 1970-01-01T00:02:00.000Z</td>');
  });

  it('shows what is wrong with the inputs at the top of the page', () => {
    const record: SessionRecord = { instruments: [btc], initialEquity: 0n, start: 0, end: 1000, pnl: [], fills: [], signals: [], marks: {}, finalMarks: {}, risk: [{ ts: 0, state: 'ACTIVE', reason: 'start' }] };
    const page = (r: SessionRecord) => renderReportHtml({ title: 't', inputs: [], config: {}, record: r, stats: sessionStatistics(r), followUps: [], followUpHorizonMs: 60_000, generatedAt: 'now' });
    expect(page({ ...record, warnings: ['2 trade lines <bad>'] })).toContain('<p class="warning">2 trade lines &lt;bad&gt;</p>\n<h2>Summary</h2>');
    expect(page(record)).not.toContain('<p class="warning">');
    // a note (the span a recording covered) is not damage: shown apart from the warnings
    expect(page({ ...record, warnings: ['w'], notes: ['prices <from> the recording'] })).toContain('<p class="warning">w</p><p class="note">prices &lt;from&gt; the recording</p>\n<h2>Summary</h2>');
    expect(page(record)).not.toContain('<p class="note">');
  });
});
