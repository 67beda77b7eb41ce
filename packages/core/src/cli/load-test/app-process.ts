/**
 * The app under load as a child process: `cwts-ultra run --config <step config>` with its own
 * data directory, its JSON log read for the metrics port it picked (port 0) and for its summary
 * at exit, and stopped by SIGTERM through its orderly path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The engine's own counts, from the `stopped: ...` line the app logs at exit. */
export interface AppSummary {
  events: number;
  orders: number;
  rejected: number;
  fills: number;
}

export interface AppProcess {
  metricsUrl: string;
  /** SIGTERM, then wait (SIGKILL after `graceMs`); the exit code and the app's summary line. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null; summary: AppSummary | undefined }>;
  /** Whether the process has exited (a crash mid-step). */
  readonly exited: boolean;
  /** The last lines of its log (for a failure message). */
  tail(): string;
}

const BIN = fileURLToPath(new URL('../../../bin/cwts-ultra.js', import.meta.url));
const TAIL_LINES = 40;

export async function startApp(configPath: string, dataDir: string, startTimeoutMs = 60_000): Promise<AppProcess> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--config', configPath], {
    env: { ...process.env, CWTS_DATA_DIR: dataDir, CWTS_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let summary: AppSummary | undefined;
  let exited = false;
  let onPort: ((port: number) => void) | undefined;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = true;
      resolve({ code, signal });
    }),
  );
  const read = (stream: NodeJS.ReadableStream) => {
    let buf = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        if (!line.startsWith('{')) continue;
        try {
          const rec = JSON.parse(line) as { metricsPort?: number; summary?: AppSummary };
          if (typeof rec.metricsPort === 'number') onPort?.(rec.metricsPort);
          if (rec.summary && typeof rec.summary.orders === 'number') summary = rec.summary;
        } catch {
          // a line of another format: kept in the tail only
        }
      }
    });
  };
  read(child.stdout!);
  read(child.stderr!);
  const tail = () => lines.join('\n');
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await Promise.race([
      new Promise<number>((resolve) => (onPort = resolve)),
      exit.then(({ code, signal }) => Promise.reject(new Error(`the app exited before serving metrics (code ${code}, signal ${signal}):\n${tail()}`))),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the app did not serve metrics within ${startTimeoutMs} ms:\n${tail()}`)), startTimeoutMs))),
    ]);
    return {
      metricsUrl: `http://127.0.0.1:${port}/metrics`,
      get exited() {
        return exited;
      },
      tail,
      async stop(graceMs = 30_000) {
        if (!exited) child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const r = await exit;
        clearTimeout(kill);
        return { ...r, summary };
      },
    };
  } catch (err) {
    if (!exited) child.kill('SIGKILL');
    await exit;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
