import { describe, expect, it } from 'vitest';
import { performanceTable } from './tables.js';

describe('[performance] intake keys', () => {
  it('defaults to worker intake with a 65536-record ring, 2 s hang bound and 5 restarts', () => {
    expect(performanceTable.parse({})).toMatchObject({ intake: 'worker', intake_ring_records: 65536, intake_hung_after_ms: 2000, intake_max_restarts: 5 });
    expect(performanceTable.parse({ intake: 'inline' }).intake).toBe('inline');
  });

  it('refuses other modes and out-of-range values, naming the key', () => {
    for (const [key, value] of [['intake', 'threads'], ['intake_ring_records', 16], ['intake_hung_after_ms', 5], ['intake_max_restarts', -1], ['intake_ring_records', 1.5]] as const) {
      const r = performanceTable.safeParse({ [key]: value });
      expect(r.success, `${key} = ${value}`).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual([key]);
    }
  });
});
