/**
 * Debian's nats-server with JetStream for tests: an ephemeral port on 127.0.0.1 and a temporary
 * store directory, both gone after stop(). `available()` says why it cannot run here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServer {
  url: string;
  port: number;
  child: ChildProcess;
  log: string[];
  /** The JetStream store directory. */
  dir: string;
  /** Stops the server; the store directory goes too unless `keepStore` (for a restart on the same port and store). */
  stop(opts?: { keepStore?: boolean }): Promise<void>;
}

export function natsServerMissing(): string | undefined {
  const r = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
  if (r.error) return `nats-server not found (apt-get install nats-server): ${r.error.message}`;
  return r.status === 0 ? undefined : `nats-server --version exited ${r.status}`;
}

/** `port`/`dir` restart a stopped server where it was (its clients reconnect to the same URL). */
export async function startNatsServer(opts: { port?: number; dir?: string } = {}): Promise<NatsServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cwts-nats-'));
  const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(opts.port ?? -1), '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`nats-server did not report its port:\n${log.join('')}`)), 15_000);
    const onData = (d: Buffer) => {
      log.push(d.toString());
      const m = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(log.join(''));
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`nats-server exited ${code}:\n${log.join('')}`)));
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    child,
    log,
    dir,
    async stop(o = {}) {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      if (!o.keepStore) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * One server for a whole test file: started in `beforeAll` (unless nats-server is missing, which
 * each test reports through `skipUnlessRequired`), stopped in `afterAll`.
 */
export function sharedNatsServer(): { readonly missing: string | undefined; url(): string } {
  const missing = natsServerMissing();
  let server: NatsServer | undefined;
  beforeAll(async () => {
    if (!missing) server = await startNatsServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return {
    missing,
    url() {
      if (!server) throw new Error(`nats-server is not running: ${missing ?? 'beforeAll has not run'}`);
      return server.url;
    },
  };
}
