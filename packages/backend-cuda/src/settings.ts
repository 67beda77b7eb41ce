import { z } from 'zod';

/**
 * `[compute.cuda]` / `[compute.rocm]` settings:
 *  - device: the device index (default 0); one that does not exist fails startup naming the
 *    devices there are.
 */
export interface GpuSettings {
  device?: number;
}

const schema = z
  .object({
    device: z.union([z.number().int().min(0), z.string().regex(/^\d+$/).transform(Number)]).optional(),
    // compose adds [performance] simd_enabled to every backend's table; it means nothing on a GPU.
    simd_enabled: z.boolean().optional(),
  })
  .strict();

/** Validates a backend's settings table; throws an Error naming the table and key. */
export function parseGpuSettings(table: string, raw: Record<string, unknown> | undefined): GpuSettings {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data.device === undefined ? {} : { device: r.data.device };
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new Error(`[${table}] unknown key '${issue.keys[0]}' (known: device)`);
  }
  const key = issue.path.join('.') || '(table)';
  throw new Error(`[${table}] ${key} must be a device index (a non-negative integer), got ${JSON.stringify((raw ?? {})[key])}`);
}
