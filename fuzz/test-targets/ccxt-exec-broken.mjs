/**
 * The ccxt-exec target over a broken copy of the ccxt reader, for the harness's own tests: its
 * fill check forgets the order's size (fillReport without maxQty), so a trade listed twice under
 * two ids, or one past the amount, is booked. The run must fail (invalid-event: filled past the
 * order's quantity).
 */
import { create as ccxtExec } from '../targets/ccxt-exec.mjs';

export const create = ({ seed }) =>
  ccxtExec({
    seed,
    patch(client) {
      const fillReport = client.fillReport;
      client.fillReport = (o, i, tr, cumBefore) => fillReport.call(client, o, i, tr, cumBefore);
    },
  });
