// prober.v1.Prober: a small class with a thin addToServer, after grpc-node's
// grpc-health-check HealthImplementation. Handlers are
//   request -> ProbeInput (codec) -> ProbeSpec (validation) -> engine run
//   -> RunStats -> Summary (codec) -> reply / stream.
// The engine is pull-based, so not pulling is how the stream's reader paces
// probing: while call.write() waits for 'drain', no new attempt starts.
import { once } from 'node:events';
import { timerDelay } from '../common/timers.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type * as grpc from '@grpc/grpc-js';
import { prober } from '../generated/prober/v1/prober.js';
import { BatchWriter } from './batch-writer.js';
import {
  encodeAttemptEvent,
  proberServiceDefinition,
  requestFromProto,
  summaryEvent,
  summaryToProto,
  undecodableReason,
  type ProbeStreamMessage,
} from '../wire/index.js';
import {
  DEFAULT_LIMITS,
  InvalidArgumentError,
  runProbes as engineRunProbes,
  preflightTarget,
  connectTarget,
  validateProbeInput,
} from '../probe/index.js';
import type { TargetPolicy } from '../probe/policy.js';
import type { AttemptResult, ProbeLimits, ProbeSpec } from '../probe/types.js';
import type { RunOptions } from '../probe/index.js';
import { RunStats } from '../stats/index.js';
import type { EventLoopDelayReading, Summary } from '../stats/types.js';
import { NOOP_OBSERVER, callRecord, type CallRecord, type ProbeObserver, type Rpc } from './observer.js';
import { peerAddress, type Admission, type Ticket } from './admission.js';
import { STDERR_LOGGER, shuttingDownError, toServiceError, type ErrorLogger } from './status.js';
import { BLACKBOX_MODULES, findModule, withModule, withModuleSpec, type ModuleTable } from './modules.js';

import pb = prober.v1;

/** What the service needs from the engine (a seam for tests). */
export type RunProbesFn = (
  spec: ProbeSpec,
  options: RunOptions,
) => AsyncIterable<AttemptResult> & {
  readonly deadlineReached: boolean;
  /** The engine thread's event-loop delay over the run (ProbeRun's). */
  readonly eventLoopDelay?: EventLoopDelayReading | undefined;
};

export interface ProberServiceOptions {
  /** Server limits, already resolved (resolveServerConfig); default DEFAULT_LIMITS. allowContinuous is set per RPC. */
  readonly limits?: ProbeLimits;
  readonly observer?: ProbeObserver;
  /**
   * Time kept free before the call's deadline for the summary to travel, in
   * ms; default `defaultDeadlineMargin(budget)`.
   */
  readonly deadlineMarginMs?: number | ((budgetMs: number) => number);
  /** Where unexpected errors are logged (INTERNAL replies). */
  readonly logger?: ErrorLogger;
  /** Engine's finished-but-unconsumed buffer (default: the request's concurrency). */
  readonly maxBuffered?: number;
  /** The engine; tests may substitute it. */
  readonly runProbes?: RunProbesFn;
  /** Read at each call's start (listeners join it as they bind); its data rides in the spec. */
  readonly targetPolicy?: { current(): TargetPolicy };
  /** Server-wide caps and the rate limit, checked at each call's start; default none. */
  readonly admission?: Admission;
  /** Reported in every summary and on a stream's first event. */
  readonly region?: string;
  /** What ProbeRequest.module may name; default the built-in modules. */
  readonly modules?: ModuleTable;
}

/**
 * 10% of the budget, at least 50 ms, at most 250 ms. With 20 ms, a 300 ms
 * call under load got DEADLINE_EXCEEDED instead of its partial summary in up
 * to 60% of runs (test/server-soak.test.ts): the summary needs time to travel.
 */
export function defaultDeadlineMargin(budgetMs: number): number {
  return Math.max(50, Math.min(250, budgetMs * 0.1));
}

/**
 * Turn a grpc-js call deadline (epoch ms or Date; Infinity = none) into
 * performance.now() times: `engine`, by which every attempt must have ended,
 * and `guard`, halfway through the margin, when the service stops waiting on
 * anything (engine or flow control) and sends what it has.
 */
export function deadlinePlan(
  deadline: grpc.Deadline,
  margin: (budgetMs: number) => number,
  nowEpoch = Date.now(),
  nowMono = performance.now(),
): { engine: number; guard: number } | undefined {
  const epoch = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(epoch)) return undefined;
  const budget = epoch - nowEpoch;
  const m = Math.max(0, margin(budget));
  return { engine: nowMono + budget - m, guard: nowMono + budget - m / 2 };
}

/**
 * When every call winds down for a server shutdown whose grace ends
 * `graceMs` from now (performance.now() times), planned like a deadline:
 * `stop` (no new attempts; those in flight may finish) one margin before the
 * end, `guard` (send what was measured) half a margin before it.
 */
export function shutdownPlan(
  graceMs: number,
  margin: (budgetMs: number) => number,
  nowMono = performance.now(),
): ShutdownPlan {
  const grace = Math.max(0, graceMs);
  const m = Math.min(grace, Math.max(0, margin(grace)));
  return { stop: nowMono + grace - m, guard: nowMono + grace - m / 2 };
}

export interface ShutdownPlan {
  readonly stop: number;
  readonly guard: number;
}

const at = (t: number): number => timerDelay(t - performance.now());

/**
 * Per-call lifetime: one AbortController for the engine, aborted when the
 * caller leaves ('cancelled'), when the deadline or shutdown guard fires, or
 * when the handler is done; a second one winds the engine down (no new
 * launches) when the server shuts down. Abort is idempotent, so grpc-js's
 * 'cancelled' after a normal completion is harmless.
 */
class CallControl {
  readonly ac = new AbortController();
  readonly windDown = new AbortController();
  cancelled = false;
  guardFired = false;
  /** The server's shutdown stopped this call's launches. */
  shutdown = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly shutdownTimers: NodeJS.Timeout[] = [];
  private readonly onCancelled = (): void => {
    this.cancelled = true;
    this.ac.abort();
  };

  constructor(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'cancelled' | 'on'>, guardAt: number | undefined) {
    if (call.cancelled) this.onCancelled();
    call.on('cancelled', this.onCancelled);
    if (guardAt !== undefined) {
      this.timer = setTimeout(
        () => {
          this.guardFired = true;
          this.ac.abort();
        },
        Math.max(0, guardAt - performance.now()),
      );
    }
  }

  get stopped(): boolean {
    return this.ac.signal.aborted;
  }

  /** Server shutdown: stop launching at plan.stop, stop waiting at plan.guard. */
  shutDown(plan: ShutdownPlan, onStop: () => void): void {
    if (this.stopped || this.shutdownTimers.length > 0) return;
    const stop = (): void => {
      if (this.stopped) return;
      this.shutdown = true;
      onStop();
      this.windDown.abort();
    };
    this.shutdownTimers.push(
      setTimeout(stop, at(plan.stop)),
      setTimeout(() => {
        stop();
        this.ac.abort();
      }, at(plan.guard)),
    );
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const t of this.shutdownTimers) clearTimeout(t);
    this.ac.abort();
    // Keep listening: a late 'cancelled' must not be an unhandled event, and
    // the listener is a no-op once aborted.
  }
}

/**
 * How one RPC hands the run's results to its caller; everything else (the
 * lifecycle) is ProberService.run's. Probe sets only summary and fail.
 */
interface Delivery {
  readonly rpc: Rpc;
  readonly allowContinuous: boolean;
  /**
   * Send one attempt; false when the transport asks to wait (write() returned
   * false). `flushed` is called once the event is handed to the socket.
   */
  readonly attempt?: (a: AttemptResult, flushed?: () => void) => boolean;
  /** Resolves on 'drain', or when `signal` aborts. */
  readonly drain?: (signal: AbortSignal) => Promise<void>;
  /** Messages the transport holds unsent; `drain` is awaited only past streamWriteBound. */
  readonly queued?: () => number;
  summary(s: Summary): void;
  fail(err: grpc.ServiceError): void;
}

/** The handler side of a call, as the runner uses it. */
type ServerCall = Pick<
  grpc.ServerUnaryCall<pb.ProbeRequest, unknown>,
  'request' | 'metadata' | 'getDeadline' | 'cancelled' | 'on'
> &
  Partial<Pick<grpc.ServerUnaryCall<pb.ProbeRequest, unknown>, 'getPeer'>>;

/**
 * Events a ProbeStream may have queued in grpc-js before it waits for 'drain'.
 * write() says "wait" past grpc-js's own mark, 16, which one burst of results
 * from the engine thread reaches at c=32 while HTTP/2 still has window:
 * waiting then stalled probing for ~25% of a c=32 stream. Two windows of the
 * engine (2 x concurrency) may queue; a stalled reader still stops the run.
 */
export function streamWriteBound(concurrency: number): number {
  return Math.max(16, 2 * concurrency);
}

/** Longest a c=1 stream waits for an event to reach the socket; a stalled reader then meets 'drain' instead. */
const FLUSH_WAIT_MS = 20;

/**
 * Sends `a` and waits until grpc-js has handed it to the socket (its write
 * callback). At concurrency 1 the engine starts the next attempt only when
 * this loop pulls again (launchOnPull), so the HTTP/2 flush no longer runs
 * beside that attempt's timed window (this change alone, load ~8: c=1
 * ProbeStream ÷ http.get 1.74 → 1.34 fresh, 2.42 → 1.61 keep-alive;
 * bench/c1-window.ts). Bounded; an abort (cancel, deadline guard) ends it.
 */
async function sendFlushed(
  send: NonNullable<Delivery['attempt']>,
  a: AttemptResult,
  signal: AbortSignal,
): Promise<boolean> {
  if (signal.aborted) return send(a);
  let more = true;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, FLUSH_WAIT_MS);
    signal.addEventListener('abort', done, { once: true });
    more = send(a, done);
  });
  return more;
}

/** A call admitted without caps. */
const FREE_TICKET: Ticket = { charge: () => 0, release: () => {} };

/** Pauses for the rate limit; an abort (cancel, deadline guard) ends the wait. */
async function pace(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return;
  await sleep(ms, undefined, { signal }).catch(() => {});
}

/** Resolves on 'drain' or when `signal` aborts (cancel, deadline guard). */
async function drainOrStop(
  call: grpc.ServerWritableStream<pb.ProbeRequest, ProbeStreamMessage>,
  signal: AbortSignal,
): Promise<void> {
  if (signal.aborted) return;
  try {
    await once(call, 'drain', { signal });
  } catch {
    // AbortError, or the stream errored: either way stop waiting.
  }
}

function safeObserver(o: ProbeObserver, log: ErrorLogger): ProbeObserver {
  let reported = false;
  const guard =
    <A extends unknown[]>(fn: (...a: A) => void) =>
    (...a: A): void => {
      try {
        fn(...a);
      } catch (err) {
        // A metrics bug must not turn a probe into an RPC error; say it once.
        if (!reported) log.error({ err }, 'probe observer threw; continuing');
        reported = true;
      }
    };
  return {
    attempt: guard(o.attempt.bind(o)),
    streamOpened: guard(o.streamOpened.bind(o)),
    streamClosed: guard(o.streamClosed.bind(o)),
    eventSent: guard(o.eventSent.bind(o)),
    backpressureStarted: guard(o.backpressureStarted.bind(o)),
    backpressureWait: guard(o.backpressureWait.bind(o)),
    summary: guard(o.summary.bind(o)),
  };
}

export class ProberService {
  readonly limits: ProbeLimits;
  private readonly observer: ProbeObserver;
  private readonly logger: ErrorLogger;
  private readonly margin: (budgetMs: number) => number;
  private readonly maxBuffered: number | undefined;
  private readonly runProbes: RunProbesFn;
  private readonly targetPolicy: { current(): TargetPolicy } | undefined;
  private readonly calls = new Map<CallControl, CallRecord>();
  private shutdownAt: ShutdownPlan | undefined;
  private readonly admission: Admission | undefined;
  private readonly region: string | undefined;
  private modules: ModuleTable;

  constructor(options: ProberServiceOptions = {}) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.logger = options.logger ?? STDERR_LOGGER;
    this.observer = safeObserver(options.observer ?? NOOP_OBSERVER, this.logger);
    const m = options.deadlineMarginMs;
    this.margin = typeof m === 'function' ? m : typeof m === 'number' ? () => m : defaultDeadlineMargin;
    this.maxBuffered = options.maxBuffered;
    this.runProbes = options.runProbes ?? engineRunProbes;
    this.targetPolicy = options.targetPolicy;
    this.admission = options.admission;
    this.region = options.region;
    this.modules = options.modules ?? BLACKBOX_MODULES;
  }

  /** A config reload's modules, for calls that start from now on (running ones keep what they resolved). */
  setModules(modules: ModuleTable): void {
    this.modules = modules;
  }

  /**
   * The server is shutting down with `graceMs` left: every running call (and
   * any that starts now) stops launching a margin before the grace ends and
   * sends its summary, marked `shutdown`, while there is time to deliver it.
   */
  shutdown(graceMs: number): void {
    if (this.shutdownAt !== undefined) return;
    this.shutdownAt = shutdownPlan(graceMs, this.margin);
    for (const [ctl, record] of this.calls) this.windDown(ctl, record);
  }

  private windDown(ctl: CallControl, record: CallRecord): void {
    if (this.shutdownAt === undefined) return;
    ctl.shutDown(this.shutdownAt, () => {
      record.shutdown = true; // for the log line
    });
  }

  addToServer(server: grpc.Server): void {
    // Its deserializer never throws, so a garbled request is INVALID_ARGUMENT here, not grpc-js's INTERNAL.
    server.addService(proberServiceDefinition(), {
      Probe: (
        call: grpc.ServerUnaryCall<pb.ProbeRequest, pb.ProbeReply>,
        callback: grpc.sendUnaryData<pb.ProbeReply>,
      ) => {
        void this.probe(call, callback);
      },
      ProbeStream: (call: grpc.ServerWritableStream<pb.ProbeRequest, ProbeStreamMessage>) => {
        void this.probeStream(call);
      },
    });
  }

  /** Unary Probe. Never rejects: every outcome goes to `callback`. */
  probe(
    call: grpc.ServerUnaryCall<pb.ProbeRequest, pb.ProbeReply>,
    callback: grpc.sendUnaryData<pb.ProbeReply>,
  ): Promise<void> {
    return this.run(call, {
      rpc: 'Probe',
      allowContinuous: false,
      summary: (s) => callback(null, new pb.ProbeReply({ summary: summaryToProto(s) })),
      fail: (err) => callback(err),
    });
  }

  /** Server-streaming ProbeStream. Never rejects. */
  async probeStream(call: grpc.ServerWritableStream<pb.ProbeRequest, ProbeStreamMessage>): Promise<void> {
    this.observer.streamOpened();
    // The first event names the region; the summary does too.
    let region = this.region;
    const first = (): string | undefined => {
      const r = region;
      region = undefined;
      return r;
    };
    // Batches only for a client that takes them, and only where several attempts can arrive at once.
    const batch =
      call.request.batch_attempts && call.request.concurrency > 1 ? new BatchWriter(call, first) : undefined;
    try {
      await this.run(call, {
        rpc: 'ProbeStream',
        allowContinuous: true,
        attempt:
          batch !== undefined
            ? (a) => batch.attempt(a)
            : (a, flushed) => call.write(encodeAttemptEvent(a, first()), flushed),
        queued: batch !== undefined ? () => batch.queued() : () => call.writableLength,
        drain: async (signal) => {
          await drainOrStop(call, signal);
          batch?.drained();
        },
        summary: (s) => {
          batch?.flush();
          call.write(summaryEvent(s, first()));
          this.observer.eventSent();
          // The status follows the summary (grpc-js sends it after the writes).
          if (s.shutdown) call.emit('error', shuttingDownError());
          else call.end();
        },
        fail: (err) => call.emit('error', err),
      });
    } finally {
      batch?.dispose();
      this.observer.streamClosed();
    }
  }

  /**
   * One call's lifecycle, shared by both RPCs: validate, plan the deadline,
   * run the engine, fold the stats, answer. Never rejects.
   */
  private async run(call: ServerCall, out: Delivery): Promise<void> {
    const record = callRecord(call.metadata);
    record.endpoint = call.request.endpoint;
    let spec: ProbeSpec;
    let ticket: Ticket;
    try {
      ({ spec, ticket } = await this.admit(call, record, out.allowContinuous));
    } catch (err) {
      out.fail(toServiceError(err, this.logger, out.rpc));
      return;
    }
    const plan = deadlinePlan(call.getDeadline(), this.margin);
    const ctl = new CallControl(call, plan?.guard);
    this.calls.set(ctl, record);
    this.windDown(ctl, record);
    try {
      const endpoint = spec.url.href;
      const stats = new RunStats({ intervalMs: spec.intervalMs });
      const run = this.start(spec, ctl, plan?.engine);
      let eventsSent = 0;
      let waitMs = 0;
      const t0 = performance.now();
      const writeBound = streamWriteBound(spec.concurrency);
      for await (const a of run) {
        if (ctl.stopped) break;
        stats.add(a);
        this.observer.attempt(endpoint, a);
        if (out.attempt !== undefined) {
          const more = spec.concurrency === 1 ? await sendFlushed(out.attempt, a, ctl.ac.signal) : out.attempt(a);
          eventsSent++;
          record.attempts++;
          this.observer.eventSent();
          if (!more && out.drain !== undefined && (out.queued?.() ?? writeBound) >= writeBound) {
            // Not pulling from `run` while we wait is what pauses the engine.
            const w0 = performance.now();
            this.observer.backpressureStarted();
            await out.drain(ctl.ac.signal);
            const w = performance.now() - w0;
            waitMs += w;
            this.observer.backpressureWait(w);
          }
        }
        // Over the client's rate, not pulling the next result is what slows the engine.
        const paceMs = ticket.charge();
        if (paceMs > 0) await pace(paceMs, ctl.ac.signal); // no promise per attempt when not rate limited
      }
      if (ctl.cancelled) return; // the caller left: nobody to answer
      const summary = stats.summary({
        deadlineReached: run.deadlineReached || ctl.guardFired,
        // A finite run that had every attempt in was not cut.
        shutdown: ctl.shutdown && !(spec.repetitions > 0 && stats.attemptCount >= spec.repetitions),
        elapsedMs: performance.now() - t0,
        backpressureWaitMs: waitMs,
        eventsSent,
        eventLoopDelay: run.eventLoopDelay,
        ...(this.region !== undefined ? { region: this.region } : {}),
      });
      record.attempts = summary.attempts;
      this.observer.summary(out.rpc, summary);
      out.summary(summary);
    } catch (err) {
      if (!ctl.cancelled) out.fail(toServiceError(err, this.logger, out.rpc));
    } finally {
      this.calls.delete(ctl);
      ctl.dispose();
      ticket.release();
    }
  }

  /**
   * Everything before the first attempt, cheapest first: decode, validate,
   * the caps (RESOURCE_EXHAUSTED), then the target policy's DNS look-up.
   */
  private async admit(
    call: ServerCall,
    record: CallRecord,
    stream: boolean,
  ): Promise<{ spec: ProbeSpec; ticket: Ticket }> {
    const undecodable = undecodableReason(call.request);
    if (undecodable !== undefined)
      throw new InvalidArgumentError('', `request is not a valid prober.v1.ProbeRequest: ${undecodable}`);
    const spec = this.validate(call.request, stream);
    const peer = call.getPeer?.() ?? 'unknown';
    const ticket =
      this.admission?.admit({ connection: peer, client: record.caller ?? peerAddress(peer) }, spec.concurrency) ??
      FREE_TICKET;
    try {
      // An IP literal, or a name whose addresses are all denied: PERMISSION_DENIED before any attempt.
      await preflightTarget(connectTarget(spec), spec.timeoutMs);
    } catch (err) {
      ticket.release();
      throw err;
    }
    return { spec, ticket };
  }

  private validate(req: pb.ProbeRequest, stream: boolean): ProbeSpec {
    const limits = { ...this.limits, allowContinuous: stream };
    const input = requestFromProto(req);
    if (req.module === '') return validateProbeInput(input, limits, this.targetPolicy?.current());
    const mod = findModule(this.modules, req.module);
    if (mod === undefined) {
      throw new InvalidArgumentError(
        'module',
        `module ${JSON.stringify(req.module.slice(0, 200))} is not configured on this server (known: ${Object.keys(this.modules).join(', ')})`,
      );
    }
    // A module's own proxy is the operator's choice: allowed without --allow-proxies (a caller's is not).
    const moduleProxy = mod.proxyUrl !== undefined && (input.proxyUrl === undefined || input.proxyUrl === mod.proxyUrl);
    const modLimits = moduleProxy ? { ...limits, allowProxy: true } : limits;
    return withModuleSpec(mod, validateProbeInput(withModule(mod, input), modLimits, this.targetPolicy?.current()));
  }

  private start(spec: ProbeSpec, ctl: CallControl, deadline: number | undefined) {
    const options: { signal: AbortSignal; windDown: AbortSignal; deadline?: number; maxBuffered?: number } = {
      signal: ctl.ac.signal,
      windDown: ctl.windDown.signal,
    };
    if (deadline !== undefined) options.deadline = deadline;
    if (this.maxBuffered !== undefined) options.maxBuffered = this.maxBuffered;
    return this.runProbes(spec, options);
  }
}
