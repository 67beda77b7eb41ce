import type { Route } from './http.js';
import type { SnapshotHub } from './snapshot-hub.js';

/**
 * The read-only live page at the health port's `/`, fed by Server-Sent Events from `/events`
 * (the SnapshotHub that `/status` shares). It shows and never controls: no buttons, no forms;
 * the kill switch stays with the authenticated control endpoint.
 */
export function liveRoutes(hub: SnapshotHub): Record<string, Route> {
  return {
    '/': () => ({ status: 200, body: LIVE_PAGE_HTML, contentType: 'text/html; charset=utf-8' }),
    '/events': { method: 'GET', stream: (req, res) => hub.serve(req, res) },
  };
}

export const LIVE_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CWTS Ultra — live</title><link rel="icon" href="data:,">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:18px;color:#1b1b1b;background:#fafafa}
h1{font-size:19px;margin:0 0 4px}h2{font-size:14px;margin:16px 0 4px;color:#333}
.bar{display:flex;gap:18px;flex-wrap:wrap;align-items:baseline}.kv b{font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:8px 10px}
table{border-collapse:collapse;width:100%}th,td{padding:1px 6px;text-align:right;font-variant-numeric:tabular-nums}th{color:#666;font-weight:500}
td.l,th.l{text-align:left}.bid{color:#2e7d32}.ask{color:#c62828}
.state{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;font-weight:600}
.SYNCED,.ACTIVE,.ok{background:#2e7d32}.REDUCING,.RESYNCING,.CONNECTING{background:#f9a825}.HALTED,.CROSSED,.STALE,.bad,.DISCONNECTED{background:#c62828}
#conn{font-size:12px;color:#777}canvas{width:100%;height:70px}
</style></head><body>
<div class="bar"><h1>CWTS Ultra</h1><span id="system"></span><span id="mode"></span><span>compute <b id="compute"></b></span><span id="conn">connecting…</span></div>
<div class="bar">
<span class="kv">risk <span id="risk-state" class="state"></span> <span id="risk-reason"></span></span>
<span class="kv">equity <b id="pnl-equity" data-live="pnl.equity"></b></span>
<span class="kv">net PnL <b id="pnl-net" data-live="pnl.net"></b></span>
<span class="kv">realized <b id="pnl-realized" data-live="pnl.realized"></b></span>
<span class="kv">unrealized <b id="pnl-unrealized" data-live="pnl.unrealized"></b></span>
<span class="kv">fees <b id="pnl-fees" data-live="pnl.fees"></b></span>
<span class="kv">open orders <b id="open-orders"></b></span>
</div>
<canvas id="equity-spark" width="1200" height="70"></canvas>
<h2>Books (top 10)</h2><div class="grid" id="books"></div>
<div class="grid">
<div><h2>Positions</h2><div class="card"><table id="positions"></table></div></div>
<div><h2>Feed and component health</h2><div class="card"><table id="health"></table></div></div>
</div>
<div class="grid">
<div><h2>Recent signals</h2><div class="card"><table id="signals"></table></div></div>
<div><h2>Recent fills</h2><div class="card"><table id="fills"></table></div></div>
</div>
<script>
(function(){
  var $ = function(id){ return document.getElementById(id); };
  function text(id, v){ $(id).textContent = v == null ? '—' : String(v); }
  function table(el, head, rows){
    el.textContent = '';
    var tr = document.createElement('tr');
    head.forEach(function(h, i){ var th = document.createElement('th'); th.textContent = h; if (i === 0) th.className = 'l'; tr.appendChild(th); });
    el.appendChild(tr);
    rows.forEach(function(r){ var tr = document.createElement('tr');
      r.forEach(function(c, i){ var td = document.createElement('td'); if (c && typeof c === 'object') { td.textContent = c.t; td.className = c.c || ''; } else td.textContent = c == null ? '—' : String(c); if (i === 0) td.className += ' l'; tr.appendChild(td); });
      el.appendChild(tr); });
  }
  var time = function(ts){ return ts ? new Date(ts).toISOString().slice(11, 23) : '—'; };
  var equity = [];
  function spark(){
    var c = $('equity-spark'), ctx = c.getContext('2d'); ctx.clearRect(0, 0, c.width, c.height);
    if (equity.length < 2) return;
    var lo = Math.min.apply(null, equity), hi = Math.max.apply(null, equity), span = hi - lo || 1;
    ctx.strokeStyle = '#1565c0'; ctx.lineWidth = 2; ctx.beginPath();
    equity.forEach(function(v, i){ var x = i * (c.width - 4) / (equity.length - 1) + 2, y = c.height - 4 - (v - lo) / span * (c.height - 8); if (i) ctx.lineTo(x, y); else ctx.moveTo(x, y); });
    ctx.stroke();
  }
  function render(s){
    text('system', s.system); text('mode', s.mode); text('compute', s.compute);
    var r = s.risk || {}; text('risk-state', r.state); $('risk-state').className = 'state ' + (r.state || ''); text('risk-reason', r.reason);
    var p = s.pnl || {}; text('pnl-equity', p.equity); text('pnl-net', p.net); text('pnl-realized', p.realized); text('pnl-unrealized', p.unrealized); text('pnl-fees', p.fees);
    text('open-orders', s.openOrders);
    if (p.equity != null) { equity.push(Number(p.equity)); if (equity.length > 480) equity.shift(); spark(); }
    var books = $('books'); books.textContent = '';
    (s.books || []).forEach(function(b){
      var card = document.createElement('div'); card.className = 'card book'; card.setAttribute('data-book', b.exchange + ':' + b.symbol);
      var h = document.createElement('div'); var st = document.createElement('span'); st.className = 'state ' + b.state; st.textContent = b.state;
      h.appendChild(document.createTextNode(b.exchange + ':' + b.symbol + ' ')); h.appendChild(st);
      h.appendChild(document.createTextNode(' seq ' + (b.seq == null ? '—' : b.seq) + ', resyncs ' + b.resyncs + (b.state === 'SYNCED' ? '' : ' — ' + b.reason)));
      card.appendChild(h);
      var t = document.createElement('table'); var rows = [];
      for (var i = 0; i < 10; i++) { var bid = b.bids[i] || [], ask = b.asks[i] || []; rows.push([{ t: bid[1] || '' }, { t: bid[0] || '', c: 'bid' }, { t: ask[0] || '', c: 'ask' }, { t: ask[1] || '' }]); }
      table(t, ['bid qty', 'bid', 'ask', 'ask qty'], rows); card.appendChild(t); books.appendChild(card);
    });
    table($('positions'), ['symbol', 'qty', 'avg entry', 'realized', 'unrealized', 'fees'], (s.positions || []).map(function(x){ return [x.exchange + ':' + x.symbol, x.quantity, x.avgEntryPrice, x.realizedPnl, x.unrealizedPnl, x.fees]; }));
    table($('health'), ['component', 'state', 'detail'], (s.health || []).map(function(c){ return [c.name, { t: c.ready ? 'ready' : 'not ready', c: 'state ' + (c.ready ? 'ok' : 'bad') }, c.detail]; }));
    var rec = s.recent || { signals: [], fills: [] };
    table($('signals'), ['time', 'detector', 'symbol', 'dir', 'strength'], rec.signals.map(function(g){ return [time(g.ts), g.detector, g.exchange + ':' + g.symbol, g.direction > 0 ? 'buy' : g.direction < 0 ? 'sell' : '·', Number(g.strength).toFixed(2)]; }));
    table($('fills'), ['time', 'symbol', 'side', 'price', 'qty'], rec.fills.map(function(f){ return [time(f.ts), f.exchange + ':' + f.symbol, { t: f.side, c: f.side === 'buy' ? 'bid' : 'ask' }, f.price, f.qty]; }));
    document.body.setAttribute('data-updates', String(Number(document.body.getAttribute('data-updates') || 0) + 1));
  }
  var es = new EventSource('/events');
  es.addEventListener('snapshot', function(e){ $('conn').textContent = 'live'; render(JSON.parse(e.data)); });
  es.onerror = function(){ $('conn').textContent = 'disconnected, retrying…'; };
})();
</script>
</body></html>
`;
