import cliProgress from 'cli-progress';

/**
 * Progress of long work (replay, benchmark, gpu-test, fuzz, chaos), always on stderr so
 * `--json` stdout stays clean: a bar with rate and ETA on a TTY, otherwise one plain line every
 * `intervalMs`. With `checkEvery` it is cheap enough to call per event: it looks at the clock
 * only every `checkEvery` calls.
 */
export interface Progress {
  /** Sets the amount done (absolute). */
  update(done: number): void;
  /** Adds to the amount done. */
  increment(by?: number): void;
  /** A new total, when the estimate improves. */
  setTotal(total: number): void;
  /** Final line (or clears the bar); safe to call twice. */
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  /** Total units of work; 0 or less when unknown (no percentage or ETA). */
  total: number;
  /** Unit name for the plain lines and the rate ("events", "runs"). */
  unit: string;
  stream?: NodeJS.WriteStream;
  /** Plain mode: one line per interval. */
  intervalMs?: number;
  /** Forces plain lines (tests, CI) or the bar; default: the bar when `stream.isTTY`. */
  mode?: 'bar' | 'lines' | 'off';
  now?: () => number;
  /** Look at the clock every this many calls (per-event callers pass ~1024); default 1. */
  checkEvery?: number;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** "label: 42% (4200/10000 events, 1234 events/s, ETA 5s)" */
export function progressLine(label: string, unit: string, done: number, total: number, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? (done * 1000) / elapsedMs : 0;
  const rateText = `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)} ${unit}/s`;
  if (total <= 0) return `${label}: ${done} ${unit}, ${rateText}, elapsed ${formatDuration(elapsedMs)}`;
  const frac = Math.min(1, done / total);
  const eta = rate > 0 ? ((total - Math.min(done, total)) * 1000) / rate : Infinity;
  return `${label}: ${(frac * 100).toFixed(0)}% (${done}/${total} ${unit}, ${rateText}, ETA ${formatDuration(eta)})`;
}

export function createProgress(o: ProgressOptions): Progress {
  const stream = o.stream ?? process.stderr;
  const mode = o.mode ?? (stream.isTTY ? 'bar' : 'lines');
  const now = o.now ?? (() => performance.now());
  const started = now();
  let total = o.total;
  let done = 0;
  let calls = 0;
  let stopped = false;
  const checkEvery = Math.max(1, o.checkEvery ?? 1);

  if (mode === 'off') {
    return { update: (d) => void (done = d), increment: (by = 1) => void (done += by), setTotal: (t) => void (total = t), stop: () => {} };
  }

  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${o.label} [{bar}] {percentage}% | {value}/{total} ${o.unit} | {rate} ${o.unit}/s | ETA {eta_formatted}`,
        etaBuffer: 50,
        fps: 5,
        hideCursor: true,
        clearOnComplete: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(total, 1), 0, { rate: '0' });
    let lastDraw = started;
    const draw = (force: boolean) => {
      const t = now();
      if (!force && t - lastDraw < 200) return;
      lastDraw = t;
      const rate = t > started ? (done * 1000) / (t - started) : 0;
      bar.update(Math.min(done, Math.max(total, 1)), { rate: rate >= 100 ? String(Math.round(rate)) : rate.toFixed(1) });
    };
    return {
      update(d) {
        done = d;
        if (++calls % checkEvery === 0) draw(false);
      },
      increment(by = 1) {
        done += by;
        if (++calls % checkEvery === 0) draw(false);
      },
      setTotal(t) {
        total = t;
        bar.setTotal(Math.max(t, 1));
      },
      stop() {
        if (stopped) return;
        stopped = true;
        if (total < done) bar.setTotal(done);
        draw(true);
        bar.stop();
      },
    };
  }

  const interval = o.intervalMs ?? 5000;
  let lastLine = started;
  const maybeLine = (force: boolean) => {
    const t = now();
    if (!force && t - lastLine < interval) return;
    lastLine = t;
    stream.write(progressLine(o.label, o.unit, done, total, t - started) + '\n');
  };
  return {
    update(d) {
      done = d;
      if (++calls % checkEvery === 0) maybeLine(false);
    },
    increment(by = 1) {
      done += by;
      if (++calls % checkEvery === 0) maybeLine(false);
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // Short work prints nothing in plain mode: only long work (a line already out) gets a last line.
      if (now() - started >= interval) maybeLine(true);
    },
  };
}
