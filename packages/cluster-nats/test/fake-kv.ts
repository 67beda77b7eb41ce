/**
 * An in-memory stand-in for a NATS KV bucket with the semantics the cluster relies on: create
 * fails on a live key, update is compare-and-set on the revision, and a bucket's max_age expires
 * a key `ttlMs` after its last write, on an injectable clock. Each client has its own link that a
 * test can cut (calls then fail like a timeout, not like a server refusal) and hooks to
 * interleave other work between a client's reads and writes.
 */
import type { KV } from '@nats-io/kv';

interface Entry {
  value: Uint8Array;
  revision: number;
  writtenAt: number;
}

export class FakeBucket {
  private readonly entries = new Map<string, Entry>();
  private static revision = 0;
  /** When the bucket's stream was (re)created, and last written (`status()`: the server's clock is `now`). */
  createdAt: number;
  lastWriteAt: number | undefined;
  constructor(private readonly now: () => number, private readonly ttlMs?: number) {
    this.createdAt = now();
  }

  /** The server lost its store and someone created the bucket again: empty, a new creation time. */
  recreate(): void {
    this.entries.clear();
    this.createdAt = this.now();
    this.lastWriteAt = undefined;
  }

  live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.ttlMs !== undefined && this.now() >= e.writtenAt + this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  write(key: string, value: Uint8Array): number {
    const revision = ++FakeBucket.revision;
    this.entries.set(key, { value, revision, writtenAt: this.now() });
    this.lastWriteAt = this.now();
    return revision;
  }

  remove(key: string): void {
    this.entries.delete(key);
  }

  keys(): string[] {
    return [...this.entries.keys()].filter((k) => this.live(k));
  }
}

export interface FakeLink {
  down: boolean;
  /** Writes are applied but their answers lost (the caller sees a timeout). */
  dropAnswers?: boolean;
  /** Awaited after a read (get / keys) returned, before the caller sees it. */
  afterRead?: (op: 'get' | 'keys', key?: string) => Promise<void> | void;
  /** Awaited inside status() before the bucket's state is read (a server that answers late). */
  beforeStatus?: () => Promise<void> | void;
}

const refused = (what: string) => new Error(`wrong last sequence: ${what}`);

export function fakeKv(bucket: FakeBucket, link: FakeLink): KV {
  const up = () => {
    if (link.down) throw new Error('TIMEOUT');
  };
  const kv = {
    async get(key: string) {
      up();
      const e = bucket.live(key);
      const r = e ? { key, operation: 'PUT', revision: e.revision, value: e.value, json: <T>() => JSON.parse(new TextDecoder().decode(e.value)) as T, string: () => new TextDecoder().decode(e.value) } : null;
      await link.afterRead?.('get', key);
      return r;
    },
    async create(key: string, value: Uint8Array | string) {
      up();
      if (bucket.live(key)) throw refused('key exists');
      return bucket.write(key, typeof value === 'string' ? new TextEncoder().encode(value) : value);
    },
    async update(key: string, value: Uint8Array | string, revision: number) {
      up();
      const e = bucket.live(key);
      if (!e || e.revision !== revision) throw refused(`expected ${revision}, key at ${e?.revision ?? 'none'}`);
      const r = bucket.write(key, typeof value === 'string' ? new TextEncoder().encode(value) : value);
      if (link.dropAnswers) throw new Error('TIMEOUT');
      return r;
    },
    async put(key: string, value: Uint8Array | string) {
      up();
      return bucket.write(key, typeof value === 'string' ? new TextEncoder().encode(value) : value);
    },
    async delete(key: string, opts?: { previousSeq?: number }) {
      up();
      const e = bucket.live(key);
      if (opts?.previousSeq !== undefined && e?.revision !== opts.previousSeq) throw refused('delete');
      bucket.remove(key);
    },
    async status() {
      up();
      await link.beforeStatus?.();
      const iso = (ms: number) => new Date(ms).toISOString();
      return { streamInfo: { created: iso(bucket.createdAt), state: { last_ts: bucket.lastWriteAt === undefined ? '0001-01-01T00:00:00Z' : iso(bucket.lastWriteAt) } } };
    },
    async keys() {
      up();
      const ks = bucket.keys();
      await link.afterRead?.('keys');
      return (async function* () {
        yield* ks;
      })();
    },
  };
  return kv as unknown as KV;
}
