// StreamFeed: consumes one server's event stream and folds it into RunStats.
// Plain TypeScript (no React) so the Ink hook and the non-TTY line mode share
// it, and so the final summary is available after the UI has unmounted.
//
// Consumption is separate from rendering: each event costs O(1) here; a
// snapshot (percentiles, re-binned histogram) is built only when a frame asks.
// The stream is pulled one event at a time, so a slow consumer (or the
// --slow-consumer delay) leaves events unread and gRPC flow control pauses the
// server: nothing here buffers more than the ring of recent latencies.
import { setTimeout as sleep } from 'node:timers/promises';
import { RunStats } from '../stats/index.js';
import type { HistogramBucket, Summary } from '../stats/index.js';
import type { AttemptResult } from '../probe/types.js';
import { isDeadlineExceeded, rpcStatusOf } from '../client/errors.js';
import { axisTopMs, logBounds } from './format.js';

/** One stream event; structurally the client's StreamEvent. */
export type WatchEvent =
  | { readonly kind: 'attempt'; readonly attempt: AttemptResult }
  | { readonly kind: 'summary'; readonly summary: Summary };

/** Where a panel's events come from: one server (or the embedded one). */
export interface WatchSource {
  /** Panel title: the server address, or "embedded". */
  readonly label: string;
  /** Opens the stream. Aborting `signal` cancels the call. */
  open(signal: AbortSignal): AsyncIterable<WatchEvent>;
}

export type FeedStatus = 'connecting' | 'running' | 'reconnecting' | 'done' | 'deadline' | 'cancelled' | 'error';

export interface FeedFailure {
  /** gRPC status name when the call failed with one, e.g. "UNAVAILABLE". */
  readonly codeName?: string;
  readonly message: string;
  /** What the stream threw (a ProberRpcError from the client). */
  readonly cause: unknown;
}

export interface LastError {
  readonly seq: number;
  readonly reason: string;
  readonly message: string;
}

/** How the stream ended. */
export interface FeedOutcome {
  readonly status: Exclude<FeedStatus, 'connecting' | 'running' | 'reconnecting'>;
  /** The summary to report: the server's when it sent one (it saw every attempt), else the local one. */
  readonly summary: Summary;
  /** The server's final summary, when it sent one. */
  readonly serverSummary?: Summary;
  /** Summary of every attempt this client consumed (resets do not apply). */
  readonly localSummary: Summary;
  readonly received: number;
  readonly failure?: FeedFailure;
}

export interface FeedOptions {
  /** Requested attempts; 0 = continuous. */
  readonly repetitions: number;
  /** The call's deadline, relative to start (for the countdown). */
  readonly deadlineMs?: number;
  /** Debug: wait this long after each event before pulling the next. */
  readonly slowConsumerMs?: number;
  /** Latencies kept for the sparkline. */
  readonly recentCapacity?: number;
  /** Called for every event as it is consumed (line mode); awaited, so a slow writer paces the stream. */
  readonly onEvent?: (ev: WatchEvent) => void | Promise<void>;
  /** Clock, ms (tests). */
  readonly now?: () => number;
  /**
   * Reopen the stream after it fails (not after cancel, a deadline or an error
   * a retry cannot fix), waiting initialMs, doubling up to maxMs; the counters
   * continue. Off by default: one server's failure ends its run, as before.
   */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Every attempt folded here is folded into this feed too (the merged "all regions" panel). */
  readonly tee?: StreamFeed;
}

/** gRPC statuses a reconnect cannot fix: INVALID_ARGUMENT, DEADLINE_EXCEEDED, PERMISSION_DENIED, FAILED_PRECONDITION, UNIMPLEMENTED, UNAUTHENTICATED. */
const FINAL_CODES: ReadonlySet<number> = new Set([3, 4, 7, 9, 12, 16]);

/** Consecutive failed attempts after which a region counts as down. */
export const DOWN_STREAK = 5;

export interface SnapshotOptions {
  /** Histogram buckets wanted (log-spaced between min and max). */
  readonly histogramRows: number;
  /** Recent latencies wanted for the sparkline. */
  readonly recent: number;
  /** Bucket upper bounds to bin with (shared by every region); default: this feed's own axis. */
  readonly boundsMs?: readonly number[];
}

/** A histogram bucket with the failed responses among its count. */
export interface BarBucket extends HistogramBucket {
  /** Responses in this bucket whose attempt failed (e.g. status 503). */
  readonly failed?: number;
}

/** What the histogram draws: buckets up to the axis' end, the rest in one overflow row. */
export interface BarHistogram {
  readonly buckets: readonly BarBucket[];
  /** Responses above the last bound. */
  readonly overflow: number;
  readonly overflowFailed?: number;
  /** The slowest response, shown on the overflow row. */
  readonly maxMs?: number;
}

/** Attempts and failed attempts per second, oldest first, one per whole second. */
export interface RateSeries {
  readonly attempts: readonly number[];
  readonly errors: readonly number[];
}

/** Seconds of rate history kept (the chart's last minute). */
export const RATE_SECONDS = 60;

/** Everything a panel draws; immutable. */
export interface FeedSnapshot {
  readonly label: string;
  readonly status: FeedStatus;
  /** Attempt events consumed since start (not cleared by reset). */
  readonly received: number;
  /** Requested attempts; 0 = continuous. */
  readonly repetitions: number;
  readonly elapsedMs: number;
  /** Time left before the call's deadline; undefined without one. */
  readonly deadlineLeftMs?: number;
  /** Attempts consumed per second over the last few seconds. */
  readonly ratePerSec: number;
  readonly summary: Summary;
  readonly histogram: BarHistogram;
  /** Per-second counts over up to the last minute (complete seconds only). */
  readonly rates: RateSeries;
  /** Time since `r` last cleared the statistics; undefined before any reset. */
  readonly sinceResetMs?: number;
  /** Oldest first; undefined marks a failed attempt without a response. */
  readonly recent: readonly (number | undefined)[];
  readonly lastError?: LastError;
  readonly serverSummary?: Summary;
  readonly failure?: FeedFailure;
  readonly slowConsumerMs: number;
  /** While reconnecting: time until the next try. */
  readonly retryInMs?: number;
  /** Failed attempts in a row, latest last (not cleared by reset). */
  readonly failStreak: number;
  /** The reason of the latest failed attempt of that streak. */
  readonly streakReason?: string;
  /** Increases with every consumed event or state change. */
  readonly version: number;
}

export class StreamFeed {
  readonly label: string;
  // What the screen shows (cleared by reset) and the whole run (for the
  // final summary of a cancelled call, which gets none from the server).
  private readonly stats = new RunStats();
  private readonly total = new RunStats();
  private readonly controller = new AbortController();
  private readonly now: () => number;
  private readonly recentBuf: Float64Array;
  private recentHead = 0;
  private recentLen = 0;
  private statusValue: FeedStatus = 'connecting';
  private receivedCount = 0;
  private versionValue = 0;
  private startedAt: number | undefined;
  private endedAt: number | undefined;
  private lastErr: LastError | undefined;
  private server: Summary | undefined;
  private failureValue: FeedFailure | undefined;
  private cancelled = false;
  private running: Promise<FeedOutcome> | undefined;
  private readonly meter = new RateMeter();
  private readonly perSecond = new SecondRing(RATE_SECONDS);
  private resetAt: number | undefined;
  private retryAt: number | undefined;
  private streak = 0;
  private streakReasonValue: string | undefined;

  constructor(
    private readonly source: WatchSource,
    private readonly opts: FeedOptions,
  ) {
    this.label = source.label;
    this.now = opts.now ?? (() => performance.now());
    this.recentBuf = new Float64Array(Math.max(1, opts.recentCapacity ?? 512));
  }

  get status(): FeedStatus {
    return this.statusValue;
  }
  get version(): number {
    return this.versionValue;
  }
  get received(): number {
    return this.receivedCount;
  }
  get finished(): boolean {
    return this.endedAt !== undefined;
  }
  get elapsedMs(): number {
    return this.elapsed();
  }

  /** Starts consuming (once); resolves when the stream has ended, never rejects. */
  start(): Promise<FeedOutcome> {
    this.running ??= this.consume();
    return this.running;
  }

  /** Cancels the call; `start()` then resolves with status "cancelled". */
  cancel(): void {
    if (this.endedAt !== undefined) return;
    this.cancelled = true;
    this.controller.abort();
  }

  /** Clears the statistics shown (the progress counter keeps counting). */
  reset(): void {
    this.stats.reset();
    this.recentHead = 0;
    this.recentLen = 0;
    this.lastErr = undefined;
    this.perSecond.clear();
    this.resetAt = this.now();
    this.versionValue++;
  }

  /** Folds one event. O(1). Public so tests can drive a feed synchronously. */
  fold(ev: WatchEvent): void {
    this.versionValue++;
    if (ev.kind === 'summary') {
      this.server = ev.summary;
      return;
    }
    const a = ev.attempt;
    this.receivedCount++;
    this.stats.add(a);
    this.total.add(a);
    this.recentBuf[this.recentHead] = a.status === undefined ? Number.NaN : a.latencyMs;
    this.recentHead = (this.recentHead + 1) % this.recentBuf.length;
    if (this.recentLen < this.recentBuf.length) this.recentLen++;
    if (a.error !== undefined) this.lastErr = { seq: a.seq, reason: a.error.reason, message: a.error.message };
    this.perSecond.add(this.now(), a.error !== undefined);
    if (a.error === undefined) this.streak = 0;
    else {
      this.streak++;
      this.streakReasonValue = a.error.reason;
    }
    this.opts.tee?.fold(ev);
  }

  /** The stream failed with `err`: record it; true when it is worth opening again. */
  private failed(err: unknown): boolean {
    const e = err as { codeName?: unknown; details?: unknown; message?: unknown };
    this.failureValue = {
      ...(typeof e.codeName === 'string' ? { codeName: e.codeName } : {}),
      message: String((typeof e.details === 'string' && e.details) || e.message || err),
      cause: err,
    };
    if (isDeadlineExceeded(err)) {
      this.statusValue = 'deadline';
      return false;
    }
    this.statusValue = 'error';
    const code = rpcStatusOf(err);
    const deadline = this.opts.deadlineMs;
    return (
      this.opts.reconnect !== undefined &&
      (code === undefined || !FINAL_CODES.has(code)) &&
      (deadline === undefined || this.elapsed() < deadline)
    );
  }

  /** Reads one stream to its end; `onFirst` runs when its first event arrives. */
  private async readStream(slow: number, onFirst: () => void): Promise<void> {
    let first = true;
    for await (const ev of this.source.open(this.controller.signal)) {
      if (first) {
        first = false;
        onFirst();
      }
      this.fold(ev);
      if (this.opts.onEvent) await this.opts.onEvent(ev);
      // Delay the next pull, not the drawing: this is what paces the server.
      if (slow > 0) await sleep(slow, undefined, { signal: this.controller.signal });
    }
  }

  private async consume(): Promise<FeedOutcome> {
    this.startedAt = this.now();
    this.statusValue = 'running';
    const slow = this.opts.slowConsumerMs ?? 0;
    const initial = Math.max(1, this.opts.reconnect?.initialMs ?? 1000);
    const cap = Math.max(initial, this.opts.reconnect?.maxMs ?? 10_000);
    let backoff = initial;
    for (;;) {
      try {
        await this.readStream(slow, () => {
          // Back at work: the error goes, the next failure waits the initial delay again.
          backoff = initial;
          this.statusValue = 'running';
          this.failureValue = undefined;
          this.retryAt = undefined;
        });
        if (this.cancelled) this.statusValue = 'cancelled';
        else if (this.server?.deadlineReached === true) this.statusValue = 'deadline';
        else this.statusValue = 'done';
        break;
      } catch (err) {
        if (this.cancelled) {
          // Quit while the server was down: its failure is the outcome.
          if (this.statusValue !== 'reconnecting') this.statusValue = 'cancelled';
          break;
        }
        if (!this.failed(err)) break;
      }
      this.statusValue = 'reconnecting';
      this.retryAt = this.now() + backoff;
      this.versionValue++;
      try {
        await sleep(backoff, undefined, { signal: this.controller.signal });
      } catch {
        break; // cancelled while waiting
      }
      backoff = Math.min(cap, backoff * 2);
    }
    if (this.statusValue === 'reconnecting') this.statusValue = 'error';
    this.retryAt = undefined;
    this.endedAt = this.now();
    this.versionValue++;
    return this.outcome();
  }

  /**
   * The outcome so far, without waiting: for a stream that has not ended
   * (e.g. one that ignores cancellation) it reads as cancelled.
   */
  outcomeNow(): FeedOutcome {
    return this.outcome();
  }

  private outcome(): FeedOutcome {
    const st = this.statusValue;
    const localSummary = this.localSummary(this.total);
    return {
      status: st === 'reconnecting' ? 'error' : st === 'connecting' || st === 'running' ? 'cancelled' : st,
      summary: this.server ?? localSummary,
      ...(this.server ? { serverSummary: this.server } : {}),
      localSummary,
      received: this.receivedCount,
      ...(this.failureValue ? { failure: this.failureValue } : {}),
    };
  }

  private elapsed(): number {
    if (this.startedAt === undefined) return 0;
    return (this.endedAt ?? this.now()) - this.startedAt;
  }

  private localSummary(stats: RunStats): Summary {
    const s = this.server;
    return stats.summary({
      deadlineReached: this.statusValue === 'deadline',
      elapsedMs: this.elapsed(),
      backpressureWaitMs: s?.backpressureWaitMs ?? 0,
      eventsSent: s?.eventsSent ?? 0,
    });
  }

  private rate(): number {
    if (this.endedAt !== undefined) {
      const total = this.elapsed();
      return total > 0 ? (this.receivedCount * 1000) / total : 0;
    }
    return this.meter.sample(this.now(), this.receivedCount);
  }

  /**
   * The histogram's bucket bounds for `rows` rows: log-spaced from the fastest
   * response to the axis' end (max, or a high percentile when the slowest are
   * far outliers), one row kept for the overflow when the axis is cut short.
   * Undefined before any response. The merged feed's bounds are every region's.
   */
  axisBounds(rows: number): number[] | undefined {
    const summary = this.stats.summary();
    if (summary.responses === 0) return undefined;
    return this.boundsFor(summary, Math.max(1, rows));
  }

  private boundsFor(summary: Summary, rows: number): number[] {
    const min = summary.minMs ?? 0;
    const max = summary.maxMs ?? 1;
    // One row has no room for an overflow row: the axis then ends at the max.
    const top = (rows > 1 ? axisTopMs((p) => this.stats.latencyPercentile(p)) : undefined) ?? max;
    const bounds = logBounds(min, top, rows);
    // Cut short of the max: the overflow row takes one of the rows.
    return bounds[bounds.length - 1]! < max && rows > 1 ? logBounds(min, top, rows - 1) : bounds;
  }

  /** The responses binned with `bounds`, the failed ones in each bucket. */
  private bars(summary: Summary, bounds: readonly number[]): BarHistogram {
    const all = this.stats.histogram(bounds);
    const failed = this.stats.failedHistogram(bounds);
    const anyFailed = failed.overflow > 0 || failed.buckets.some((b) => b.count > 0);
    return {
      // Past the exact-sample limit both are binned from the fine histograms;
      // keep the failed share within its bucket.
      buckets: all.buckets.map((b, k) =>
        anyFailed ? { ...b, failed: Math.min(b.count, failed.buckets[k]!.count) } : b,
      ),
      overflow: all.overflow,
      ...(anyFailed ? { overflowFailed: Math.min(all.overflow, failed.overflow) } : {}),
      ...(all.overflow > 0 && summary.maxMs !== undefined ? { maxMs: summary.maxMs } : {}),
    };
  }

  /** Builds what a frame draws. Cost: a summary plus one re-bin; call per frame, not per event. */
  snapshot(opts: SnapshotOptions): FeedSnapshot {
    const summary = this.localSummary(this.stats);
    const rows = Math.max(1, opts.histogramRows);
    const histogram =
      summary.responses > 0
        ? this.bars(summary, opts.boundsMs ?? this.boundsFor(summary, rows))
        : { buckets: [], overflow: 0 };
    const want = Math.max(0, Math.min(opts.recent, this.recentLen));
    const recent: (number | undefined)[] = new Array(want);
    const cap = this.recentBuf.length;
    for (let i = 0; i < want; i++) {
      const v = this.recentBuf[(this.recentHead - want + i + cap * 2) % cap]!;
      recent[i] = Number.isNaN(v) ? undefined : v;
    }
    const deadline = this.opts.deadlineMs;
    return {
      label: this.label,
      status: this.statusValue,
      received: this.receivedCount,
      repetitions: this.opts.repetitions,
      elapsedMs: this.elapsed(),
      ...(deadline !== undefined ? { deadlineLeftMs: Math.max(0, deadline - this.elapsed()) } : {}),
      ratePerSec: this.rate(),
      summary,
      histogram,
      rates: this.perSecond.series(this.endedAt ?? this.now()),
      ...(this.resetAt !== undefined ? { sinceResetMs: (this.endedAt ?? this.now()) - this.resetAt } : {}),
      recent,
      ...(this.lastErr ? { lastError: this.lastErr } : {}),
      ...(this.server ? { serverSummary: this.server } : {}),
      ...(this.failureValue ? { failure: this.failureValue } : {}),
      slowConsumerMs: this.opts.slowConsumerMs ?? 0,
      ...(this.retryAt !== undefined ? { retryInMs: Math.max(0, this.retryAt - this.now()) } : {}),
      failStreak: this.streak,
      ...(this.streak > 0 && this.streakReasonValue !== undefined ? { streakReason: this.streakReasonValue } : {}),
      version: this.versionValue,
    };
  }
}

/**
 * Per-second attempt and error counts in a ring of `size` seconds: O(1) per
 * event (amortised: a gap of many idle seconds clears at most `size` slots).
 */
export class SecondRing {
  private readonly attempts: Uint32Array;
  private readonly errors: Uint32Array;
  /** The second (floor(ms / 1000)) the newest slot counts; undefined when empty. */
  private head: number | undefined;
  /** The first second counted since the last clear. */
  private first = 0;

  constructor(private readonly size: number) {
    this.attempts = new Uint32Array(size);
    this.errors = new Uint32Array(size);
  }

  add(nowMs: number, failed: boolean): void {
    const i = this.advance(Math.floor(nowMs / 1000));
    this.attempts[i]!++;
    if (failed) this.errors[i]!++;
  }

  clear(): void {
    this.head = undefined;
    this.attempts.fill(0);
    this.errors.fill(0);
  }

  /** Whole seconds before `nowMs`'s, oldest first, from the first counted one (at most size - 1). */
  series(nowMs: number): RateSeries {
    if (this.head === undefined) return { attempts: [], errors: [] };
    const sec = Math.floor(nowMs / 1000);
    const first = Math.max(this.first, sec - (this.size - 1));
    const attempts: number[] = [];
    const errors: number[] = [];
    for (let t = first; t < sec; t++) {
      const inRing = t <= this.head && t > this.head - this.size;
      const i = ((t % this.size) + this.size) % this.size;
      attempts.push(inRing ? this.attempts[i]! : 0);
      errors.push(inRing ? this.errors[i]! : 0);
    }
    return { attempts, errors };
  }

  /** Moves the head to `sec` (clearing the slots skipped) and returns its slot. */
  private advance(sec: number): number {
    const n = this.size;
    if (this.head === undefined) {
      this.head = sec;
      this.first = sec;
    } else if (sec > this.head) {
      const skip = Math.min(n, sec - this.head);
      for (let k = 1; k <= skip; k++) {
        const j = (((this.head + k) % n) + n) % n;
        this.attempts[j] = 0;
        this.errors[j] = 0;
      }
      this.head = sec;
    }
    // A clock that steps back (never with performance.now) counts in the newest slot.
    return ((Math.min(sec, this.head) % n) + n) % n;
  }
}

/**
 * Events per second over the last few seconds, from (time, total) samples
 * taken when a frame is drawn: per-frame cost, nothing per event.
 */
export class RateMeter {
  private samples: Array<readonly [number, number]> = [];

  sample(nowMs: number, total: number): number {
    const s = this.samples;
    s.push([nowMs, total]);
    // Keep about 3 s, but always the newest sample at least 1 s old.
    while (s.length > 2 && nowMs - s[1]![0] >= 1000 && nowMs - s[0]![0] > 3000) s.shift();
    if (s.length > 256) s.splice(0, s.length - 256);
    const [t0, n0] = s[0]!;
    const dt = nowMs - t0;
    return dt >= 200 ? ((total - n0) * 1000) / dt : 0;
  }
}
