import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { instrumentKey, type Instrument } from '../domain/instrument.js';
import { commonToNumber } from '../risk/portfolio.js';
import type { DetectorFollowUp } from './follow-ups.js';
import type { SessionOrders, SessionRecord } from './session.js';
import { drawdownSeries, equitySeries, type SessionStatistics } from './statistics.js';

/** Everything one report page shows. */
export interface ReportDocument {
  title: string;
  /** Where the numbers came from: a recording, a journal, a config, each with its sha256. */
  inputs: { kind: string; path: string; sha256: string }[];
  /** The config as loaded, secrets already redacted (reports/replay-report.ts reportConfig). */
  config: unknown;
  record: SessionRecord;
  stats: SessionStatistics;
  followUps: DetectorFollowUp[];
  followUpHorizonMs: number;
  generatedAt: string;
}

const require = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string } | undefined;
/** uPlot's own files from its npm package, inlined so the report works offline. */
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe to put inside a <script> element (no "</script>", no "<!--"). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const price = (i: Instrument, halfTicks: number) => (halfTicks / 2) * Number(i.priceScale.mantissa) * 10 ** -i.priceScale.exponent;
const qty = (i: Instrument, lots: number) => lots * Number(i.qtyScale.mantissa) * 10 ** -i.qtyScale.exponent;

/** Chart series as floats (display only; the table shows the exact figures). */
function chartData(doc: ReportDocument) {
  const r = doc.record;
  // Exact, then floats: a capital change (a journal over a restart with another starting capital)
  // is a step of the equity and moves the peak, as the summary's figures count it.
  const series = equitySeries(r);
  const equity = series.equity.map(commonToNumber);
  const drawdown = drawdownSeries(series.equity, series.flows).map((d) => -commonToNumber(d));
  const symbols = r.instruments.map((i) => {
    const key = instrumentKey(i.exchange, i.symbol);
    const m = r.marks[key] ?? { ts: [], halfTicks: [] };
    const fills = r.fills.filter((f) => f.exchange === i.exchange && f.symbol === i.symbol);
    let pos = 0;
    const posTs: number[] = [r.start];
    const posQty: number[] = [0];
    for (const f of fills) {
      pos += f.side === 'buy' ? f.qty : -f.qty;
      posTs.push(f.ts);
      posQty.push(qty(i, pos));
    }
    posTs.push(r.end);
    posQty.push(qty(i, pos));
    return {
      key,
      mark: { ts: m.ts, price: m.halfTicks.map((h) => price(i, h)) },
      fills: fills.map((f) => ({ ts: f.ts, side: f.side, price: price(i, 2 * f.price), qty: qty(i, f.qty) })),
      signals: r.signals.filter((x) => x.exchange === i.exchange && x.symbol === i.symbol).map((x) => ({ ts: x.ts, detector: x.detector, direction: x.direction })),
      position: { ts: posTs, qty: posQty },
    };
  });
  return {
    start: r.start,
    end: r.end,
    equity: { ts: r.pnl.map((p) => p.ts), equity, drawdown },
    symbols,
    risk: r.risk,
    latency: r.latency ? { le: r.latency.le.map((x) => (Number.isFinite(x) ? x : null)), counts: r.latency.counts } : null,
  };
}

type Cell = { stat?: string; value?: unknown; text: string };

function statCell(path: string, value: unknown, text?: string): Cell {
  return { stat: path, value, text: text ?? (value === null || value === undefined ? '—' : String(value)) };
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(4)}%`);
const fixed = (v: number | null, d = 4) => (v === null ? '—' : v.toFixed(d));
const ms = (v: number) => {
  const s = Math.round(v / 1000);
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m ${String(s % 60).padStart(2, '0')}s`;
};
const iso = (t: number | null) => (t === null ? '—' : new Date(t).toISOString());

function td(c: Cell): string {
  const attrs = c.stat ? ` data-stat="${escapeHtml(c.stat)}" data-value="${escapeHtml(JSON.stringify(c.value ?? null))}"` : '';
  return `<td${attrs}>${escapeHtml(c.text)}</td>`;
}

/** The orders rows: what became of the orders sent, the venue's rejections by reason, the engine's refusals. */
function orderRows(o: SessionOrders | undefined): [string, Cell][] {
  if (o === undefined) return [];
  const reasons = Object.entries(o.rejectReasons).map(([k, n]) => `${k} ${n}`);
  return [
    ['Orders sent', { text: `${o.sent} (${o.filled} filled, ${o.cancelled} cancelled, ${o.rejected} rejected, ${o.open} open at the end)` }],
    ['Orders rejected by the venue', { text: `${o.rejected}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}` }],
    ['Orders refused by the engine (not sent)', { text: String(o.refused) }],
  ];
}

function summaryTable(s: SessionStatistics, orders: SessionOrders | undefined): string {
  const rows: [string, Cell][] = [
    ['Period', { text: `${iso(s.start)} → ${iso(s.end)} (${ms(s.durationMs)})` }],
    ['Initial equity', statCell('initialEquity', s.initialEquity)],
    ['Final equity', statCell('finalEquity', s.finalEquity)],
    ...(s.capitalChanges ?? []).map((c): [string, Cell] => ['Capital change (deposit / withdrawal)', { text: `${c.amount} at ${iso(c.ts)}` }]),
    ['PnL realized', statCell('realized', s.realized)],
    ['PnL unrealized', statCell('unrealized', s.unrealized)],
    ['Fees', statCell('fees', s.fees)],
    ['PnL net', statCell('net', s.net)],
    ['Return', statCell('return', s.return, pct(s.return))],
    ['Max drawdown', statCell('maxDrawdown', s.maxDrawdown)],
    ['Max drawdown (of peak)', statCell('maxDrawdownRatio', s.maxDrawdownRatio, pct(s.maxDrawdownRatio))],
    ['Max drawdown peak → trough', { text: `${iso(s.maxDrawdownPeakTs)} → ${iso(s.maxDrawdownTroughTs)}` }],
    ['Max drawdown (of peak) peak → trough', { text: `${iso(s.maxDrawdownRatioPeakTs)} → ${iso(s.maxDrawdownRatioTroughTs)}` }],
    ['Longest drawdown', statCell('maxDrawdownDurationMs', s.maxDrawdownDurationMs, ms(s.maxDrawdownDurationMs))],
    [`Sharpe (${s.ratioFrequency})`, statCell('sharpe', s.sharpe, fixed(s.sharpe))],
    [`Sortino (${s.ratioFrequency})`, statCell('sortino', s.sortino, fixed(s.sortino))],
    ['Return periods', statCell('ratioPeriods', s.ratioPeriods)],
    ...orderRows(orders),
    ['Fills', statCell('fills', s.fills)],
    ['Trades (round trips)', statCell('trades', s.trades)],
    ['Wins / losses', { text: `${s.wins} / ${s.losses}` }],
    ['Win rate', statCell('winRate', s.winRate, pct(s.winRate))],
    ['Average win', statCell('avgWin', s.avgWin)],
    ['Average loss', statCell('avgLoss', s.avgLoss)],
    ['Turnover', statCell('turnover', s.turnover)],
    ['Turnover / initial equity', statCell('turnoverRatio', s.turnoverRatio, fixed(s.turnoverRatio))],
    ['Exposure time', statCell('exposureMs', s.exposureMs, `${ms(s.exposureMs)} (${pct(s.exposureRatio)})`)],
  ];
  return `<table class="summary" id="summary">${rows.map(([k, c]) => `<tr><th>${escapeHtml(k)}</th>${td(c)}</tr>`).join('')}</table>`;
}

function breakdownTable(id: string, label: string, rows: (SessionStatistics['bySymbol'][number] | SessionStatistics['byVenue'][number])[], path: string): string {
  const cols: [string, (r: (typeof rows)[number], p: string) => Cell][] = [
    [label, (r) => ({ text: 'symbol' in r ? `${r.exchange}:${r.symbol}` : r.exchange })],
    ['Realized', (r, p) => statCell(`${p}.realized`, r.realized)],
    ['Unrealized', (r, p) => statCell(`${p}.unrealized`, r.unrealized)],
    ['Fees', (r, p) => statCell(`${p}.fees`, r.fees)],
    ['Net', (r, p) => statCell(`${p}.net`, r.net)],
    ['Fills', (r, p) => statCell(`${p}.fills`, r.fills)],
    ['Trades', (r, p) => statCell(`${p}.trades`, r.trades)],
    ['Win rate', (r, p) => statCell(`${p}.winRate`, r.winRate, pct(r.winRate))],
    ['Avg win', (r, p) => statCell(`${p}.avgWin`, r.avgWin)],
    ['Avg loss', (r, p) => statCell(`${p}.avgLoss`, r.avgLoss)],
    ['Turnover', (r, p) => statCell(`${p}.turnover`, r.turnover)],
    ['Exposure', (r, p) => statCell(`${p}.exposureMs`, r.exposureMs, `${ms(r.exposureMs)} (${pct(r.exposureRatio)})`)],
  ];
  if (rows.length > 0 && 'position' in rows[0]!) cols.push(['Position', (r, p) => statCell(`${p}.position`, (r as SessionStatistics['bySymbol'][number]).position)]);
  const head = `<tr>${cols.map(([h]) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>`;
  const body = rows.map((r, k) => `<tr>${cols.map(([, f]) => td(f(r, `${path}.${k}`))).join('')}</tr>`).join('');
  return `<table class="grid" id="${id}">${head}${body || `<tr><td colspan="${cols.length}">no fills</td></tr>`}</table>`;
}

function followUpTable(doc: ReportDocument): string {
  const h = `within ${doc.followUpHorizonMs / 1000}s`;
  const head = `<tr><th>Detector</th><th>Signals</th><th>Signals followed by a fill ${h}</th><th>Fills ${h}</th><th>Mark-out PnL of those fills at +${doc.followUpHorizonMs / 1000}s</th><th>Their fees</th><th>Mean move in the signal's direction ${h} (bps)</th></tr>`;
  const body = doc.followUps
    .map((f) => `<tr><td>${escapeHtml(f.detector)}</td><td>${f.signals}</td><td>${f.signalsWithFills}</td><td>${f.fills}</td><td>${escapeHtml(f.markoutPnl)}</td><td>${escapeHtml(f.fees)}</td><td>${f.meanMoveBps === null ? '—' : f.meanMoveBps.toFixed(2)}</td></tr>`)
    .join('');
  return `<table class="grid" id="detectors">${head}${body || '<tr><td colspan="7">no signals</td></tr>'}</table>`;
}

/** One self-contained HTML page: tables rendered here, charts drawn by inlined uPlot. */
export function renderReportHtml(doc: ReportDocument): string {
  const { js, css } = uplot();
  const data = chartData(doc);
  const s = doc.stats;
  const inputs = doc.inputs.map((i) => `<tr><th>${escapeHtml(i.kind)}</th><td>${escapeHtml(i.path)}</td><td class="mono">sha256 ${escapeHtml(i.sha256)}</td></tr>`).join('');
  const symbolCharts = data.symbols
    .map((x, k) => `<h3>${escapeHtml(x.key)}</h3><div class="chart" id="price-${k}" data-chart="price ${escapeHtml(x.key)}"></div><div class="chart small" id="position-${k}" data-chart="position ${escapeHtml(x.key)}"></div>`)
    .join('');
  const config = JSON.stringify(doc.config, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${css}</style>
<style>${PAGE_CSS}</style>
</head><body>
<h1>${escapeHtml(doc.title)}</h1>
<p class="muted">Generated ${escapeHtml(doc.generatedAt)}. Money is exact (decimal, quote units); ratios are floats (docs/reports.md).</p>
${(doc.record.warnings ?? []).map((w) => `<p class="warning">${escapeHtml(w)}</p>`).join('')}${(doc.record.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('')}
<h2>Summary</h2>${summaryTable(s, doc.record.orders)}
<h2>Per venue</h2>${breakdownTable('by-venue', 'Venue', s.byVenue, 'byVenue')}
<h2>Per symbol</h2>${breakdownTable('by-symbol', 'Symbol', s.bySymbol, 'bySymbol')}
<h2>Equity</h2><div class="chart" id="equity" data-chart="equity"></div>
<h2>Drawdown</h2><div class="chart small" id="drawdown" data-chart="drawdown"></div>
<h2>Risk state</h2><div class="chart band" id="risk" data-chart="risk"></div><p class="legend"><span class="sw" style="background:#2e7d32"></span>ACTIVE <span class="sw" style="background:#f9a825"></span>REDUCING <span class="sw" style="background:#c62828"></span>HALTED</p>
<h2>Prices, fills and signals</h2><p class="legend">▲ buy fill, ▼ sell fill (size by quantity); ◆ signals, coloured by detector: <span id="detector-legend"></span></p>${symbolCharts}
<h2>Detectors and what followed</h2>${followUpTable(doc)}
<h2>Tick-to-order latency</h2>${data.latency ? '<div class="chart small" id="latency" data-chart="latency"></div>' : '<p class="muted">Not measured in this session.</p>'}
<h2>Inputs</h2><table class="grid" id="inputs">${inputs}</table>
<h2>Config (secrets redacted)</h2><pre id="config">${escapeHtml(config)}</pre>
<script>${js}</script>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${PAGE_JS}</script>
</body></html>
`;
}

const PAGE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1b1b1b;background:#fff;max-width:1200px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
table.summary th{font-weight:500;color:#555}td{font-variant-numeric:tabular-nums}
.muted{color:#777}.warning{color:#b71c1c;font-weight:500}.note{color:#8a5a00}.mono{font-family:ui-monospace,monospace;font-size:12px}
pre{background:#f6f6f6;padding:10px;overflow:auto;max-height:360px;font-size:12px}
.chart{margin:6px 0}.legend{font-size:12px;color:#555}.sw{display:inline-block;width:10px;height:10px;margin:0 3px 0 10px}
`;

/** Runs in the page: reads #report-data and draws each chart with uPlot. */
const PAGE_JS = `
(function(){
  var D = JSON.parse(document.getElementById('report-data').textContent);
  var W = Math.min(1150, Math.max(600, document.body.clientWidth - 20));
  var palette = ['#1565c0','#6a1b9a','#00838f','#ef6c00','#ad1457','#558b2f','#4e342e','#283593'];
  var detectors = [];
  D.symbols.forEach(function(s){ s.signals.forEach(function(g){ if (detectors.indexOf(g.detector) < 0) detectors.push(g.detector); }); });
  detectors.sort();
  var colorOf = function(d){ return palette[detectors.indexOf(d) % palette.length]; };
  var leg = document.getElementById('detector-legend');
  detectors.forEach(function(d){ var sp = document.createElement('span'); sp.innerHTML = '<span class="sw" style="background:' + colorOf(d) + '"></span>'; sp.appendChild(document.createTextNode(d)); leg.appendChild(sp); });
  var sec = function(a){ return a.map(function(t){ return t / 1000; }); };
  function plot(id, opts, data){ var el = document.getElementById(id); if (!el) return; opts.width = W; opts.axes = opts.axes || [{}, { size: 80 }]; if (opts.axes[1] && opts.axes[1].size === undefined) opts.axes[1].size = 80; new uPlot(opts, data, el); }
  // Equity and drawdown.
  var eq = D.equity;
  if (eq.ts.length < 2) { eq = { ts: [D.start, D.end], equity: [eq.equity[0] || 0, eq.equity[0] || 0], drawdown: [0, 0] }; }
  plot('equity', { height: 260, series: [{}, { label: 'equity', stroke: '#1565c0', width: 1.5 }] }, [sec(eq.ts), eq.equity]);
  plot('drawdown', { height: 160, series: [{}, { label: 'drawdown', stroke: '#c62828', fill: 'rgba(198,40,40,0.25)', width: 1 }] }, [sec(eq.ts), eq.drawdown]);
  // Risk state bands.
  var riskColor = { ACTIVE: '#2e7d32', REDUCING: '#f9a825', HALTED: '#c62828' };
  plot('risk', { height: 90, legend: { show: false }, axes: [{}, { show: false }], scales: { y: { range: [0, 1] } },
    series: [{}, { label: 'state', stroke: 'transparent', points: { show: false } }],
    hooks: { draw: [function(u){
      var ctx = u.ctx, b = u.bbox; ctx.save();
      D.risk.forEach(function(r, k){
        var from = Math.max(r.ts, D.start), to = k + 1 < D.risk.length ? D.risk[k + 1].ts : D.end;
        var x0 = u.valToPos(from / 1000, 'x', true), x1 = u.valToPos(Math.max(to, from) / 1000, 'x', true);
        ctx.fillStyle = riskColor[r.state] || '#777'; ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
      });
      ctx.restore();
    }] } }, [[D.start / 1000, D.end / 1000], [0, 1]]);
  // Price with fills and signals, and position, per symbol.
  D.symbols.forEach(function(s, k){
    var ts = s.mark.ts.length ? s.mark.ts : [D.start, D.end];
    var px = s.mark.price.length ? s.mark.price : [null, null];
    var maxQty = s.fills.reduce(function(m, f){ return Math.max(m, f.qty); }, 0) || 1;
    var priceAt = function(t){ var lo = 0, hi = ts.length - 1; if (t <= ts[0]) return px[0]; while (lo < hi) { var mid = (lo + hi + 1) >> 1; if (ts[mid] <= t) lo = mid; else hi = mid - 1; } return px[lo]; };
    // A loop, not Math.min.apply(null, ys): apply passes every mark as an argument and the
    // browser's stack overflows past ~10^5 of them (a mark per second of a two-day session).
    var lo = Infinity, hi = -Infinity;
    var extend = function(v){ if (v != null) { if (v < lo) lo = v; if (v > hi) hi = v; } };
    for (var i = 0; i < px.length; i++) extend(px[i]);
    for (var j = 0; j < s.fills.length; j++) extend(s.fills[j].price);
    if (lo > hi) { lo = 0; hi = 0; }
    var pad = (hi - lo) * 0.05 || Math.abs(hi) * 0.001 || 1;
    plot('price-' + k, { height: 260, scales: { y: { range: [lo - pad, hi + pad] } },
      series: [{}, { label: 'mark', stroke: '#455a64', width: 1, spanGaps: true }],
      hooks: { draw: [function(u){
        var ctx = u.ctx, b = u.bbox, dpr = devicePixelRatio || 1; ctx.save();
        ctx.beginPath(); ctx.rect(b.left, b.top, b.width, b.height); ctx.clip();
        s.signals.forEach(function(g){ var y0 = priceAt(g.ts); if (y0 == null) return;
          var x = u.valToPos(g.ts / 1000, 'x', true), y = u.valToPos(y0, 'y', true), r = 4 * dpr;
          ctx.fillStyle = colorOf(g.detector); ctx.beginPath(); ctx.moveTo(x, y - r); ctx.lineTo(x + r, y); ctx.lineTo(x, y + r); ctx.lineTo(x - r, y); ctx.closePath(); ctx.fill(); });
        s.fills.forEach(function(f){
          var x = u.valToPos(f.ts / 1000, 'x', true), y = u.valToPos(f.price, 'y', true), r = (4 + 8 * Math.sqrt(f.qty / maxQty)) * dpr;
          var up = f.side === 'buy'; ctx.fillStyle = up ? '#2e7d32' : '#c62828'; ctx.beginPath();
          if (up) { ctx.moveTo(x, y - r); ctx.lineTo(x + r, y + r); ctx.lineTo(x - r, y + r); } else { ctx.moveTo(x, y + r); ctx.lineTo(x + r, y - r); ctx.lineTo(x - r, y - r); }
          ctx.closePath(); ctx.fill(); });
        ctx.restore();
      }] } }, [sec(ts), px]);
    plot('position-' + k, { height: 140, series: [{}, { label: 'position', stroke: '#6a1b9a', fill: 'rgba(106,27,154,0.15)', width: 1, paths: uPlot.paths.stepped({ align: 1 }) }] }, [sec(s.position.ts), s.position.qty]);
  });
  // Latency histogram.
  if (D.latency) {
    var labels = D.latency.le.map(function(x){ return x === null ? '+Inf' : (x < 1e-3 ? (x * 1e6) + 'µs' : (x * 1e3) + 'ms'); });
    plot('latency', { height: 200, scales: { x: { time: false, range: [-0.5, labels.length - 0.5] } },
      axes: [{ values: function(u, splits){ return splits.map(function(i){ return labels[i] === undefined ? '' : '≤' + labels[i]; }); }, incrs: [1] }, {}],
      series: [{ label: 'bucket' }, { label: 'orders', fill: 'rgba(21,101,192,0.6)', stroke: '#1565c0', paths: uPlot.paths.bars({ size: [0.8, 80] }), points: { show: false } }] },
      [labels.map(function(_, i){ return i; }), D.latency.counts]);
  }
  document.body.setAttribute('data-rendered', 'true');
})();
`;
