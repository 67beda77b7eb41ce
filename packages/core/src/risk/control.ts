import type { IncomingMessage } from 'node:http';
import { HttpEndpoint, type RouteResult } from '../observability/http.js';
import type { Logger } from '../observability/logger.js';
import type { RiskStateName } from '../engine/risk-state.js';

/** What the control endpoint drives (RiskManager implements it). */
export interface RiskControls {
  halt(reason?: string): void;
  reduce(reason?: string): void;
  resume(reason?: string): RiskStateName;
  status(): Record<string, unknown>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
/** Header every state-changing request must carry: a browser cannot send it cross-site without a CORS preflight, which we never answer. */
export const CONTROL_HEADER = 'x-cwts-control';
const MAX_BODY = 4096;

/**
 * The manual kill switch over HTTP, bound to loopback (127.0.0.1 by default,
 * `[monitoring] control_bind_address`):
 *   GET  /risk          state, triggers, equity, drawdown, VaR (JSON)
 *   POST /risk/halt     HALTED: cancel all open orders, refuse new ones
 *   POST /risk/reduce   REDUCING: only orders that reduce exposure
 *   POST /risk/resume   back to ACTIVE (the only way out of HALTED)
 * POSTs need the header `x-cwts-control: 1`; an optional JSON body `{"reason": "..."}` is logged
 * and shown in the state's reason.
 */
export class RiskControlServer {
  private readonly endpoint: HttpEndpoint;

  constructor(
    private readonly controls: RiskControls,
    private readonly logger?: Logger,
  ) {
    const action = (name: 'halt' | 'reduce' | 'resume') => ({ method: 'POST' as const, handler: (req: IncomingMessage) => this.act(name, req) });
    this.endpoint = new HttpEndpoint('risk control endpoint', {
      '/risk': () => ({ status: 200, body: this.controls.status() }),
      '/risk/halt': action('halt'),
      '/risk/reduce': action('reduce'),
      '/risk/resume': action('resume'),
    });
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    if (!LOOPBACK.test(host)) throw new Error(`risk control endpoint: ${host} is not a loopback address; the kill switch only listens on loopback`);
    return this.endpoint.listen(port, host);
  }

  close(): Promise<void> {
    return this.endpoint.close();
  }

  private async act(action: 'halt' | 'reduce' | 'resume', req: IncomingMessage): Promise<RouteResult> {
    if (req.headers[CONTROL_HEADER] !== '1') return { status: 403, body: { error: `missing header ${CONTROL_HEADER}: 1` } };
    const body = await readBody(req);
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
    if (action === 'halt') this.controls.halt(reason);
    else if (action === 'reduce') this.controls.reduce(reason);
    else this.controls.resume(reason);
    return { status: 200, body: this.controls.status() };
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Client side of the endpoint, for `cwts-ultra risk ...`. */
export async function controlRequest(url: string, action: 'status' | 'halt' | 'reduce' | 'resume', reason?: string): Promise<{ status: number; body: unknown }> {
  const base = url.replace(/\/+$/, '');
  const init: RequestInit =
    action === 'status'
      ? { method: 'GET' }
      : { method: 'POST', headers: { [CONTROL_HEADER]: '1', 'content-type': 'application/json' }, body: JSON.stringify(reason ? { reason } : {}) };
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
