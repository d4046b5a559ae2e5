// The engine's self-check: how late its own event loop runs while a probe
// runs. Timestamps are taken on this loop, so a stall here is added to every
// attempt in flight. This module lives with the engine so it measures the
// thread the engine runs on, wherever that is.
//
// One shared sampling timer for any number of concurrent runs (a timer per
// run would cost 100 wakeups/s each); each run records the ticks it saw.
// perf_hooks.monitorEventLoopDelay samples the same way (a repeating libuv
// timer), but its histogram cannot be split per run while several overlap.
import { performance } from 'node:perf_hooks';
import type { EventLoopDelayReading } from '../stats/types.js';

/** Sampling period: a tick's delay is how much later than this it ran. */
export const LOOP_SAMPLE_MS = 10;

// Log buckets for the per-run p99: (LOW * R^(i-1), LOW * R^i], bucket 0 <= LOW.
const LOW_MS = 0.1;
const RATIO = 1.05;
const BUCKETS = 300; // up to ~200 s
const LOG_RATIO = Math.log(RATIO);

function bucketOf(ms: number): number {
  if (!(ms > LOW_MS)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / LOW_MS) / LOG_RATIO));
}

/** Per-run record of the ticks seen while it was registered. */
export class LoopDelayRecorder {
  private readonly counts = new Uint32Array(BUCKETS);
  private n = 0;
  private max = 0;
  private active = true;

  record(ms: number): void {
    const i = bucketOf(ms);
    this.counts[i] = (this.counts[i] ?? 0) + 1;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  /** Unregister; a stall still in progress counts as one more sample. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    const pending = sampler.pending();
    if (pending > 0) this.record(pending);
    sampler.remove(this);
  }

  /** The run's delays so far; undefined before the first sample. */
  read(): EventLoopDelayReading | undefined {
    const pending = this.active ? sampler.pending() : 0;
    const n = this.n + (pending > 0 ? 1 : 0);
    if (n === 0) return undefined;
    const maxMs = Math.max(this.max, pending);
    const rank = Math.max(1, Math.ceil(0.99 * n));
    let seen = 0;
    let p99Ms = maxMs;
    for (let i = 0; i < BUCKETS; i++) {
      seen += (this.counts[i] ?? 0) + (pending > 0 && bucketOf(pending) === i ? 1 : 0);
      if (seen >= rank) {
        p99Ms = i === 0 ? Math.min(LOW_MS, maxMs) : Math.min(LOW_MS * RATIO ** i, maxMs);
        break;
      }
    }
    return { p99Ms, maxMs, samples: n };
  }
}

class Sampler {
  private readonly recorders = new Set<LoopDelayRecorder>();
  private timer: NodeJS.Timeout | undefined;
  private last = 0;

  add(r: LoopDelayRecorder): void {
    this.recorders.add(r);
    if (this.timer !== undefined) return;
    this.last = performance.now();
    this.timer = setInterval(this.tick, LOOP_SAMPLE_MS);
    // Never what keeps a process alive.
    this.timer.unref();
  }

  remove(r: LoopDelayRecorder): void {
    this.recorders.delete(r);
    if (this.recorders.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** How far past its due time the next tick already is (0 when not yet due). */
  pending(): number {
    if (this.timer === undefined) return 0;
    return Math.max(0, performance.now() - this.last - LOOP_SAMPLE_MS);
  }

  private readonly tick = (): void => {
    const now = performance.now();
    // Timers fire up to ~1 ms early against the loop's cached clock: clamp.
    const late = Math.max(0, now - this.last - LOOP_SAMPLE_MS);
    this.last = now;
    for (const r of this.recorders) r.record(late);
  };
}

const sampler = new Sampler();

/** Start recording this thread's event-loop delay for one run. */
export function startLoopDelayRecorder(): LoopDelayRecorder {
  const r = new LoopDelayRecorder();
  sampler.add(r);
  return r;
}
