import type { IncomingMessage, ServerResponse } from 'node:http';
import { SerializedJson } from './http.js';

const jsonReplacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

interface Client {
  res: ServerResponse;
  /** The socket's buffer is full: skip snapshots until it drains (a slow reader never grows our memory). */
  blocked: boolean;
}

/**
 * One status snapshot shared by `/status` and every live-page viewer. The provider (which walks
 * the engine's books and positions) runs at most once per `intervalMs`, however many clients
 * there are: while viewers are connected a timer refreshes it and writes the same serialized
 * bytes to each of them as a Server-Sent Event; `/status` reuses it when it is fresh.
 */
export class SnapshotHub {
  private cached: { at: number; value: unknown; json: string } | undefined;
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;
  private published = 0;

  constructor(
    private readonly provider: () => unknown,
    /** At least 250 ms: the page updates at most 4 times a second. */
    private readonly intervalMs = 250,
    private readonly maxClients = 32,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (intervalMs < 250) throw new RangeError(`snapshot interval must be at least 250 ms, got ${intervalMs}`);
  }

  /** The snapshot, recomputed only when older than the interval. */
  current(): unknown {
    return this.fresh().value;
  }

  /** The same snapshot already serialized (`/status`): one JSON.stringify per interval, not per request. */
  currentJson(): SerializedJson {
    const f = this.fresh();
    if (this.body?.source !== f) this.body = { source: f, json: new SerializedJson(f.json) };
    return this.body.json;
  }
  private body: { source: object; json: SerializedJson } | undefined;

  get viewers(): number {
    return this.clients.size;
  }

  /** Snapshots written to viewers so far (each publish counts once, not per viewer). */
  get publishes(): number {
    return this.published;
  }

  private fresh() {
    const t = this.now();
    if (!this.cached || t - this.cached.at >= this.intervalMs) {
      const value = this.provider();
      this.cached = { at: t, value, json: JSON.stringify(value, jsonReplacer) };
    }
    return this.cached;
  }

  /** An SSE stream: the current snapshot at once, then one per interval until the client leaves. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(`too many live viewers (${this.maxClients})\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const client: Client = { res, blocked: false };
    this.clients.add(client);
    res.on('drain', () => (client.blocked = false));
    const leave = () => {
      this.clients.delete(client);
      if (this.clients.size === 0) this.stopTimer();
    };
    req.on('close', leave);
    res.on('error', leave);
    this.write(client, `retry: 2000\n`);
    this.write(client, `event: snapshot\ndata: ${this.fresh().json}\n\n`);
    this.timer ??= setInterval(() => this.publish(), this.intervalMs);
    this.timer.unref();
  }

  private publish(): void {
    if (this.clients.size === 0) return this.stopTimer();
    const frame = `event: snapshot\ndata: ${this.fresh().json}\n\n`;
    this.published++;
    for (const c of this.clients) if (!c.blocked) this.write(c, frame);
  }

  private write(c: Client, text: string): void {
    if (!c.res.write(text)) c.blocked = true;
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Ends every stream (shutdown). */
  close(): void {
    this.stopTimer();
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
