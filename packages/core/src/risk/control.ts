import type { IncomingMessage } from 'node:http';
import { HttpEndpoint, type RouteResult } from '../observability/http.js';
import type { Logger } from '../observability/logger.js';
import { LogThrottle } from '../observability/log-throttle.js';
import { loopbackHostPort } from '../observability/loopback-host.js';
import type { RiskStateName } from './risk-state.js';
import { CONTROL_TOKEN_ENV, CONTROL_TOKEN_FILE, tokensEqual } from './control-token.js';

/** What the control endpoint drives (RiskManager implements it). */
export interface RiskControls {
  halt(reason?: string): void;
  reduce(reason?: string): void;
  resume(reason?: string): RiskStateName;
  status(): Record<string, unknown>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
/**
 * @deprecated No longer required: the bearer token is the credential. Still sent by
 * `controlRequest` so an older engine keeps answering a newer CLI.
 */
export const CONTROL_HEADER = 'x-cwts-control';
/** Largest request body read; anything larger is answered 413 without reading on. */
export const MAX_CONTROL_BODY = 4096;

/** Answers sent before the body was read close the connection, so the rest is never read. */
const reject = (status: number, error: string, extra?: Record<string, string>): RouteResult => ({ status, body: { error }, headers: { connection: 'close', ...extra } });

export interface RiskControlServerOptions {
  /** The bearer token every request must carry (control-token.ts: establishControlToken). */
  token: string;
  logger?: Logger;
}

/**
 * The manual kill switch over HTTP, bound to loopback (127.0.0.1 by default,
 * `[monitoring] control_bind_address`):
 *   GET  /risk          state, triggers, equity, drawdown, VaR (JSON)
 *   POST /risk/halt     HALTED: cancel all open orders, refuse new ones
 *   POST /risk/reduce   REDUCING: only orders that reduce exposure
 *   POST /risk/resume   back to ACTIVE (the only way out of HALTED)
 * Every request needs `Authorization: Bearer <token>` (401 otherwise, compared in constant time)
 * and a Host header naming loopback with the endpoint's port (403 otherwise: DNS rebinding).
 * An optional JSON body `{"reason": "..."}` of at most 4 KiB (413 beyond) is logged and shown in
 * the state's reason. The token is never logged; refusals are logged at most once per 10 s per
 * kind, with the number held back.
 */
export class RiskControlServer {
  private readonly endpoint: HttpEndpoint;
  private readonly token: string;
  private readonly logger: Logger | undefined;
  /**
   * Refusals are logged at most once per 10 s per kind (wrong Host, no token, wrong token), with
   * the count held back: any local process, or any web page through no-cors POSTs to the loopback
   * port, can send them as fast as it likes, and each line is a synchronous write on the engine
   * thread. The health endpoint throttles its refusals the same way.
   */
  private readonly refusals = new LogThrottle(() => performance.now());
  private port = 0;

  constructor(
    private readonly controls: RiskControls,
    opts: RiskControlServerOptions,
  ) {
    if (!opts?.token) throw new Error('risk control endpoint: a token is required');
    this.token = opts.token;
    this.logger = opts.logger;
    const action = (name: 'halt' | 'reduce' | 'resume') => ({ method: 'POST' as const, handler: (req: IncomingMessage) => this.act(name, req) });
    this.endpoint = new HttpEndpoint('risk control endpoint', {
      '/risk': (req) => this.refuse(req, 'status') ?? this.statusAnswer(500),
      '/risk/halt': action('halt'),
      '/risk/reduce': action('reduce'),
      '/risk/resume': action('resume'),
    });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (!LOOPBACK.test(host)) throw new Error(`risk control endpoint: ${host} is not a loopback address; the kill switch only listens on loopback`);
    this.port = await this.endpoint.listen(port, host);
    return this.port;
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  /** The checks every request passes before anything else is read: Host, then token. */
  private refuse(req: IncomingMessage, action: string): RouteResult | undefined {
    // A page served from any other name (DNS rebinding) is refused (observability/loopback-host.ts).
    if (loopbackHostPort(req.headers.host) !== this.port) {
      const more = this.refusals.take('host');
      if (more !== undefined) this.logger?.warn({ action, host: String(req.headers.host ?? '').slice(0, 100) }, `risk control: ${action} refused: Host is not loopback:${this.port}${more}`);
      return reject(403, `Host must be 127.0.0.1, localhost or [::1] with port ${this.port}`);
    }
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (!presented || !tokensEqual(presented, this.token)) {
      const more = this.refusals.take(presented ? 'wrong token' : 'no token');
      if (more !== undefined) this.logger?.warn({ action }, `risk control: ${action} refused: ${presented ? 'wrong' : 'no'} token${more}`);
      return reject(401, `${presented ? 'wrong' : 'missing'} control token: send Authorization: Bearer <token> (${CONTROL_TOKEN_ENV}, or ${CONTROL_TOKEN_FILE} in the engine's data directory)`, { 'www-authenticate': 'Bearer' });
    }
    return undefined;
  }

  private async act(action: 'halt' | 'reduce' | 'resume', req: IncomingMessage): Promise<RouteResult> {
    const refused = this.refuse(req, action);
    if (refused) return refused;
    const body = await readBody(req, MAX_CONTROL_BODY);
    if (body === undefined) return reject(413, `body over ${MAX_CONTROL_BODY} bytes`);
    let reason = 'manual (control endpoint)';
    if (body.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return { status: 400, body: { error: 'body must be JSON, e.g. {"reason": "..."}' } };
      }
      const r = (parsed as { reason?: unknown })?.reason;
      if (r !== undefined && typeof r !== 'string') return { status: 400, body: { error: 'reason must be a string' } };
      if (r) reason = r.slice(0, 200);
    }
    this.logger?.warn({ action, reason }, `risk control: ${action} (${reason})`);
    let state: RiskStateName | undefined;
    if (action === 'halt') this.controls.halt(reason);
    else if (action === 'reduce') this.controls.reduce(reason);
    else state = this.controls.resume(reason);
    // The action took effect: a status that cannot be built does not turn it into a 500 (the
    // CLI would report a halt that held as failed, and the operator press it again or give up).
    return this.statusAnswer(200, { action, applied: true, ...(state !== undefined ? { state } : {}) });
  }

  /** 200 and the status; when building it throws, `failedStatus` and what is known instead. */
  private statusAnswer(failedStatus: number, known: Record<string, unknown> = {}): RouteResult {
    try {
      return { status: 200, body: this.controls.status() };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.logger?.error({ err: err instanceof Error ? err.stack : message }, `risk control: the risk status failed: ${message}`);
      return { status: failedStatus, body: { ...known, error: `risk status failed: ${message}` } };
    }
  }
}

/** The body as text, or undefined when it is (or announces itself as) larger than `limit`. */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, rejectBody) => {
    let size = 0;
    const chunks: Buffer[] = [];
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // stop here; the 413 goes out with `connection: close`, so the rest is never read
        req.off('data', onData);
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', rejectBody);
  });
}

/** Client side of the endpoint, for `cwts-ultra risk ...`. */
export async function controlRequest(
  url: string,
  action: 'status' | 'halt' | 'reduce' | 'resume',
  opts: { token: string; reason?: string },
): Promise<{ status: number; body: unknown }> {
  const base = url.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${opts.token}` };
  const init: RequestInit =
    action === 'status'
      ? { method: 'GET', headers: auth }
      : { method: 'POST', headers: { ...auth, [CONTROL_HEADER]: '1', 'content-type': 'application/json' }, body: JSON.stringify(opts.reason ? { reason: opts.reason } : {}) };
  let res: Response;
  try {
    res = await fetch(`${base}/risk${action === 'status' ? '' : `/${action}`}`, init);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach the risk control endpoint at ${base}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is the engine running with a control port?)`);
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep text */
  }
  return { status: res.status, body };
}
