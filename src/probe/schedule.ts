// Scheduling of a probe's attempts: concurrency slots, interval pacing,
// deadline, and pull-based backpressure. Results come out in completion order.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { Attempt, type AttemptOptions, launchAttempt, prepareSpec } from './attempt.js';
import { attemptError } from './errors.js';
import { H2Pool, http2 } from './h2.js';
import { type LoopDelayRecorder, startLoopDelayRecorder } from './loop-delay.js';
import { proxyAgent } from './proxy.js';
import type { EventLoopDelayReading } from '../stats/types.js';
import type { AttemptResult, ProbeSpec } from './types.js';

export interface RunOptions {
  /** Aborting destroys in-flight requests and ends iteration at once. */
  readonly signal?: AbortSignal;
  /** `performance.now()` time by which every attempt must have finished. */
  readonly deadline?: number;
  /**
   * Aborting stops new launches only (the server shutting down): attempts in
   * flight still finish and are delivered, then iteration ends.
   */
  readonly windDown?: AbortSignal;
  /**
   * Most finished-but-unconsumed results held (default: concurrency). A slot
   * stays taken from launch until its result is handed to the consumer, so a
   * value below `concurrency` also lowers the attempts in flight.
   */
  readonly maxBuffered?: number;
  /**
   * After an attempt shorter than this (ms; Infinity: every attempt), a result
   * handed to a waiting consumer keeps its slot until the consumer's next
   * `next()`: the next attempt starts only once the consumer is done with the
   * last one, so its work never runs beside a short timed attempt (the engine
   * thread at concurrency 1, whose consumer pulls only after the main thread
   * has handled the result; it passes LAUNCH_ON_PULL_BELOW_MS). Behind a long
   * attempt the consumer's work ends long before the next response comes, and
   * waiting would only leave the target idle before each request. Unset: never.
   */
  readonly launchOnPullBelowMs?: number;
}

/** The attempts of one probe, as they finish. Iterate once. */
export interface ProbeRun extends AsyncIterable<AttemptResult> {
  /** True once the deadline stopped new attempts from starting. */
  readonly deadlineReached: boolean;
  /** Attempts started so far. */
  readonly launched: number;
  /**
   * This thread's event-loop delay from the first `next()` to the end of
   * iteration (undefined before the first sample, ~10 ms in).
   */
  readonly eventLoopDelay: EventLoopDelayReading | undefined;
}

/**
 * The engine thread's launchOnPullBelowMs at concurrency 1. Measured on
 * the engine thread at c=1 (/delay/20, 10 rounds × 40, overhead p50 over a
 * truth target): holding read 0.30–0.37 ms keep-alive and 0.64–0.73 fresh,
 * launching at once 0.04–0.10 and 0.33–0.35 (a bare node:http fresh 0.54–0.67).
 */
export const LAUNCH_ON_PULL_BELOW_MS = 5;

/** No attempt starts with less than this left before the deadline. */
export const MIN_ATTEMPT_MS = 10;

/**
 * Idle kept-alive sockets are closed after this (server Keep-Alive hints can
 * lower it). Same default as undici's keepAliveTimeout: reusing a socket the
 * server is about to close would report a spurious RESET.
 */
export const KEEP_ALIVE_IDLE_MS = 4_000;

/**
 * How late an interval-mode start may be before it counts as a slip. Node's
 * timers fire up to ~1.2 ms late on an idle loop (whole-ms resolution against
 * a cached loop clock), so anything under 2 ms is the timer, not a stall.
 */
export function slipToleranceMs(intervalMs: number): number {
  return Math.max(2, intervalMs * 0.05);
}

/**
 * Run `spec`'s attempts. Nothing starts until the first `next()`; after that
 * attempts start while a slot is free (at most `concurrency` in flight, at
 * most `maxBuffered` in flight or waiting for the consumer), spaced by
 * `intervalMs` when set. Iteration ends after `repetitions` results (never,
 * for 0, until abort, deadline or `return()`).
 */
export function runProbes(spec: ProbeSpec, options: RunOptions = {}): ProbeRun {
  return new Scheduler(spec, options);
}

type Waiter = (r: IteratorResult<AttemptResult>) => void;

class Scheduler implements ProbeRun, AsyncIterator<AttemptResult> {
  private readonly spec: ProbeSpec;
  private readonly signal: AbortSignal | undefined;
  private readonly windDown: AbortSignal | undefined;
  private readonly deadline: number | undefined;
  private readonly capacity: number;
  private readonly launchOnPullBelowMs: number;
  /** Results handed to the consumer that still hold a slot (launchOnPullBelowMs). */
  private held = 0;
  private readonly agent: http.Agent | undefined;
  /** HTTP/2 sessions of a reusing run (h2.ts): attempts multiplex on one per origin. */
  private readonly h2Pool: H2Pool | undefined;

  private started = false;
  /** No more launches (count reached, deadline, abort, return). */
  private exhausted = false;
  /** Iteration over: waiters get done, results are dropped. */
  private closed = false;
  private launchedCount = 0;
  private deadlineHit = false;
  private readonly inFlight = new Set<Attempt>();
  private readonly buffer: AttemptResult[] = [];
  private readonly waiters: Waiter[] = [];
  /** Interval mode: monotonic time the next attempt is due. */
  private nextDue = 0;
  private timer: NodeJS.Timeout | undefined;
  private loop: LoopDelayRecorder | undefined;
  private pumpSoon: NodeJS.Immediate | undefined;
  private readonly onAbort = (): void => this.close();
  private readonly onWindDown = (): void => {
    this.exhausted = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.maybeEnd();
  };

  constructor(spec: ProbeSpec, options: RunOptions) {
    this.spec = spec;
    this.signal = options.signal;
    this.windDown = options.windDown;
    this.deadline = options.deadline;
    const maxBuffered = options.maxBuffered ?? spec.concurrency;
    this.capacity = Number.isFinite(maxBuffered) ? Math.max(1, Math.floor(maxBuffered)) : spec.concurrency;
    this.launchOnPullBelowMs = options.launchOnPullBelowMs ?? 0;
    if (spec.reuseConnections) {
      // One pool per run, sized to the slots; destroyed when the run ends.
      // maxCachedSessions 0: a new connection in the pool makes a full handshake too, never a resumed one.
      const agentOptions = {
        keepAlive: true,
        maxSockets: spec.concurrency,
        timeout: KEEP_ALIVE_IDLE_MS,
        maxCachedSessions: 0,
      };
      // Through a proxy, https:// connections are CONNECT tunnels kept alive like any other.
      if (spec.url.protocol !== 'https:') this.agent = new http.Agent(agentOptions);
      else this.agent = spec.proxy ? proxyAgent(agentOptions) : new https.Agent(agentOptions);
      if (spec.httpVersion !== undefined) this.h2Pool = new H2Pool();
    }
    if (spec.httpVersion !== undefined) http2();
  }

  get deadlineReached(): boolean {
    return this.deadlineHit;
  }

  get launched(): number {
    return this.launchedCount;
  }

  get eventLoopDelay(): EventLoopDelayReading | undefined {
    return this.loop?.read();
  }

  [Symbol.asyncIterator](): AsyncIterator<AttemptResult> {
    return this;
  }

  next(): Promise<IteratorResult<AttemptResult>> {
    if (!this.started) this.start();
    if (this.held > 0) {
      this.held = 0;
      this.schedulePump();
    }
    const r = this.buffer.shift();
    if (r !== undefined) {
      this.schedulePump();
      return Promise.resolve({ value: r, done: false });
    }
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  return(): Promise<IteratorResult<AttemptResult>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  private start(): void {
    this.started = true;
    if (this.signal?.aborted) {
      this.close();
      return;
    }
    this.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.windDown?.aborted) this.exhausted = true;
    else this.windDown?.addEventListener('abort', this.onWindDown, { once: true });
    prepareSpec(this.spec); // before the first t0, not inside attempt #1
    this.loop = startLoopDelayRecorder();
    this.nextDue = performance.now();
    this.pump();
  }

  /**
   * Pump after the consumer's synchronous turn: a launch takes t0 at once but
   * Node connects on a later tick, so launching from inside the hand-over
   * would time the consumer's work (stats, encoding, call.write) as part of
   * the next attempt. setImmediate runs after that turn and its microtasks.
   */
  private schedulePump(): void {
    this.pumpSoon ??= setImmediate(() => {
      this.pumpSoon = undefined;
      this.pump();
    });
  }

  /** Launch what may be launched now; arm the interval timer otherwise. */
  private pump(): void {
    while (!this.closed && !this.exhausted) {
      const { repetitions, concurrency, intervalMs } = this.spec;
      if (repetitions > 0 && this.launchedCount >= repetitions) {
        this.exhausted = true;
        break;
      }
      if (this.inFlight.size >= concurrency || this.inFlight.size + this.buffer.length + this.held >= this.capacity)
        break;
      const now = performance.now();
      const due = intervalMs > 0 ? this.nextDue : now;
      if (this.deadline !== undefined && this.deadline - Math.max(now, due) < MIN_ATTEMPT_MS) {
        // Too little time left for this attempt, now or when it falls due.
        this.deadlineHit = true;
        this.exhausted = true;
        break;
      }
      if (intervalMs > 0 && now < due) {
        if (this.timer === undefined) {
          this.timer = setTimeout(() => {
            this.timer = undefined;
            this.pump();
          }, due - now);
        }
        break;
      }
      let scheduleDelayMs: number | undefined;
      if (intervalMs > 0) {
        const late = now - due;
        if (late > slipToleranceMs(intervalMs)) {
          // Never burst to catch up: pace the rest from this actual start.
          scheduleDelayMs = late;
          this.nextDue = now + intervalMs;
        } else {
          this.nextDue = due + intervalMs;
        }
      }
      this.launch(now, scheduleDelayMs);
    }
    this.maybeEnd();
  }

  private launch(now: number, scheduleDelayMs: number | undefined): void {
    const seq = ++this.launchedCount;
    let timeoutMs = this.spec.timeoutMs;
    let timeoutIsDeadline = false;
    if (this.deadline !== undefined && this.deadline - now < timeoutMs) {
      timeoutMs = this.deadline - now;
      timeoutIsDeadline = true;
    }
    const opts: { -readonly [K in keyof AttemptOptions]: AttemptOptions[K] } = { seq, timeoutMs, timeoutIsDeadline };
    if (this.agent) opts.agent = this.agent;
    if (this.h2Pool) opts.h2Pool = this.h2Pool;
    // The result comes to settle directly (at once, if the attempt fails before
    // sending): no promise and no AbortController per attempt; close() aborts
    // the attempts in flight through their handles.
    const settle = (result: AttemptResult): void => {
      this.inFlight.delete(a);
      if (this.closed) return;
      this.deliver(scheduleDelayMs === undefined ? result : { ...result, scheduleDelayMs });
      this.schedulePump();
    };
    const a = new Attempt(this.spec, opts, settle);
    this.inFlight.add(a);
    try {
      launchAttempt(a);
    } catch (err) {
      // launchAttempt reports its failures as results; should it ever throw, the slot must still be freed.
      const error = attemptError('OTHER', `internal error: ${String(err)}`, false);
      if (!a.done) a.finish(error);
      else if (this.inFlight.has(a)) {
        settle({
          seq,
          startedAt: a.startedAt,
          latencyMs: performance.now() - now,
          phases: {},
          bodyBytes: 0,
          reused: false,
          error,
        });
      }
    }
  }

  private deliver(result: AttemptResult): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      if (result.latencyMs < this.launchOnPullBelowMs) this.held++;
      waiter({ value: result, done: false });
    } else this.buffer.push(result);
  }

  private maybeEnd(): void {
    if (!this.closed && this.exhausted && this.inFlight.size === 0 && this.buffer.length === 0) this.close();
  }

  /** End iteration: abort in-flight attempts, drop timers and the pool. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.exhausted = true;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pumpSoon !== undefined) clearImmediate(this.pumpSoon);
    this.pumpSoon = undefined;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.windDown?.removeEventListener('abort', this.onWindDown);
    this.loop?.stop();
    for (const a of this.inFlight) a.abort();
    this.inFlight.clear();
    this.buffer.length = 0;
    this.agent?.destroy();
    this.h2Pool?.close();
    for (const w of this.waiters.splice(0)) w({ value: undefined, done: true });
  }
}
