/**
 * A budget reclaim lists the members bucket's keys, and the shard's round awaits it. A listing of
 * a bucket written meanwhile may never end (list-keys.ts): unbounded, the reclaim, and with it
 * every later round of the shard (renewals included), waited for ever.
 */
import type { KV } from '@nats-io/kv';
import { describe, expect, it } from 'vitest';
import { BudgetLedger } from './budget.js';
import { BUDGET_KEY } from './names.js';
import { FakeBucket, fakeKv } from '../test/fake-kv.js';

/** keys() starts a listing that never ends until it is stopped. */
function hangingKeys(kv: KV, state: { stopped: number }): KV {
  return new Proxy(kv, {
    get(target, prop, recv) {
      if (prop !== 'keys') return Reflect.get(target, prop, recv);
      return async () => {
        let stop!: () => void;
        const stopped = new Promise<void>((r) => (stop = r));
        const it = (async function* () {
          yield 'other';
          await stopped;
        })();
        return Object.assign(it, { stop: () => { state.stopped++; stop(); } });
      };
    },
  });
}

describe('budget reclaim with a members listing that never ends', () => {
  it('gives up at its deadline (reported, retried next round) instead of waiting for ever', async () => {
    const now = () => 0;
    const control = new FakeBucket(now);
    const members = new FakeBucket(now);
    control.write(BUDGET_KEY, new TextEncoder().encode(JSON.stringify({ limit: '1000', shards: { dead: '300' }, epochs: { dead: 'e1' } })));
    const state = { stopped: 0 };
    const errors: string[] = [];
    const ledger = new BudgetLedger({
      control: fakeKv(control, { down: false }), members: hangingKeys(fakeKv(members, { down: false }), state), shardId: 's1', limit: 1000n, chunk: 100n,
      epoch: () => undefined, monoMs: now, onEvent: () => {}, onError: (m) => errors.push(m), listKeysMs: 50,
    });
    const outcome = await Promise.race([
      ledger.reclaim().then(() => 'returned'),
      new Promise((r) => setTimeout(() => r('still waiting after 5 s'), 5000)),
    ]);
    expect(outcome).toBe('returned');
    expect(errors.join('\n')).toMatch(/budget reclaim failed: listing the keys took over 50 ms/);
    expect(state.stopped, 'the hung listing was stopped').toBeGreaterThan(0);
    // nothing reclaimed on a listing it could not finish: the dead shard's entry is still there
    expect(JSON.parse(new TextDecoder().decode(control.live(BUDGET_KEY)!.value)).shards.dead).toBe('300');
  });
});
