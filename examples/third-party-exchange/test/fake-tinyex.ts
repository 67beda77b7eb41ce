/** A local TinyEx for tests: the protocol in src/protocol.ts, on 127.0.0.1, seeded. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConformanceVenue } from '@cwts/core/testing';
import { tinyexChecksum } from '../src/protocol.js';

// tick 0.5, lot 0.001: prices are half-units, quantities thousandths
const px = (halfUnits: number) => String(halfUnits / 2);
const qx = (milli: number) => (milli / 1000).toString();

export class FakeTinyEx implements ConformanceVenue {
  private readonly bids = new Map<number, number>();
  private readonly asks = new Map<number, number>();
  private seq = 100;
  private tradeId = 0;
  private skip = false;
  private corrupt = false;
  private readonly conns = new Set<WebSocket>();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private a: number;
  port = 0;

  private constructor(seed: number) {
    this.a = seed >>> 0;
    for (let k = 1; k <= 20; k++) {
      this.bids.set(200 - k, 1 + Math.floor(this.rnd() * 5000));
      this.asks.set(200 + k, 1 + Math.floor(this.rnd() * 5000));
    }
    this.server = createServer((req, res) => {
      if (req.url === '/v1/instruments') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify([{ symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tick: '0.5', lot: '0.001', min_notional: '1' }]));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    this.wss = new WebSocketServer({ server: this.server, path: '/v1/feed' });
    this.wss.on('connection', (ws) => {
      this.conns.add(ws);
      ws.on('close', () => this.conns.delete(ws));
      ws.on('message', (d) => {
        let m: { op?: string };
        try {
          m = JSON.parse(String(d));
        } catch {
          return;
        }
        if (m.op === 'subscribe' || m.op === 'snapshot') ws.send(JSON.stringify(this.snapshot()));
      });
    });
  }

  static async start(seed = 9): Promise<FakeTinyEx> {
    const f = new FakeTinyEx(seed);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.port = (f.server.address() as AddressInfo).port;
    return f;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  private rnd(): number {
    this.a = (Math.imul(this.a, 1664525) + 1013904223) >>> 0;
    return this.a / 4294967296;
  }

  private levels(m: Map<number, number>, bid: boolean, n: number): [string, string][] {
    return [...m].sort((x, y) => (bid ? y[0] - x[0] : x[0] - y[0])).slice(0, n).map(([p, q]) => [px(p), qx(q)]);
  }

  private snapshot() {
    return { type: 'snapshot', symbol: 'BTC-USD', seq: this.seq, bids: this.levels(this.bids, true, 50), asks: this.levels(this.asks, false, 50) };
  }

  private broadcast(m: unknown): void {
    const t = JSON.stringify(m);
    for (const c of this.conns) c.send(t);
  }

  step(_symbol: string, n: number): void {
    for (let k = 0; k < n; k++) {
      const changes: [string, string, string][] = [];
      for (let j = 0; j < 2; j++) {
        const bid = this.rnd() < 0.5;
        const p = bid ? 200 - 1 - Math.floor(this.rnd() * 15) : 200 + 1 + Math.floor(this.rnd() * 15);
        const q = this.rnd() < 0.3 ? 0 : 1 + Math.floor(this.rnd() * 5000);
        const m = bid ? this.bids : this.asks;
        if (q === 0) m.delete(p);
        else m.set(p, q);
        changes.push([bid ? 'b' : 'a', px(p), qx(q)]);
      }
      this.seq++;
      if (this.skip) {
        this.skip = false;
        continue; // this update is never sent: a gap
      }
      let checksum = tinyexChecksum(this.levels(this.bids, true, 10), this.levels(this.asks, false, 10));
      if (this.corrupt) {
        this.corrupt = false;
        checksum ^= 1;
      }
      this.broadcast({ type: 'update', symbol: 'BTC-USD', seq: this.seq, changes, checksum });
    }
  }

  trade(symbol: string, t: { price: string; qty: string; side: 'buy' | 'sell' }): string {
    const id = ++this.tradeId;
    this.broadcast({ type: 'trade', symbol, id, price: t.price, qty: t.qty, side: t.side, ts: Date.now() });
    return String(id);
  }

  skipSequence(): void {
    this.skip = true;
  }
  corruptChecksum(): void {
    this.corrupt = true;
  }
  truth(_symbol: string, n: number) {
    return { bids: this.levels(this.bids, true, n), asks: this.levels(this.asks, false, n) };
  }
  dropConnections(): void {
    for (const c of this.conns) c.terminate();
    this.conns.clear();
  }
  sendRaw(text: string): void {
    for (const c of this.conns) c.send(text);
  }
  connectionCount(): number {
    return this.conns.size;
  }
  async close(): Promise<void> {
    for (const c of this.conns) c.terminate();
    this.wss.close();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
