/**
 * The intake worker thread: builds the venue's MarketDataClient from the module its spec names,
 * starts it with an IntakeRecordWriter as its sink (every event becomes feed records on the
 * ring), bumps the heartbeat, and on 'stop' stops the client and exits. Started by
 * worker-intake.ts; compiled JavaScript only (no loader in a worker).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SystemClock } from '../contracts/clock.js';
import type { MarketDataClient } from '../contracts/exchange.js';
import { SpscRing } from '../microstructure/ring-buffer.js';
import { createLogger } from '../observability/logger.js';
import { CONTROL, type IntakeHostMessage, type IntakeWorkerData, type IntakeWorkerFactory, type IntakeWorkerMessage } from './protocol.js';
import { IntakeRecordWriter } from './records.js';
import { ringSpaceWait } from './space-wait.js';

const data = workerData as IntakeWorkerData;
const port = parentPort!;
const post = (m: IntakeWorkerMessage): void => port.postMessage(m);
const control = new Int32Array(data.control);
const ring = new SpscRing(data.ring);

const LEVELS: Record<number, 'debug' | 'info' | 'warn' | 'error'> = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'error' };
const logger = createLogger({
  level: data.logLevel,
  destination: {
    write(line: string): boolean {
      try {
        const { level, msg, time: _t, ...obj } = JSON.parse(line) as { level: number; msg?: string; time?: string };
        post({ t: 'log', level: LEVELS[level] ?? 'info', obj, msg: msg ?? '' });
      } catch {
        post({ t: 'log', level: 'info', obj: {}, msg: line.trim() });
      }
      return true;
    },
  } as unknown as NodeJS.WritableStream,
});

const beat = (): void => {
  Atomics.add(control, CONTROL.HEARTBEAT, 1);
};
const heartbeat = setInterval(beat, data.heartbeatMs);

const idle = new Int32Array(new SharedArrayBuffer(4));
const writer = new IntakeRecordWriter(
  ring,
  data.symbols,
  ringSpaceWait({
    stopping: () => Atomics.load(control, CONTROL.STOP) !== 0,
    beat,
    heartbeatMs: data.heartbeatMs,
    now: () => performance.now(),
    sleep: (ms) => void Atomics.wait(idle, 0, 0, ms),
  }),
);

let client: MarketDataClient | undefined;

port.on('message', (m: IntakeHostMessage) => {
  if (m.t === 'resync') {
    try {
      client?.requestResync?.(m.symbol, m.reason);
    } catch (err) {
      logger.warn({ err: String(err), symbol: m.symbol }, `${data.exchange}: a resync of ${m.symbol} the engine asked for failed: ${String(err)}`);
    }
    return;
  }
  if (m.t !== 'stop') return;
  Atomics.store(control, CONTROL.STOP, 1);
  void (client?.stop() ?? Promise.resolve())
    .catch((err: unknown) => logger.warn({ err: String(err) }, `${data.exchange}: intake stop failed: ${String(err)}`))
    .finally(() => {
      clearInterval(heartbeat);
      post({ t: 'stopped' });
      // Whatever the client left behind (a socket still closing), the thread ends here.
      process.exit(0);
    });
});

try {
  const mod = (await import(data.module)) as Record<string, unknown>;
  const make = mod[data.factory];
  if (typeof make !== 'function') throw new Error(`${data.module} has no export ${data.factory}`);
  client = await (make as IntakeWorkerFactory)(data.args, {
    exchange: data.exchange, clock: new SystemClock(), logger, resume: data.resume,
    venueBlocked: (untilMs) => post({ t: 'blocked', untilMs }),
  });
  await client.start(data.symbols, writer);
  post({ t: 'started' });
} catch (err) {
  post({ t: 'start-failed', message: (err as Error)?.message ?? String(err) });
  clearInterval(heartbeat);
  process.exit(1);
}
