/**
 * A self-test target for the Binance harness's reference consumer: frame sequences from the
 * fuzz runs in which the adapter was right and the reference was not, replayed on the live
 * harness. Each frame runs them all on a fresh harness; any finding fails the run.
 */
import { Prng } from '../prng.mjs';
import { VirtualTime } from '../virtual-time.mjs';
import { BinanceHarness, VenueModel } from '../targets/binance-venue.mjs';

/** The venue's next depth update, and a copy with its ids and levels changed by `edit`. */
function pair(venue, edit) {
  const clean = venue.depth().text;
  const o = JSON.parse(clean);
  const d = o.data ?? o;
  edit(d);
  return [JSON.stringify(o), clean];
}

const CASES = {
  // 200k run, frame 68248: an update whose u jumped 100 ahead and whose ask crosses the book is
  // applied, found crossed, and the adapter resyncs; the next (clean) update is buffered and the
  // snapshot covers it. The reference buffered the crossing update after the resync and then
  // saw the snapshot's book crossed by it.
  crossingUpdate(h) {
    return [pair(h.venue, (d) => {
      d.u += 100;
      d.a = [['25000.22000000', '1.55982000000']];
    })];
  },
  // 1M run: after a gap, while the adapter buffers, an update spanning U..u = 232525816..
  // 23269788000 (a digit mutation): the adapter refuses it (max_sequence_jump), the reference
  // buffered it and then saw a gap after the snapshot.
  implausibleRangeWhileBuffering(h) {
    h.venue.depth(); // lost: the next update is a gap
    const gap = h.venue.depth().text;
    return [[gap, gap], pair(h.venue, (d) => {
      d.U = Number(`${d.U}`.slice(0, 4) + '25' + `${d.U}`.slice(4));
      d.u = d.U * 100 + 7;
    })];
  },
  // 1M run, frames 227,340, 412,799, 866,735 and 883,762: while the adapter buffers, an update
  // that repeats a key ("E":null,"E":..., "data":-1,"data":{...}, a second "U"). The adapter
  // refuses it (the meaning of a repeated key is open); the reference took JSON.parse's reading
  // (the last value: here a U one ahead, so the clean update that follows looked like a gap).
  repeatedKeyWhileBuffering(h) {
    h.venue.depth(); // lost: the next update is a gap
    const gap = h.venue.depth().text;
    // made after the gap is delivered: the snapshot the gap asks for must predate this update
    const repeated = () => {
      const clean = h.venue.depth().text;
      const U = Number(/"U":(\d+)/.exec(clean)[1]);
      return [clean.replace(/"u":(\d+)/, `"u":$1,"U":${U + 1}`), clean];
    };
    return [[gap, gap], repeated];
  },
};

export async function create({ seed }) {
  const vt = new VirtualTime().install();
  let i = 0;
  return {
    next: () => `cases-${i++}`,
    saved: (f) => f,
    async run() {
      for (const [name, build] of Object.entries(CASES)) {
        const h = new BinanceHarness(new VenueModel(new Prng(seed + i)), vt);
        await h.start();
        try {
          // the first update makes the adapter fetch the snapshot, the second confirms it: SYNCED
          await h.frame(h.venue.depth().text);
          await h.frame(h.venue.depth().text);
          if (h.sync.state !== 'synced') throw new Error('the harness did not sync');
          // a step is a [mutated, clean] pair, or a function making one when its turn comes
          for (const step of build(h)) {
            const [mutated, clean] = typeof step === 'function' ? step() : step;
            await h.frame(mutated);
            await h.frame(clean);
            await h.advance(50);
          }
          // the update that confirms the snapshot fetched meanwhile: the book is SYNCED and
          // compared with the reference
          await h.frame(h.venue.depth().text);
          if (h.sync.state !== 'synced') throw new Error('the harness did not resync');
        } catch (err) {
          err.message = `${name}: ${err.message}`;
          throw err;
        } finally {
          await h.stop();
        }
      }
    },
    reset() {},
    probe: () => 0,
    counts: () => ({}),
  };
}
