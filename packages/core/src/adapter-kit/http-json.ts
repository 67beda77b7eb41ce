import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpJsonOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface HttpJsonResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or undefined when the body is not JSON (see `text`). */
  body: unknown;
  text: string;
}

export class HttpRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HttpRequestError';
  }
}

/**
 * One HTTP(S) request returning parsed JSON. No keep-alive agent (each request closes its
 * socket), so a stopped adapter leaves no socket behind; a timeout aborts the request. Rejects
 * only for transport problems; HTTP error statuses resolve with their body for error mapping.
 * The URL in error messages is cut at '?' so signed query strings are never echoed.
 */
export function httpJson(url: string, opts: HttpJsonOptions = {}): Promise<HttpJsonResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const safeUrl = `${u.origin}${u.pathname}`;
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: opts.method ?? 'GET', agent: false, headers: { accept: 'application/json', connection: 'close', ...(opts.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new HttpRequestError(`${opts.method ?? 'GET'} ${safeUrl}: ${err.message}`)));
        res.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown;
          try {
            body = text.length > 0 ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`timed out after ${opts.timeoutMs ?? 10_000} ms`)), opts.timeoutMs ?? 10_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new HttpRequestError(`${opts.method ?? 'GET'} ${safeUrl}: ${err.message}`));
    });
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
