import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loopbackHostPort } from './loopback-host.js';
import type { MetricsRegistry } from './metrics.js';
import { MetricsSnapshot } from './metrics-snapshot.js';

export interface ComponentHealth {
  name: string;
  ready: boolean;
  detail: string;
}

/** `headers`: extra response headers, e.g. `connection: close` when answering before the request body was read. */
export type RouteResult = { status: number; body: unknown; contentType?: string; headers?: Record<string, string> };
export type RouteHandler = (req: IncomingMessage) => RouteResult | Promise<RouteResult>;
/** A GET handler, or a handler for one other method (the control endpoint's POSTs). */
export type Route = RouteHandler | { method: 'POST'; handler: RouteHandler } | StreamRoute;
/** A GET that writes its own response over time (Server-Sent Events). It also gets HEAD, and must answer it with its head and end() (node drops a HEAD's body, so a stream would never answer). */
export type StreamRoute = { method: 'GET'; stream: (req: IncomingMessage, res: ServerResponse) => void };

/** A tiny JSON/text HTTP server: a fixed route table, one method per route, nothing else exposed. */
export class HttpEndpoint {
  private server: Server | undefined;

  constructor(
    readonly label: string,
    private readonly routes: Record<string, Route>,
  ) {}

  async listen(port: number, host: string): Promise<number> {
    // handle() answers its own failures; anything past that (a failure while answering one) ends
    // this response only, never the process (an unhandled rejection would).
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) =>
        reject(new Error(err.code === 'EADDRINUSE' ? `${this.label}: port ${port} on ${host} is already in use (set a different port in [monitoring])` : `${this.label}: ${err.message}`)),
      );
      this.server!.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.routes[path];
    try {
      if (!route) return send(res, 404, { error: `no route ${path}`, routes: Object.keys(this.routes) });
      const method = typeof route === 'function' ? 'GET' : route.method;
      const allowed = req.method === method || (method === 'GET' && req.method === 'HEAD');
      if (!allowed) return send(res, 405, { error: `${method} only` });
      if (typeof route !== 'function' && 'stream' in route) return route.stream(req, res);
      const out = await (typeof route === 'function' ? route : route.handler)(req);
      send(res, out.status, out.body, out.contentType, out.headers);
    } catch (err) {
      // A route that failed after its head went out (a stream) cannot get a 500: cut it off.
      if (res.headersSent) res.destroy();
      else send(res, 500, { error: err instanceof Error ? err.message : 'internal error' });
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections?.();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** A JSON body serialized once (a snapshot shared by many requests): sent as it is. */
export class SerializedJson {
  constructor(readonly json: string) {}
}

function send(res: ServerResponse, status: number, body: unknown, contentType?: string, headers?: Record<string, string>): void {
  const text = typeof body === 'string' ? body : body instanceof SerializedJson ? body.json : JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2);
  res.writeHead(status, { ...headers, 'content-type': contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json') });
  res.end(text);
}

/** `/metrics` from a snapshot rendered at most every 250 ms (metrics-snapshot.ts), whatever the scrape rate. */
export function metricsRoutes(metrics: MetricsRegistry | MetricsSnapshot): Record<string, Route> {
  const snapshot = metrics instanceof MetricsSnapshot ? metrics : new MetricsSnapshot(metrics);
  return {
    '/metrics': async () => ({ status: 200, body: await snapshot.text(), contentType: snapshot.contentType }),
  };
}

/** Liveness is the process answering; readiness is every component ready. */
export function healthRoutes(components: () => ComponentHealth[], status: () => unknown): Record<string, Route> {
  const ready = () => {
    const list = components();
    return { ready: list.every((c) => c.ready), components: list };
  };
  return {
    '/health/live': () => ({ status: 200, body: { live: true } }),
    '/health/ready': () => {
      const r = ready();
      return { status: r.ready ? 200 : 503, body: r };
    },
    '/health': () => {
      const r = ready();
      return { status: r.ready ? 200 : 503, body: { live: true, ...r } };
    },
    '/status': () => ({ status: 200, body: status() }),
  };
}

/**
 * Wraps routes so each needs the control token: `Authorization: Bearer <token>`, or HTTP Basic
 * with the token as the password (any user name). Basic is what lets a browser open the live
 * page: it prompts once and resends the credentials with the page's EventSource, which cannot
 * set headers. Used for /status and the live page when the health endpoint is bound off loopback;
 * probes (/health/*) and /metrics stay open. `accepts` compares in constant time (risk's
 * tokensEqual; observability sits below risk); `hint` says where the token is found.
 */
export function requireToken(routes: Record<string, Route>, accepts: (presented: string) => boolean, hint: string): Record<string, Route> {
  const authorized = (req: IncomingMessage): boolean => {
    const auth = req.headers.authorization ?? '';
    let presented = '';
    if (auth.startsWith('Bearer ')) presented = auth.slice(7).trim();
    else if (auth.startsWith('Basic ')) {
      const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
      presented = decoded.slice(decoded.indexOf(':') + 1);
    }
    return presented !== '' && accepts(presented);
  };
  const denied: RouteResult = {
    status: 401,
    body: { error: `control token required: send Authorization: Bearer <token>, or log in with the token as the password (${hint})` },
    headers: { 'www-authenticate': 'Basic realm="cwts-ultra", charset="UTF-8"' },
  };
  const out: Record<string, Route> = {};
  for (const [path, route] of Object.entries(routes)) {
    if (typeof route === 'function') out[path] = (req) => (authorized(req) ? route(req) : denied);
    else if ('stream' in route)
      out[path] = {
        method: route.method,
        stream: (req, res) => {
          if (authorized(req)) return route.stream(req, res);
          send(res, denied.status, denied.body, undefined, denied.headers);
        },
      };
    else out[path] = { method: route.method, handler: (req) => (authorized(req) ? route.handler(req) : denied) };
  }
  return out;
}

/**
 * Wraps routes so each answers only requests addressed to loopback: a Host header naming
 * `127.x.y.z`, `localhost` or `[::1]` (any port: an SSH tunnel may use another local port), 403
 * otherwise. For /status and the live page when the health endpoint is bound to loopback and asks
 * no token: any web page in a browser on the host can reach a loopback port by DNS rebinding, but
 * its requests name the page's host (`Host: attacker.example:8080`). The rule is the control
 * endpoint's (loopback-host.ts), which also wants its own port. `onRefused` sees each refusal.
 */
export function requireLoopbackHost(routes: Record<string, Route>, onRefused?: (path: string, host: string) => void): Record<string, Route> {
  const refused = (req: IncomingMessage): RouteResult | undefined => {
    if (loopbackHostPort(req.headers.host) !== undefined) return undefined;
    onRefused?.((req.url ?? '/').split('?')[0]!, String(req.headers.host ?? '').slice(0, 100));
    return { status: 403, body: { error: 'Host must be 127.0.0.1, localhost or [::1]: this endpoint answers only requests addressed to loopback' } };
  };
  const out: Record<string, Route> = {};
  for (const [path, route] of Object.entries(routes)) {
    if (typeof route === 'function') out[path] = (req) => refused(req) ?? route(req);
    else if ('stream' in route)
      out[path] = {
        method: route.method,
        stream: (req, res) => {
          const no = refused(req);
          if (!no) return route.stream(req, res);
          send(res, no.status, no.body);
        },
      };
    else out[path] = { method: route.method, handler: (req) => refused(req) ?? route.handler(req) };
  }
  return out;
}
