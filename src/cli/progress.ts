// `probe`'s progress line on a terminal's stderr: attempts done / total, rate,
// errors, time left before the deadline, redrawn in place and erased before
// the result. The unary Probe RPC says nothing until the end, so with progress
// `probe` reads ProbeStream and keeps only its final Summary.
import { probeStream, type CallOpts, type ProberConnection } from '../client/index.js';
import type { ProbeInput } from '../probe/types.js';
import type { Summary } from '../stats/types.js';
import type { CliOutput } from './io.js';

export interface ProgressState {
  /** Attempts finished. */
  readonly done: number;
  /** Attempts requested. */
  readonly total: number;
  /** Finished attempts that failed. */
  readonly errors: number;
  /** Since the call started. */
  readonly elapsedMs: number;
  /** The call deadline, ms after the start; undefined: none. */
  readonly deadlineMs: number | undefined;
}

/** One line, e.g. `37/400 attempts · 36.2/s · 2 errors · deadline in 19 s`. */
export function line(s: ProgressState): string {
  const parts = [`${s.done}/${s.total} attempts`];
  const rate = s.elapsedMs > 0 ? (s.done * 1000) / s.elapsedMs : 0;
  parts.push(`${rate < 10 ? rate.toFixed(1) : Math.round(rate)}/s`);
  parts.push(s.errors === 1 ? '1 error' : `${s.errors} errors`);
  if (s.deadlineMs !== undefined) {
    parts.push(`deadline in ${Math.max(0, Math.ceil((s.deadlineMs - s.elapsedMs) / 1000))} s`);
  }
  return parts.join(' · ');
}

/** Carriage return + erase line: the cursor is back at column 0 of an empty line. */
const ERASE = '\r\x1b[2K';
/** At most 10 redraws a second. */
export const REDRAW_MS = 100;
/** Runs shorter than this never draw (no flicker for `-n 1`). */
export const FIRST_DRAW_MS = 250;

/** Whether `probe` shows progress: stderr is a terminal and not --quiet. */
export function showsProgress(stderr: CliOutput, quiet: boolean | undefined): boolean {
  return stderr.isTTY === true && quiet !== true;
}

/** The progress line on `out`, redrawn by a timer until clear(). */
export class ProgressLine {
  private readonly started = performance.now();
  private done = 0;
  private errors = 0;
  private shown = '';
  private readonly timer: NodeJS.Timeout;
  private readonly first: NodeJS.Timeout;

  constructor(
    private readonly out: CliOutput,
    private readonly total: number,
    private readonly deadlineMs: number | undefined,
  ) {
    this.first = setTimeout(() => this.draw(), FIRST_DRAW_MS);
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref();
    this.first.unref();
  }

  attempt(failed: boolean): void {
    this.done++;
    if (failed) this.errors++;
  }

  /** Stops redrawing and erases the line, so what follows starts clean. */
  clear(): void {
    clearTimeout(this.first);
    clearInterval(this.timer);
    if (this.shown !== '') this.out.write(ERASE);
    this.shown = '';
  }

  private draw(): void {
    const elapsedMs = performance.now() - this.started;
    if (elapsedMs < FIRST_DRAW_MS) return;
    let text = line({
      done: this.done,
      total: this.total,
      errors: this.errors,
      elapsedMs,
      deadlineMs: this.deadlineMs,
    });
    // A line that wraps could not be erased by ERASE.
    const columns = (this.out as { columns?: number }).columns;
    if (columns !== undefined && columns > 1 && text.length >= columns) text = text.slice(0, columns - 1);
    if (text === this.shown) return;
    this.out.write(ERASE + text);
    this.shown = text;
  }
}

/**
 * `probe` with progress on `out`: ProbeStream, each attempt counted, the
 * server's final Summary returned as the unary Probe returns it. Errors are
 * the ones probeOnce throws; the line is erased before anything returns.
 */
export async function probeWithProgress(
  conn: ProberConnection,
  input: ProbeInput,
  opts: CallOpts,
  out: CliOutput,
): Promise<Summary> {
  const progress = new ProgressLine(out, input.repetitions, opts.deadlineMs);
  try {
    for await (const ev of probeStream(conn, input, opts)) {
      if (ev.kind === 'attempt') progress.attempt(ev.attempt.error !== undefined);
      // What the stream carried is not part of the result: the same run by
      // the unary RPC sends no events, and the output must not depend on
      // whether stderr is a terminal.
      else return { ...ev.summary, eventsSent: 0, backpressureWaitMs: 0 };
    }
    throw new Error('stream ended without a summary'); // probeStream throws first
  } finally {
    progress.clear();
  }
}
