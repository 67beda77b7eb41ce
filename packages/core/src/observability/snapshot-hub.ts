import type { IncomingMessage, ServerResponse } from 'node:http';
import { SerializedJson } from './http.js';
import { LogThrottle } from './log-throttle.js';
import type { Logger } from './logger.js';

const jsonReplacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);

const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' } as const;

interface Cached {
  at: number;
  value: unknown;
  json: string;
}

interface Client {
  res: ServerResponse;
  /** The socket's buffer is full: skip snapshots until it drains (a slow reader never grows our memory). */
  blocked: boolean;
}

export interface SnapshotHubOptions {
  /** At least 250 ms (default): the page updates at most 4 times a second. */
  intervalMs?: number;
  /** Live-page viewers at once (default 32); more get 503. */
  maxClients?: number;
  /** Monotonic ms (default performance.now); tests inject one. */
  now?: () => number;
  /** Where a failing provider is reported (at most once per 10 s, with the count held back). */
  logger?: Logger;
}

/**
 * One status snapshot shared by `/status` and every live-page viewer. The provider (which walks
 * the engine's books and positions) runs at most once per `intervalMs`, however many clients
 * there are: while viewers are connected a timer refreshes it and writes the same serialized
 * bytes to each of them as a Server-Sent Event; `/status` reuses it when it is fresh.
 *
 * A provider that throws (or a snapshot that cannot be serialized) never escapes a timer or a
 * response already under way: `/status` answers 500, a new `/events` viewer gets 500 before any
 * stream starts, and a periodic publish skips that frame (viewers keep the last one and get the
 * next good one). Failures are counted (`failures`) and logged, rate-limited.
 */
export class SnapshotHub {
  private cached: Cached | undefined;
  private readonly clients = new Set<Client>();
  private timer: NodeJS.Timeout | undefined;
  private published = 0;
  private failed = 0;
  private readonly intervalMs: number;
  private readonly maxClients: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;
  private readonly throttle: LogThrottle;

  /** `options`: the settings, or (older form) the interval in ms followed by maxClients and now. */
  constructor(provider: () => unknown, options?: SnapshotHubOptions | number, maxClients?: number, now?: () => number);
  constructor(
    private readonly provider: () => unknown,
    options: SnapshotHubOptions | number = {},
    maxClients?: number,
    now?: () => number,
  ) {
    const o: SnapshotHubOptions = typeof options === 'number' ? { intervalMs: options, maxClients, now } : options;
    this.intervalMs = o.intervalMs ?? 250;
    this.maxClients = o.maxClients ?? 32;
    this.now = o.now ?? (() => performance.now());
    this.logger = o.logger;
    this.throttle = new LogThrottle(this.now);
    if (this.intervalMs < 250) throw new RangeError(`snapshot interval must be at least 250 ms, got ${this.intervalMs}`);
  }

  /** The snapshot, recomputed only when older than the interval. */
  current(): unknown {
    return this.fresh().value;
  }

  /** The same snapshot already serialized (`/status`): one JSON.stringify per interval, not per request. */
  currentJson(): SerializedJson {
    // A failure is `/status`'s 500 (HttpEndpoint answers it); it is counted and logged here too.
    const f = this.tryFresh('/status');
    if (!f) throw new Error('the status snapshot could not be made; see the engine log');
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

  /** Snapshots that could not be made (the provider threw, or its value did not serialize). */
  get failures(): number {
    return this.failed;
  }

  private fresh(): Cached {
    const t = this.now();
    if (!this.cached || t - this.cached.at >= this.intervalMs) {
      const value = this.provider();
      this.cached = { at: t, value, json: JSON.stringify(value, jsonReplacer) };
    }
    return this.cached;
  }

  /** The fresh snapshot, or undefined when it cannot be made now (counted and logged). */
  private tryFresh(where: string): Cached | undefined {
    try {
      return this.fresh();
    } catch (err) {
      this.failed++;
      const more = this.throttle.take(where);
      if (more !== undefined) {
        const message = errorText(err);
        this.logger?.error({ err: message, where, failures: this.failed }, `status snapshot failed (${where}): ${message}${more}`);
      }
      return undefined;
    }
  }

  /**
   * An SSE stream: the current snapshot at once, then one per interval until the client leaves.
   * A HEAD (HttpEndpoint lets it through to GET routes) gets the stream's head and the response
   * ends: node drops a HEAD's body writes, so a stream would never send its head, and the probe
   * would hold a viewer slot for as long as it stayed connected. No snapshot is made for it.
   */
  serve(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= this.maxClients) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5' });
      res.end(`too many live viewers (${this.maxClients})\n`);
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200, SSE_HEAD);
      res.end();
      return;
    }
    // The first snapshot is made before the head goes out: a failure is still an honest 500.
    const first = this.tryFresh('live page')?.json;
    if (first === undefined) {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '2' });
      res.end('the status snapshot could not be made; see the engine log\n');
      return;
    }
    res.writeHead(200, SSE_HEAD);
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
    this.write(client, `event: snapshot\ndata: ${first}\n\n`);
    this.timer ??= setInterval(() => this.publish(), this.intervalMs);
    this.timer.unref();
  }

  private publish(): void {
    if (this.clients.size === 0) return this.stopTimer();
    // A failed snapshot skips this frame: viewers keep the last one until the next good one.
    const json = this.tryFresh('live page update')?.json;
    if (json === undefined) return;
    const frame = `event: snapshot\ndata: ${json}\n\n`;
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

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  try {
    return String(err);
  } catch {
    return 'unprintable error';
  }
}
