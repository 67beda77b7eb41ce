/**
 * The bybit-exec target over a broken copy of the Bybit reader, for the harness's own tests: its
 * v5 list reads take an answer without `result.list` (ccxt's raw text for a body it cannot
 * parse, `result: null`) as an empty list, as the driver did before the fuzz found it. The run
 * must fail (lost-data: an unknown order, no working orders, no trades).
 */
import { create as bybitExec } from '../targets/bybit-exec.mjs';

export const create = ({ seed }) =>
  bybitExec({
    seed,
    patch(client) {
      client.driver.v5List = (res) => res?.result?.list ?? [];
    },
  });
