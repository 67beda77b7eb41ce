/**
 * The disaster-recovery drill (docs/operations.md "Backup and disaster recovery"), against the
 * local Binance server in its own process, which goes on trading through the whole drill:
 *
 * 1. the app trades; `cwts-ultra journal backup` copies the journal while it runs;
 * 2. the app trades on (orders and fills the backup does not have), then is killed, and its
 *    data directory is destroyed;
 * 3. the venue is frozen (a still picture to compare with), `cwts-ultra journal restore` puts
 *    the backup back, the app restarts, restores, reconciles with the venue, and trades again;
 * 4. after a clean stop (orders kept at the venue) the proof compares the journal with the
 *    venue's own records: every venue fill journaled once, position, realized PnL and fees as
 *    the venue's trades give them, every order working at the venue open in the journal and
 *    every acknowledged open order in the journal working at the venue, no client id sent twice.
 *
 * Returns the measurements; never throws for a failed proof (the caller asserts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { config, exportJournal, getJson, prove, startApp, startVenue, until } from './harness.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'packages/core/bin/cwts-ultra.js');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function cli(args) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

async function ready(app) {
  const ports = await app.ports;
  await until(async () => (await fetch(`http://127.0.0.1:${ports.health}/health/ready`)).status === 200, 'readiness', 60_000);
  return ports;
}

export async function runRecoveryDrill({ seed = 7, tradeMs = 2500, progress = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cwts-drill-'));
  const data = join(dir, 'data');
  const journal = join(data, 'journal.db');
  const backup = join(dir, 'backup', 'journal-backup.db');
  const log = join(dir, 'app.log');
  const venue = startVenue(dir, seed);
  const result = { dir, steps: [], errors: [] };
  try {
    const port = await venue.port;
    // The chaos config, with the journal in a data directory of its own (the thing destroyed)
    // and orders kept at the venue on SIGTERM (so the final picture still has working orders).
    const cfg = config('binance', dir, port, 'batch');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(`path = "${join(dir, 'journal.db')}"`, `path = "${journal}"`).replace('on_shutdown = "cancel"', 'on_shutdown = "keep"'));

    progress('drill: trading, then backing up while the app runs');
    let app = startApp(cfg, dir, log);
    await ready(app);
    await sleep(tradeMs);
    const b = cli(['journal', 'backup', '--journal', journal, '--out', backup]);
    result.steps.push({ step: 'backup', ...b });
    if (b.code !== 0) throw new Error(`journal backup failed: ${b.out}`);
    result.backupOrders = Number(/, (\d+) orders,/.exec(b.out)?.[1]);
    result.backupFills = Number(/, (\d+) fills,/.exec(b.out)?.[1]);

    progress('drill: trading on past the backup, then the disaster');
    await sleep(tradeMs);
    app.child.kill('SIGKILL');
    await app.exited;
    rmSync(data, { recursive: true, force: true });
    result.steps.push({ step: 'data dir destroyed' });

    progress('drill: restore, restart, reconcile');
    venue.pause();
    await sleep(100);
    const atRestore = await venue.snapshot();
    // What the backup does not have: the venue's orders and trades made after it was taken.
    const inBackup = exportJournal(dirname(backup), 'journal-backup.db');
    const backupIds = new Set(inBackup.filter((x) => x.t === 'order').map((x) => x.order.clientOrderId));
    const backupTrades = new Set(inBackup.filter((x) => x.t === 'report' && x.report.kind === 'fill').map((x) => String(x.report.tradeId)));
    result.ordersMissingFromBackup = atRestore.orderRequests.filter((id) => !backupIds.has(id)).length;
    result.fillsMissingFromBackup = atRestore.trades.filter((t) => !backupTrades.has(String(t.id))).length;
    const r = cli(['journal', 'restore', '--journal', journal, '--from', backup]);
    result.steps.push({ step: 'restore', ...r });
    if (r.code !== 0) throw new Error(`journal restore failed: ${r.out}`);

    app = startApp(cfg, dir, log);
    const ports = await ready(app);
    // Trading resumes on the restored journal (new client ids must not collide with lost ones).
    await sleep(tradeMs);
    const status = (await getJson(`http://127.0.0.1:${ports.health}/status`)).body;
    result.reconcile = status.reconcile;
    app.child.kill('SIGTERM');
    const exit = await app.exited;
    result.cleanExit = exit.code === 0;

    const ledger = await venue.snapshot();
    const records = exportJournal(data);
    Object.assign(result, prove('binance', dir, status, records, ledger, undefined));
    // Open orders, both ways. The venue is frozen: its working orders are exactly these.
    const venueOpen = new Set(ledger.orders.filter((o) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED').map((o) => o.clientOrderId));
    const last = new Map();
    for (const rec of records) {
      if (rec.t === 'order') last.set(rec.order.clientOrderId, 'pending_new');
      else if (rec.t === 'report') last.set(rec.report.clientOrderId, rec.order.status);
      else if (rec.t === 'reconcile' && rec.kind === 'closed' && rec.clientOrderId) last.set(rec.clientOrderId, 'cancelled');
    }
    const journalOpen = [...last].filter(([, st]) => st === 'open' || st === 'partially_filled').map(([id]) => id);
    result.venueOpenOrders = venueOpen.size;
    result.journalOpenOrders = journalOpen.length;
    result.untrackedAtVenue = [...venueOpen].filter((id) => !['open', 'partially_filled', 'pending_new', 'pending_cancel'].includes(last.get(id)));
    result.openInJournalOnly = journalOpen.filter((id) => !venueOpen.has(id));
  } catch (err) {
    result.errors.push(err.message.split('\n').slice(0, 6).join(' | '));
  } finally {
    await venue.stop().catch(() => undefined);
  }
  return result;
}
