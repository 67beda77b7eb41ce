import { Worker } from 'node:worker_threads';
import type { MetricsRegistry } from './metrics.js';

/**
 * The worker's code (plain CommonJS, evaluated: it needs no file next to the compiled output,
 * so it runs the same from src under vitest and from dist). It owns the HTTP server: parsing,
 * routing and writing every scrape happen on this thread. It asks the engine thread for a fresh
 * text only when its copy is older than `minIntervalMs` and a scrape is waiting, once however
 * many are waiting.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createServer } = require('node:http');
const { port, host, minIntervalMs, contentType, label } = workerData;
let text = null;
let at = 0;
let asked = false;
const waiting = [];
const json = (res, status, body) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body, null, 2));
};
const send = (res) => {
  res.writeHead(200, { 'content-type': contentType });
  res.end(text);
};
const server = createServer((req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (path !== '/metrics') return json(res, 404, { error: 'no route ' + path, routes: ['/metrics'] });
  if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'GET only' });
  if (text !== null && performance.now() - at < minIntervalMs) return send(res);
  waiting.push(res);
  if (!asked) {
    asked = true;
    parentPort.postMessage({ type: 'render' });
  }
});
parentPort.on('message', (m) => {
  if (m.type === 'text' || m.type === 'error') {
    asked = false;
    if (m.type === 'text') {
      text = m.text;
      at = performance.now();
    }
    for (const res of waiting.splice(0)) {
      if (m.type === 'text') send(res);
      else json(res, 500, { error: m.message });
    }
  } else if (m.type === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort.postMessage({ type: 'closed' }));
  }
});
server.once('error', (err) => {
  const message = err.code === 'EADDRINUSE' ? label + ': port ' + port + ' on ' + host + ' is already in use (set a different port in [monitoring])' : label + ': ' + err.message;
  parentPort.postMessage({ type: 'listen-error', message });
});
server.listen(port, host, () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
`;

type FromWorker = { type: 'render' } | { type: 'listening'; port: number } | { type: 'listen-error'; message: string } | { type: 'closed' };

/**
 * `/metrics` served by a worker thread. Scrapes cost the engine thread one message and one
 * render at most every `minIntervalMs` (250 ms), however many scrapers there are and however
 * fast they ask: the HTTP exchange of each scrape (the part a snapshot alone cannot remove) runs
 * on the worker. The text a scrape gets is at most `minIntervalMs` old. Same listen/close shape
 * as HttpEndpoint.
 */
export class OffThreadMetricsEndpoint {
  private worker: Worker | undefined;
  /** Renders done for the worker (tests, the scrape benchmark). */
  renders = 0;

  constructor(
    private readonly metrics: MetricsRegistry,
    private readonly minIntervalMs = 250,
    readonly label = 'metrics',
  ) {}

  async listen(port: number, host: string): Promise<number> {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { port, host, minIntervalMs: this.minIntervalMs, contentType: this.metrics.registry.contentType, label: this.label },
    });
    // The process exits when the engine is done, whatever the scrapers do.
    worker.unref();
    this.worker = worker;
    worker.on('message', (m: FromWorker) => {
      if (m.type !== 'render') return;
      this.metrics.text().then(
        (text) => {
          this.renders++;
          worker.postMessage({ type: 'text', text });
        },
        (err: unknown) => worker.postMessage({ type: 'error', message: (err as Error)?.message ?? String(err) }),
      );
    });
    return new Promise<number>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type === 'listening') {
          worker.off('message', onMessage);
          resolve(m.port);
        } else if (m.type === 'listen-error') {
          worker.off('message', onMessage);
          this.worker = undefined;
          void worker.terminate();
          reject(new Error(m.message));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => reject(new Error(`${this.label}: ${err.message}`)));
    });
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (!w) return;
    await new Promise<void>((resolve) => {
      const done = () => resolve();
      w.once('exit', done);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'closed') void w.terminate();
      });
      w.postMessage({ type: 'close' });
      // A worker that does not answer is not waited for beyond a second.
      setTimeout(() => void w.terminate(), 1000).unref();
    });
  }
}
