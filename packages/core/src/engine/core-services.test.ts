import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../contracts/clock.js';
import { parseConfig } from '../config/load.js';
import { CwtsContainer } from '../di/container.js';
import type { Order } from '../domain/orders.js';
import { JournalStore } from '../journal/store.js';
import { silentLogger } from '../observability/logger.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { SERVICE_TOKENS } from '../services/tokens.js';
import { registerCoreServices } from './core-services.js';
import { TOKENS } from '../di/tokens.js';
import { JsComputeBackend } from '../compute/js-backend.js';

const CONFIG = [
  '[system]', 'name = "jw"',
  '[exchanges]', 'enabled = ["sim"]',
  '[risk]', 'max_position = 1000', 'max_drawdown = 0.1', 'var_confidence = 0.99',
  '[journal]', 'fsync = "always"',
].join('\n');

const order = (n: number): Order => ({
  exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 10, tif: 'GTC', source: 'test',
  clientOrderId: `cw-${n}`, status: 'pending_new', filledQty: 0, filledNotionalTicksLots: 0n, feeAtoms: 0n, createdTs: n, updatedTs: n,
});

describe('core services: the journal', () => {
  it('counts a failed commit in cwts_journal_write_failures_total and reports it to the caller (which halts)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cwts-core-services-'));
    const { config } = parseConfig(CONFIG, {}, 'jw.toml');
    const metrics = new MetricsRegistry({ processMetrics: false });
    const errors: Error[] = [];
    const root = CwtsContainer.createRoot();
    registerCoreServices(root, {
      config, clock: new ManualClock(), logger: silentLogger(), metrics, timers: false, journal: true, dataDir,
      onJournalError: (e) => errors.push(e), journalCommitTimeoutMs: 300,
    });
    const journal = root.resolve(SERVICE_TOKENS.Journal) as JournalStore;
    try {
      expect(journal.append({ t: 'order', order: order(1), ts: 1 })).toBe(true);
      expect(await metrics.text()).toMatch(/^cwts_journal_write_failures_total 0$/m);
      // Another connection holds SQLite's write lock: the writer cannot commit within the bound.
      const blocker = new Database(join(dataDir, 'jw.db'));
      blocker.prepare('BEGIN IMMEDIATE').run();
      expect(journal.append({ t: 'order', order: order(2), ts: 2 })).toBe(false);
      blocker.prepare('ROLLBACK').run();
      blocker.close();
      expect(await metrics.text()).toMatch(/^cwts_journal_write_failures_total 1$/m);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.message).toMatch(/journal .*jw\.db/);
    } finally {
      journal.close();
    }
  });
});

describe('core services: the risk manager', () => {
  it("is given the engine's clock: order_rate refills on its monotonic time, however the wall clock moves", () => {
    const { config } = parseConfig(CONFIG.replace('var_confidence = 0.99', 'var_confidence = 0.99\norders_per_second = 1'), {}, 'rate.toml');
    // wall time stands still (a clock stepped back and catching up); monotonic time runs
    let mono = 0n;
    const clock = Object.assign(new ManualClock(5_000), { monoNs: () => mono });
    const root = CwtsContainer.createRoot();
    registerCoreServices(root, { config, clock, logger: silentLogger(), metrics: new MetricsRegistry({ processMetrics: false }), timers: false, journal: false, dataDir: tmpdir(), onJournalError: () => {}, journalCommitTimeoutMs: 300 });
    root.registerValue(TOKENS.ComputeBackend, new JsComputeBackend(), '@cwts/core');
    const risk = root.resolve(SERVICE_TOKENS.RiskManager) as { checks: { name: string; check(i: unknown, ctx: unknown): { ok: boolean } }[] };
    const rate = risk.checks.find((c) => c.name === 'order_rate')!;
    const intent = { exchange: 'sim', symbol: 'BTCUSDT', side: 'buy', type: 'limit', price: 100, qty: 1, tif: 'GTC', source: 't', reason: 't' };
    const ctx = { now: 5_000 };
    expect(rate.check(intent, ctx).ok).toBe(true);
    expect(rate.check(intent, ctx).ok).toBe(false); // the burst of one is spent
    mono += 1_000_000_000n; // a second of real time; the wall clock has not moved
    expect(rate.check(intent, ctx).ok).toBe(true);
  });
});

describe('core services: the journal of a run that lost its last records', () => {
  it('says that run shut down with its last records not journaled and that this one starts HALTED, not that it crashed', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cwts-core-services-lost-'));
    const before = JournalStore.open(join(dataDir, 'jw.db'), { fsync: 'batch', batchMs: 60_000, onError: () => {} });
    before.append({ t: 'order', order: order(1), ts: 1 });
    // the writer thread dies (a worker killed for memory): what was posted to it is lost, and close() says so
    await (before as unknown as { writer: { worker: { terminate(): Promise<number> } } }).writer.worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    before.close();
    const { config } = parseConfig(CONFIG, {}, 'jw.toml');
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as ReturnType<typeof silentLogger>;
    const root = CwtsContainer.createRoot();
    registerCoreServices(root, { config, clock: new ManualClock(), logger, metrics: new MetricsRegistry({ processMetrics: false }), timers: false, journal: true, dataDir, onJournalError: () => {}, journalCommitTimeoutMs: 300 });
    const journal = root.resolve(SERVICE_TOKENS.Journal) as JournalStore;
    journal.close();
    expect(warnings.filter((w) => /previous run/.test(w))).toEqual([
      expect.stringMatching(/the previous run \(pid \d+, started .*\) shut down with its last records not journaled \(its final commit failed\); .* starts HALTED by the journal until `cwts-ultra risk resume`$/),
    ]);
  });
});

describe('core services: the journal of an earlier version whose final commit failed', () => {
  it('says the journal holds no HALT for that run, not that this one starts HALTED by the journal', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cwts-core-services-old-unclean-'));
    const path = join(dataDir, 'jw.db');
    const before = JournalStore.open(path, { onError: () => {} });
    before.append({ t: 'order', order: order(1), ts: 1 });
    before.close();
    // what an earlier version's close() left when its final commit failed: the end stamp with
    // clean_exit = 0, and no HALT
    const db = new Database(path);
    db.prepare('UPDATE runs SET clean_exit = 0').run();
    db.close();
    const { config } = parseConfig(CONFIG, {}, 'jw.toml');
    const warnings: string[] = [];
    const logger = { ...silentLogger(), warn: (_o: unknown, msg?: string) => void warnings.push(String(msg)) } as unknown as ReturnType<typeof silentLogger>;
    const root = CwtsContainer.createRoot();
    registerCoreServices(root, { config, clock: new ManualClock(), logger, metrics: new MetricsRegistry({ processMetrics: false }), timers: false, journal: true, dataDir, onJournalError: () => {}, journalCommitTimeoutMs: 300 });
    const journal = root.resolve(SERVICE_TOKENS.Journal) as JournalStore;
    expect(journal.load().lastRisk).toBeUndefined();
    journal.close();
    expect(warnings.filter((w) => /previous run/.test(w))).toEqual([
      expect.stringMatching(/shut down with its last records not journaled \(its final commit failed\); .*; the journal holds no HALT for it \(written by an earlier version\)/),
    ]);
    expect(warnings.some((w) => /starts HALTED by the journal/.test(w))).toBe(false);
  });
});
