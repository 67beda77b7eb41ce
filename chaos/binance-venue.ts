/**
 * The chaos harness's Binance venue: the local Binance server (packages/exchange-binance/test/
 * fake-binance.ts) in its own process, so killing the app never touches it. It moves the book,
 * prints trades, and fills resting orders at random (maker), so fills happen while the app is
 * up, while it is being killed and while it is down. It records every order request it received
 * and every trade it made; on SIGTERM it writes that ledger to the file named by argv[2] and exits
 * (SIGUSR2 writes it and goes on; SIGHUP stops the trades and the fills).
 *
 * Run: node --import tsx chaos/binance-venue.ts <ledger.json> <seed>
 * First stdout line: {"port": N}.
 */
import { writeFileSync } from 'node:fs';
import { FakeBinance } from '../packages/exchange-binance/test/fake-binance.js';

const ledgerPath = process.argv[2]!;
const seed = Number(process.argv[3] ?? 1);
let s = seed >>> 0 || 1;
const rnd = () => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) / 4294967296;
};

const f = await FakeBinance.start({ apiKey: 'chaos-test-key', apiSecret: 'chaos-test-secret', symbols: ['BTCUSDT'], seed, pingIntervalMs: 0 });
process.stdout.write(`${JSON.stringify({ port: f.port })}\n`);

const LOT = 100_000; // lots per 1 BTC (lot 0.00001)
const units = (t: string) => Math.round(Number(t) * LOT);
const fmtQty = (lots: number) => (lots / LOT).toFixed(5);

let paused = false;
let dumps = 0;
const timer = setInterval(() => {
  f.step('BTCUSDT', 1);
  if (paused) return;
  if (rnd() < 0.3) f.trade('BTCUSDT', { price: '65000.00', qty: '0.01000', side: rnd() < 0.5 ? 'buy' : 'sell' });
  for (const o of f.orders.values()) {
    if (o.status !== 'NEW' && o.status !== 'PARTIALLY_FILLED') continue;
    if (rnd() > 0.15) continue;
    const left = units(o.origQty) - units(o.executedQty);
    const part = rnd() < 0.5 ? left : Math.max(1, Math.floor(left * rnd()));
    f.fill(o.orderId, fmtQty(part), true);
  }
}, 20);

function dump(): void {
  dumps++;
  const orders = [...f.orders.values()].map((o) => ({ clientOrderId: o.clientOrderId, orderId: o.orderId, status: o.status, side: o.side, origQty: o.origQty, executedQty: o.executedQty, time: o.time }));
  // `dump` changes with every write, so a reader can tell a fresh ledger from the last one.
  writeFileSync(ledgerPath, JSON.stringify({ dump: dumps, orderRequests: f.wsApi.orderRequests, trades: f.wsApi.trades, orders }, null, 1));
}

process.on('SIGTERM', () => {
  clearInterval(timer);
  dump();
  void f.close().finally(() => process.exit(0));
});
process.on('SIGUSR2', dump);
// SIGHUP freezes the trades and the fills; the book keeps moving so books stay fresh (the
// recovery drill compares a still picture of orders and trades).
process.on('SIGHUP', () => {
  paused = true;
});
