/**
 * A stop that comes before start() has restored the journal (SIGTERM while the venues load their
 * instruments, or a startup that fails there: a venue's REST API down) must journal nothing of
 * the un-restored engine: its 'stop' snapshot would write the starting capital as the equity
 * peak, and the next start restores the drawdown peak from the LAST peak record, so every
 * failed startup (and every Restart=on-failure after it) would reset the drawdown to 0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../config/load.js';
import { composeDeployment } from './compose.js';
import { MetricsRegistry } from '../observability/metrics.js';
import { silentLogger } from '../observability/logger.js';
import { JournalStore, loadContents } from '../journal/store.js';

const dir = mkdtempSync(path.join(tmpdir(), 'cwts-stop-before-restore-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function config(): string {
  const f = path.join(dir, 'config.toml');
  writeFileSync(
    f,
    `[system]\nname = "peak"\nmode = "paper"\n\n[exchanges]\nenabled = ["sim"]\n\n[sim]\nplugin = "@cwts/exchange-sim"\nsymbols = ["BTCUSDT"]\n\n` +
      `[risk]\nmax_position = 100000\nmax_drawdown = 0.15\nkelly_fraction = 0.25\nvar_confidence = 0.99\n\n[compute]\nbackends = ["js"]\n`,
  );
  return f;
}

const compose = (dataDir: string) =>
  composeDeployment({ loaded: loadConfigFile(config()), logger: silentLogger(), metrics: new MetricsRegistry(), journal: true, dataDir, watchdog: false });

/** The journal's last peak record, and how many snapshots it holds. */
const journaled = (dataDir: string): { peak: bigint | undefined; snapshots: number } => {
  const db = JournalStore.openReadOnly(path.join(dataDir, 'peak.db'));
  try {
    const contents = loadContents(db);
    return { peak: contents.lastPeak?.peak, snapshots: contents.counts.snapshots };
  } finally {
    db.close();
  }
};

/** Session 1: the account made a new high (`pct` % above the starting capital), then lost it. */
async function sessionWithHigh(dataDir: string, pct: bigint): Promise<bigint> {
  const first = await compose(dataDir);
  await first.engine.start();
  expect(first.engine.restored).toBe(true);
  const high = (first.risk.equitySnapshot().peak * (100n + pct)) / 100n;
  first.risk.restore({ peak: high });
  await first.dispose();
  expect(journaled(dataDir).peak).toBe(high);
  return high;
}

describe('a stop before the journal is restored', () => {
  it('a startup that fails in loadInstruments does not reset the journaled drawdown peak', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const high = await sessionWithHigh(dataDir, 10n);
    const before = journaled(dataDir);

    // Session 2: the venue's REST API is down at startup; run stops ("startup failed").
    const second = await compose(dataDir);
    second.engine.venue('sim')!.marketData.loadInstruments = () => Promise.reject(new Error('venue REST unreachable'));
    await expect(second.engine.start()).rejects.toThrow(/venue REST unreachable/);
    expect(second.engine.restored).toBe(false);
    await second.dispose();

    // The journal is as session 1 left it: nothing was restored, nothing happened.
    expect(journaled(dataDir)).toEqual(before);

    // Session 3: the drawdown is measured from the real peak, not from the starting capital.
    const third = await compose(dataDir);
    await third.engine.start();
    try {
      expect(third.risk.equitySnapshot().peak).toBe(high);
    } finally {
      await third.dispose();
    }
  }, 30_000);

  it('a SIGTERM during loadInstruments (stop() while start() waits for the venue) does not reset it either', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const high = await sessionWithHigh(dataDir, 20n);
    const before = journaled(dataDir);

    const second = await compose(dataDir);
    const md = second.engine.venue('sim')!.marketData;
    let release!: () => void;
    const original = md.loadInstruments.bind(md);
    md.loadInstruments = async (symbols) => {
      await new Promise<void>((r) => (release = r));
      return original(symbols);
    };
    const starting = second.engine.start();
    await second.engine.stop('SIGTERM');
    release();
    await starting;
    // `run` reads this: an engine stopped before its restore holds nothing, so it is not "flat".
    expect(second.engine.restored).toBe(false);
    await second.dispose();

    expect(journaled(dataDir)).toEqual(before);
    expect(before.peak).toBe(high);
  }, 30_000);

  it('a halt while the venues load (the control endpoint is up before start) journals no peak either', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'data-'));
    const high = await sessionWithHigh(dataDir, 30n);

    const second = await compose(dataDir);
    const md = second.engine.venue('sim')!.marketData;
    let release!: () => void;
    const original = md.loadInstruments.bind(md);
    md.loadInstruments = async (symbols) => {
      await new Promise<void>((r) => (release = r));
      return original(symbols);
    };
    const starting = second.engine.start();
    second.engine.halt('operator');
    await second.engine.stop('SIGTERM');
    release();
    await starting;
    await second.dispose();

    expect(journaled(dataDir).peak).toBe(high);
  }, 30_000);
});
