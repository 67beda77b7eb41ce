/**
 * Crash test harness: runs `cwts-ultra run` (built output) against a venue, kills it with SIGKILL
 * at random moments N times, restarts it each time, then proves from the venue's records and the
 * journal that nothing was lost or duplicated. Used by scripts/chaos.mjs (`pnpm chaos`) and by
 * test/chaos.integration.test.ts (a short run in `pnpm test`).
 *
 * Venues:
 * - "binance": the local Binance server (chaos/binance-venue.ts) in its own process, live mode
 *   with test keys. It is the independent witness: it logs every order request it received and
 *   every trade it made (with commission), and keeps filling resting orders while the app is down.
 * - "sim": the in-process simulated venue (paper). It dies with the app, so its witness is the
 *   strategy's synchronous order log (chaos/strategy.mjs `sent_log`) and the fills the app reported.
 *
 * Proven at the end (each a count that must be 0, or a boolean):
 * - every venue trade is in the journal exactly once (lost = venue - journal, duplicated = journal
 *   fills sharing a trade id, unknown = journal - venue);
 * - no client order id was sent twice (venue request log; sim: the strategy's order log);
 * - positions, realized PnL and fees in /status after the last restart equal the venue's view
 *   (FIFO over the venue's trades, as the engine books them);
 * - a HALT forced through the control endpoint survived every later restart (state HALTED in
 *   /status, and no order reached the venue after it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const KEY = 'chaos-test-key';
const SECRET = 'chaos-test-secret';
/** The control endpoint's bearer token for the forced HALT (test value, passed through the environment). */
const CONTROL_TOKEN = 'chaos-control-token-0123456789abcdef';
const SYMBOL = 'BTCUSDT';

/**
 * Children still running (the app, the local venue). If the harness itself is stopped (Ctrl-C,
 * SIGTERM, a closed stderr pipe, an uncaught error), they are killed with it: an orphaned app
 * would keep trading against the venue and hold its ports for the next run.
 */
const live = new Set();
function reaped(child) {
  live.add(child);
  child.on('exit', () => live.delete(child));
  if (live.size === 1 && !reaperInstalled) installReaper();
  return child;
}
let reaperInstalled = false;
function installReaper() {
  reaperInstalled = true;
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => {
      for (const c of live) c.kill('SIGKILL');
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[sig]);
    });
  }
}

/** xorshift32: the kill schedule is reproducible from --seed. */
export function prng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function config(kind, dir, venuePort, fsync) {
  const venue =
    kind === 'sim'
      ? `[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["${SYMBOL}"]\n\n[sim.options]\nseed = 7\n`
      : `[exchanges]\nenabled = ["binance"]\n\n[binance]\nplugin = "${join(ROOT, 'packages/exchange-binance/dist/index.js')}"\napi_url = "ws://127.0.0.1:${venuePort}/ws"\nrest_url = "http://127.0.0.1:${venuePort}"\napi_key = "\${CHAOS_BINANCE_KEY}"\napi_secret = "\${CHAOS_BINANCE_SECRET}"\nsymbols = ["${SYMBOL}"]\n\n[binance.options]\nreconnect_initial_ms = 20\nreconnect_max_ms = 200\npoll_interval_ms = 200\n`;
  const file = join(dir, `${kind}.toml`);
  writeFileSync(
    file,
    `[system]
name = "chaos-${kind}"
log_level = "info"
mode = "${kind === 'sim' ? 'paper' : 'live'}"
on_shutdown = "cancel"

${venue}
[risk]
max_position = 1000000
max_drawdown = 0.9
kelly_fraction = 0.25
var_confidence = 0.99
orders_per_second = 50

[monitoring]
metrics_port = 0
health_check_port = 0
control_port = 0
bind_address = "127.0.0.1"

[compute]
backends = ["js"]

[strategy]
plugin = "${join(ROOT, 'chaos/strategy.mjs')}"
tif = "${kind === 'sim' ? 'IOC' : 'GTC'}"
sent_log = "${join(dir, 'sent.log')}"
fills_log = "${join(dir, 'fills.log')}"

[journal]
path = "${join(dir, 'journal.db')}"
fsync = "${fsync}"
`,
  );
  return file;
}

/** Starts the app; resolves with its ports once it logged them. */
export function startApp(cfg, dir, log) {
  const child = reaped(
    spawn(process.execPath, [CLI, 'run', '--config', cfg], {
      cwd: ROOT,
      env: { ...process.env, CWTS_LOG_FORMAT: 'json', CWTS_DATA_DIR: dir, CWTS_CONTROL_TOKEN: CONTROL_TOKEN, CHAOS_BINANCE_KEY: KEY, CHAOS_BINANCE_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let out = '';
  const exited = new Promise((r) => child.on('exit', (code, signal) => r({ code, signal })));
  const onData = (d) => {
    out += d.toString();
    appendFileSync(log, d);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const ports = new Promise((res, rej) => {
    const t = setInterval(() => {
      const m = /health on http:\/\/127\.0\.0\.1:(\d+)\/health/.exec(out);
      const c = /risk control endpoint on http:\/\/127\.0\.0\.1:(\d+)\/risk/.exec(out);
      if (m && c) {
        clearInterval(t);
        res({ health: Number(m[1]), control: Number(c[1]) });
      }
    }, 10);
    void exited.then((e) => {
      clearInterval(t);
      rej(new Error(`cwts-ultra exited before it was up (${JSON.stringify(e)}); last output:\n${out.slice(-3000)}`));
    });
  });
  ports.catch(() => undefined);
  return { child, exited, ports, output: () => out };
}

export async function getJson(url) {
  const r = await fetch(url);
  return { status: r.status, body: await r.json().catch(() => undefined) };
}

export async function until(cond, what, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(25);
  }
}

export function startVenue(dir, seed) {
  const ledger = join(dir, 'venue-ledger.json');
  const child = reaped(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'chaos/binance-venue.ts'), ledger, String(seed)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stderr.on('data', (d) => (out += d.toString()));
  const exited = new Promise((r) => child.on('exit', (code) => r(code)));
  const port = new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d.toString();
      const m = /\{"port":(\d+)\}/.exec(out);
      if (m) res(Number(m[1]));
    });
    void exited.then((c) => rej(new Error(`the local Binance server exited (${c}): ${out.slice(-2000)}`)));
  });
  port.catch(() => undefined);
  return {
    child,
    port,
    /** Stops the venue's trades and fills (the book still moves): a still picture of orders and trades. */
    pause() {
      child.kill('SIGHUP');
    },
    /** The venue's ledger as it is now (the process goes on). */
    async snapshot() {
      const before = existsSync(ledger) ? readFileSync(ledger, 'utf8') : '';
      child.kill('SIGUSR2');
      for (let i = 0; i < 200; i++) {
        await sleep(10);
        const now = existsSync(ledger) ? readFileSync(ledger, 'utf8') : '';
        if (now && now !== before) return JSON.parse(now);
      }
      throw new Error('the local Binance server did not write its ledger');
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      return JSON.parse(readFileSync(ledger, 'utf8'));
    },
  };
}

/** The journal as records, through `cwts-ultra journal export` (the store's own reader). */
export function exportJournal(dir, file = 'journal.db') {
  const r = spawnSync(process.execPath, [CLI, 'journal', 'export', '--journal', join(dir, file)], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`journal export failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l, (_k, v) => (typeof v === 'string' && /^-?\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v)));
}

/** Decimal string -> integer count of 10^-exp (exact; the harness never rounds through floats). */
function scaled(text, exp) {
  const neg = text.startsWith('-');
  const [i, f = ''] = (neg ? text.slice(1) : text).split('.');
  const v = BigInt(i + f.padEnd(exp, '0').slice(0, exp));
  return neg ? -v : v;
}

/** FIFO booking exactly as the engine's Position does: realized PnL in ticks x lots. */
function fifo(fills) {
  let qty = 0;
  const lots = [];
  let realized = 0n;
  for (const f of fills) {
    const dir = f.side === 'buy' ? 1 : -1;
    let rem = f.qty;
    while (rem > 0 && lots.length > 0 && Math.sign(qty) === -dir) {
      const lot = lots[0];
      const take = Math.min(lot.qty, rem);
      realized += BigInt(dir === -1 ? f.price - lot.price : lot.price - f.price) * BigInt(take);
      lot.qty -= take;
      rem -= take;
      qty += dir * take;
      if (lot.qty === 0) lots.shift();
    }
    if (rem > 0) {
      lots.push({ price: f.price, qty: rem });
      qty += dir * rem;
    }
  }
  return { qty, realized };
}

const dupes = (xs) => {
  const seen = new Set();
  const d = new Set();
  for (const x of xs) (seen.has(x) ? d : seen).add(x);
  return [...d];
};

/**
 * One phase: `kills` random SIGKILLs against one venue kind. Returns the proof (counts), never
 * throws for a failed proof: the caller decides.
 */
export async function runPhase({ kind, kills, seed, fsync = 'batch', haltAtKill = Math.max(1, Math.floor(kills * 0.8)), minUpMs = 150, maxUpMs = 2500, progress = () => {} }) {
  const rnd = prng(seed);
  const dir = mkdtempSync(join(tmpdir(), `cwts-chaos-${kind}-`));
  mkdirSync(dir, { recursive: true });
  const log = join(dir, 'app.log');
  const venue = kind === 'binance' ? startVenue(dir, seed) : undefined;
  const venuePort = venue ? await venue.port : 0;
  const cfg = config(kind, dir, venuePort, fsync);
  const t0 = Date.now();
  const result = { kind, seed, kills, fsync, dir, haltedAt: undefined, restartsAfterHalt: 0, haltSurvived: 0, killedDuringStartup: 0, killTimes: [], errors: [] };
  try {
    for (let k = 1; k <= kills; k++) {
      const app = startApp(cfg, dir, log);
      const upMs = Math.floor(minUpMs + rnd() * (maxUpMs - minUpMs));
      // a third of the kills come early: during start, journal restore and reconciliation
      const early = rnd() < 0.33;
      let ports;
      if (early) {
        await sleep(upMs / 2);
        ports = await Promise.race([app.ports, sleep(0).then(() => undefined)]).catch(() => undefined);
        result.killedDuringStartup++;
      } else {
        try {
          ports = await app.ports;
          await until(async () => (await fetch(`http://127.0.0.1:${ports.health}/health/ready`)).status === 200, 'readiness', 30_000);
        } catch (err) {
          result.errors.push(`kill ${k}: ${err.message.split('\n')[0]}`);
        }
      }
      if (!early && ports && result.haltedAt !== undefined) {
        // every restart after the HALT must come back HALTED
        const st = (await getJson(`http://127.0.0.1:${ports.health}/status`).catch(() => ({}))).body;
        result.restartsAfterHalt++;
        if (st?.risk?.state === 'HALTED') result.haltSurvived++;
      }
      if (!early && ports && k >= haltAtKill && result.haltedAt === undefined) {
        await sleep(upMs);
        const r = await fetch(`http://127.0.0.1:${ports.control}/risk/halt`, { method: 'POST', headers: { authorization: `Bearer ${CONTROL_TOKEN}`, 'x-cwts-control': '1', 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'chaos: forced HALT' }) });
        if (r.ok) result.haltedAt = Date.now();
        else result.errors.push(`kill ${k}: POST /risk/halt answered ${r.status}`);
        // observe the HALTed process before the kill: HALT_OBSERVE_MS, then (binance) the venue's
        // own picture of our orders must show none working, polled until the engine's cancel
        // timeout has passed (a slow machine delays a cancel, it does not excuse a missing one)
        await sleep(HALT_OBSERVE_MS);
        if (venue && r.ok) {
          const end = Date.now() + HALT_CANCEL_TIMEOUT_MS;
          for (;;) {
            const led = await venue.snapshot();
            const working = led.orders.filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED');
            result.workingAfterHalt = working.length;
            if (working.length === 0 || Date.now() > end) break;
            await sleep(100);
          }
        }
      } else if (!early) await sleep(upMs);
      app.child.kill('SIGKILL');
      result.killTimes.push(Date.now());
      const e = await app.exited;
      if (e.signal !== 'SIGKILL') result.errors.push(`kill ${k}: the app had already exited (${JSON.stringify(e)})`);
      progress(`${kind}: kill ${k}/${kills} ${early ? `${Math.round(upMs / 2)} ms after spawn (start-up)` : `${upMs} ms after ready`}${result.haltedAt ? ', HALTED' : ''}; ${Math.round((Date.now() - t0) / 1000)} s, ETA ${Math.round(((Date.now() - t0) / 1000 / k) * (kills - k))} s`);
    }

    // the proof: one last start, readiness (reconciliation done), /status, clean stop
    const app = startApp(cfg, dir, log);
    const ports = await app.ports;
    await until(async () => (await fetch(`http://127.0.0.1:${ports.health}/health/ready`)).status === 200, 'readiness after the last restart', 60_000);
    const status = (await getJson(`http://127.0.0.1:${ports.health}/status`)).body;
    if (result.haltedAt !== undefined) {
      // the proof's start is a restart after the HALT too
      result.restartsAfterHalt++;
      if (status?.risk?.state === 'HALTED') result.haltSurvived++;
    }
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    result.cleanExit = exit.code === 0;
    const ledger = venue ? await venue.stop() : undefined;
    const records = exportJournal(dir);
    Object.assign(result, prove(kind, dir, status, records, ledger, result.haltedAt, result.killTimes));
    // the test key pair must never reach a log line, whatever was killed when
    const logText = readFileSync(log, 'utf8');
    result.secretLeaks = logText.split(SECRET).length - 1 + logText.split(CONTROL_TOKEN).length - 1;
    // what reconciliation had to repair (informative: fills made while down, orders sent but never journaled)
    result.reconcileEvents = {};
    for (const m of logText.matchAll(/"msg":"reconcile [^:"]+: ([a-z_]+):/g)) result.reconcileEvents[m[1]] = (result.reconcileEvents[m[1]] ?? 0) + 1;
    result.uncleanStarts = logText.split('did not shut down cleanly').length - 1;
  } catch (err) {
    result.errors.push(err.message.split('\n').slice(0, 6).join(' | '));
    if (venue) await venue.stop().catch(() => undefined);
  }
  result.seconds = Math.round((Date.now() - t0) / 1000);
  result.ok =
    result.errors.length === 0 && result.secretLeaks === 0 && result.lostFills === 0 && result.duplicatedFills === 0 && result.unknownFills === 0 && result.duplicateOrders === 0 &&
    result.positionMismatches === 0 && result.restartsAfterHalt === result.haltSurvived && result.restartsAfterHalt >= 1 && result.finalRiskState === 'HALTED' &&
    result.ordersAfterHalt === 0 && result.fillsAfterHalt === 0 && (result.workingAfterHalt ?? 0) === 0 && result.cleanExit === true &&
    // a run in which nothing traded proves nothing
    result.ordersSent > 0 && result.journalFills > 0 && result.haltedAt !== undefined;
  return result;
}

/**
 * How long the harness watches the HALTed process before the kill. The HALT's cancels leave
 * before the control endpoint answers (engine halt(): tryCancel for every open order, sync), so
 * by then only an order in flight (cancelled again when its ack comes, engine followCancel) can
 * still be working; 500 ms covers its ack on loopback many times over.
 */
export const HALT_OBSERVE_MS = 500;
/** The engine's own deadline for the HALT's cancels (cancelAllOpen(..., 5000)). */
const HALT_CANCEL_TIMEOUT_MS = 5000;
/**
 * Nothing of ours may reach the venue, or fill there, later than this after the HALT answered.
 * The cancels and any order in flight were written to the venue's socket before the answer was;
 * the venue stamps them on receipt, and fills a resting order only on its 20 ms tick, so a fill
 * or an order stamped later needs the venue process descheduled that long. 250 ms is far above
 * what loopback and a loaded 2-core machine give, far below what a missing cancel gives (the
 * venue fills a working order within ~130 ms on average: p = 0.15 per 20 ms tick).
 */
export const AFTER_HALT_MS = 250;
/**
 * Sim: a journaled fill missing from fills.log (the kill came between the journal's commit and
 * the strategy's append: a few microseconds with `fsync = "always"`) is allowed when a kill came
 * within this long after the record.
 */
export const SIM_TAIL_MS = 1000;

/** Whether a kill came within SIM_TAIL_MS after `t`. */
const killedSoonAfter = (t, killTimes) => killTimes.some((k) => k >= t && k - t <= SIM_TAIL_MS);

/**
 * Whether the journal holds a record of the same run stamped after `t` (host ms; records and
 * fills.log read the same clock). The journal commits its queue in order, a prefix at a time, so
 * such a record means everything queued before it, a fill reported at `t` included (queued
 * before the strategy was told), was committed. A fill reported after the run's last committed
 * record is the uncommitted tail a kill may take under `fsync = "batch"`, however long it is: on
 * a loaded machine the niced writer thread can be a second or more behind (not a wall-clock
 * allowance, which a loaded CI box overran).
 */
function committedAfter(t, records, killTimes) {
  let nextKill = Infinity;
  for (const k of killTimes) if (k >= t && k < nextKill) nextKill = k;
  return records.some((r) => typeof r.ts === 'number' && r.ts > t && r.ts < nextKill);
}

export function prove(kind, dir, status, records, ledger, haltedAt, killTimes = []) {
  const fills = records.filter((r) => r.t === 'report' && r.report?.kind === 'fill').map((r) => r.report);
  const journalTradeIds = fills.map((f) => f.tradeId ?? `${f.clientOrderId}#${f.cumQty}`);
  // a fill applied twice has the same order and trade id (the sim's trade ids restart with the process)
  const out = { journalFills: fills.length, duplicatedFills: dupes(fills.map((f, k) => `${f.clientOrderId}|${journalTradeIds[k]}`)).length };
  const pos = (status.positions ?? []).find((p) => p.symbol === SYMBOL);
  // the instrument's scales turn ticks x lots into quote atoms (10^-(price exp + qty exp))
  const inst = records.find((r) => r.t === 'instrument' && r.instrument?.symbol === SYMBOL)?.instrument;
  const pm = BigInt(inst?.priceScale?.mantissa ?? 1n);
  const qm = BigInt(inst?.qtyScale?.mantissa ?? 1n);
  const exp = (inst?.priceScale?.exponent ?? 2) + (inst?.qtyScale?.exponent ?? 5);
  const statusQty = pos?.qty ?? 0;
  const statusRealized = pos ? scaled(pos.realizedPnl, exp) : 0n;
  const statusFees = pos ? scaled(pos.fees, exp) : 0n;
  if (ledger) {
    // the venue is the witness: its trades, its order log
    const venueTrades = ledger.trades.filter((t) => t.symbol === SYMBOL).sort((a, b) => a.id - b.id);
    const venueIds = new Set(venueTrades.map((t) => String(t.id)));
    const inJournal = new Set(journalTradeIds.map(String));
    out.venueFills = venueTrades.length;
    out.lostFills = [...venueIds].filter((id) => !inJournal.has(id)).length;
    out.unknownFills = [...inJournal].filter((id) => !venueIds.has(id)).length;
    out.ordersSent = ledger.orderRequests.length;
    out.duplicateOrders = dupes(ledger.orderRequests).length;
    out.ordersAfterHalt = haltedAt === undefined ? 0 : ledger.orders.filter((o) => o.time > haltedAt + AFTER_HALT_MS).length;
    out.fillsAfterHalt = haltedAt === undefined ? 0 : venueTrades.filter((t) => t.time > haltedAt + AFTER_HALT_MS).length;
    const book = fifo(venueTrades.map((t) => ({ side: t.side === 'BUY' ? 'buy' : 'sell', price: Number(scaled(t.price, 2)), qty: Number(scaled(t.qty, 5)) })));
    const venueFees = venueTrades.reduce((s, t) => s + (t.commissionAsset === 'USDT' ? (scaled(t.commission, 8) + 9n) / 10n : 0n), 0n);
    out.venue = { qty: book.qty, realizedTicksLots: String(book.realized), feesAtoms: String(venueFees) };
    out.app = { qty: statusQty, realizedAtoms: String(statusRealized), feesAtoms: String(statusFees) };
    out.positionMismatches = [book.qty !== statusQty, book.realized * pm * qm !== statusRealized, venueFees !== statusFees].filter(Boolean).length;
  } else {
    // in-process sim: the order log the strategy wrote synchronously, and the journal's own fills
    const sent = existsSync(join(dir, 'sent.log')) ? readFileSync(join(dir, 'sent.log'), 'utf8').split('\n').filter(Boolean) : [];
    out.ordersSent = sent.length;
    out.duplicateOrders = dupes(sent).length;
    // the fills the app reported, as the strategy logged them synchronously (the sim's witness)
    const reported = existsSync(join(dir, 'fills.log')) ? readFileSync(join(dir, 'fills.log'), 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t')) : [];
    const keyOf = (clientOrderId, tradeId, cumQty) => `${clientOrderId}|${tradeId || `${clientOrderId}#${cumQty}`}`;
    const journaled = new Map(fills.map((f, k) => [keyOf(f.clientOrderId, journalTradeIds[k], f.cumQty), f]));
    const reportedKeys = new Set(reported.map(([c, t, cum]) => keyOf(c, t, cum)));
    out.reportedFills = reported.length;
    out.lostFills = reported.filter(([c, t, cum, , at]) => !journaled.has(keyOf(c, t, cum)) && committedAfter(Number(at), records, killTimes)).length;
    out.lostTail = reported.filter(([c, t, cum]) => !journaled.has(keyOf(c, t, cum))).length - out.lostFills;
    const recordTs = new Map(records.filter((r) => r.t === 'report' && r.report?.kind === 'fill').map((r) => [keyOf(r.report.clientOrderId, r.report.tradeId ?? `${r.report.clientOrderId}#${r.report.cumQty}`, r.report.cumQty), r.ts]));
    out.unknownFills = [...journaled.keys()].filter((k) => !reportedKeys.has(k) && !killedSoonAfter(Number(recordTs.get(k)), killTimes)).length;
    out.ordersAfterHalt = haltedAt === undefined ? 0 : records.filter((r) => r.t === 'order' && r.ts > haltedAt + AFTER_HALT_MS).length;
    out.fillsAfterHalt = haltedAt === undefined ? 0 : records.filter((r) => r.t === 'report' && r.report?.kind === 'fill' && r.ts > haltedAt + AFTER_HALT_MS).length;
    const book = fifo(fills.map((f) => ({ side: f.side, price: f.lastPrice, qty: f.lastQty })));
    const fees = fills.reduce((s, f) => s + BigInt(f.feeAtoms ?? 0n), 0n);
    out.venue = { qty: book.qty, realizedTicksLots: String(book.realized), feesAtoms: String(fees), from: 'journal fills' };
    out.app = { qty: statusQty, realizedAtoms: String(statusRealized), feesAtoms: String(statusFees) };
    out.positionMismatches = [book.qty !== statusQty, book.realized * pm * qm !== statusRealized, fees !== statusFees].filter(Boolean).length;
  }
  out.finalRiskState = status.risk?.state;
  return out;
}
