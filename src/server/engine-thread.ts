// The probe engine on a worker thread of its own (engine-worker.ts), behind
// the service's RunProbesFn seam: gRPC, metrics and logging stay on this
// thread and never run inside an attempt's timed window. Specs cross as plain
// data, results come back as plain AttemptResults. Backpressure holds end to
// end: the worker pulls from the engine only while it has credit, and credit
// is granted here as the service consumes, so a stalled reader still pauses
// probing (at most `maxBuffered` results wait on each side).
import { Worker } from 'node:worker_threads';
import { runProbes as inlineRunProbes, type RunOptions } from '../probe/index.js';
import type { AttemptResult, ProbeSpec } from '../probe/types.js';
import type { EventLoopDelayReading } from '../stats/types.js';
import type { EngineWorkerData, FromEngine, ToEngine, WireSpec } from './engine-worker.js';
import type { RunProbesFn } from './service.js';
import type { ErrorLogger } from './status.js';

export interface EngineThread {
  readonly runProbes: RunProbesFn;
  /** Time the first worker spent warming the engine up, if it did. */
  readonly warmUpMs: number | undefined;
  /** Stops the calls still running and the thread. */
  close(): Promise<void>;
  /** Kills the thread as a crash would (tests): its calls fail, the next call starts a new one. */
  terminate(): Promise<void>;
}

export interface EngineThreadOptions {
  /** Warm-up attempts per kind against a loopback server before the first call; 0: none. */
  readonly warmUpAttempts: number;
  readonly logger: ErrorLogger;
}

/** Extra time the thread gets to exit on its own before it is terminated. */
const EXIT_BACKSTOP_MS = 2_000;

function spawn(warmUpAttempts: number): Worker {
  // Beside this file: in dist/, or in src/ under tsx (tests), whose loader a
  // worker must register itself (as thread.ts does).
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./engine-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
  const workerData: EngineWorkerData = { warmUpAttempts };
  return fromSource
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true, workerData },
      )
    : new Worker(entry, { workerData });
}

function toWire(spec: ProbeSpec): WireSpec {
  const { url, lookup: _lookup, ...rest } = spec;
  return { ...rest, href: url.href };
}

type Waiter = { resolve: (r: IteratorResult<AttemptResult>) => void; reject: (err: Error) => void };

/** The main thread's end of one run: a buffer the worker fills within its credit. */
class RemoteRun implements AsyncIterableIterator<AttemptResult> {
  deadlineReached = false;
  eventLoopDelay: EventLoopDelayReading | undefined;
  private readonly buffer: AttemptResult[] = [];
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private failure: Error | undefined;
  /** The consumer holds a result it has not yet come back from. */
  private holding = false;
  private confirm: () => void = () => {};
  /** The worker's run is over (its 'end' arrived, or the worker is gone). */
  private readonly stopped = new Promise<void>((resolve) => {
    this.confirm = resolve;
  });
  private readonly onAbort = (): void => this.stop();
  private readonly onWindDown = (): void => {
    if (!this.ended) this.engine.post({ type: 'wind-down', id: this.id });
  };

  constructor(
    private readonly engine: Engine,
    readonly id: number,
    private readonly signal: AbortSignal | undefined,
    private readonly windDown: AbortSignal | undefined,
    /** The run's credit window (start message). */
    private readonly window: number,
  ) {
    signal?.addEventListener('abort', this.onAbort, { once: true });
    windDown?.addEventListener('abort', this.onWindDown, { once: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<AttemptResult> {
    return this;
  }

  next(): Promise<IteratorResult<AttemptResult>> {
    if (this.holding) {
      // Done with the previous result: the worker may send one more.
      this.holding = false;
      if (!this.ended) this.engine.grant(this.id, this.window > 1);
    }
    const r = this.buffer.shift();
    if (r !== undefined) {
      this.holding = true;
      return Promise.resolve({ value: r, done: false });
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Resolves once the worker has stopped the run: nothing of it starts after. */
  async return(): Promise<IteratorResult<AttemptResult>> {
    this.stop();
    await this.stopped;
    return { value: undefined, done: true };
  }

  result(r: AttemptResult): void {
    if (this.ended) return;
    const w = this.waiters.shift();
    if (w === undefined) {
      this.buffer.push(r);
      return;
    }
    this.holding = true;
    w.resolve({ value: r, done: false });
  }

  /** The worker's run ended (or the worker died: `failure`). */
  end(deadlineReached: boolean, failure?: Error, eventLoopDelay?: EventLoopDelayReading): void {
    // Kept even after a stop: the summary of a cut-short call still reports it.
    this.eventLoopDelay = eventLoopDelay;
    this.engine.forget(this.id);
    this.confirm();
    if (this.ended) return;
    this.deadlineReached = deadlineReached;
    this.finish(failure);
  }

  /** Abort or return(): ends iteration at once, as the inline engine does. */
  private stop(): void {
    if (this.ended) return;
    this.engine.post({ type: 'stop', id: this.id });
    this.buffer.length = 0;
    this.finish();
  }

  private finish(failure?: Error): void {
    this.ended = true;
    this.failure = failure;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.windDown?.removeEventListener('abort', this.onWindDown);
    for (const w of this.waiters.splice(0)) {
      if (failure) w.reject(failure);
      else w.resolve({ value: undefined, done: true });
    }
  }
}

/** One worker and the runs on it; a worker that dies fails its runs and is replaced on the next call. */
class Engine {
  private worker: Worker | undefined;
  private readonly runs = new Map<number, RemoteRun>();
  private nextId = 0;
  private closed = false;
  /** Credit granted this turn, sent in one message at its end (setImmediate). */
  private credits = new Map<number, number>();
  private crediting: NodeJS.Immediate | undefined;
  private readonly flushCredits = (): void => {
    this.crediting = undefined;
    const c = this.credits;
    if (c.size === 0) return;
    this.credits = new Map();
    this.post({ type: 'credits', grants: [...c] });
  };

  constructor(private readonly logger: ErrorLogger) {}

  /** Starts a worker; resolves once it is warm and listening. */
  launch(warmUpAttempts: number): Promise<number | undefined> {
    const worker = spawn(warmUpAttempts);
    this.worker = worker;
    const ready = new Promise<number | undefined>((resolve, reject) => {
      const onMessage = (m: FromEngine): void => {
        if (m.type === 'ready') resolve(m.warmUpMs);
        else this.dispatch(m);
      };
      worker.on('message', onMessage);
      worker.once('error', (err) => {
        reject(err);
        this.logger.error({ err }, 'probe engine thread failed');
      });
      worker.once('exit', (code) => {
        reject(new Error(`probe engine thread exited (code ${code}) before it was ready`));
        this.died(worker, code);
      });
    });
    ready.catch(() => {}); // a failure after start is reported by died()
    return ready;
  }

  runProbes: RunProbesFn = (spec, options) => {
    if (spec.lookup !== undefined || this.closed) {
      // A lookup hook cannot cross threads; such specs run here.
      return inlineRunProbes(spec, options);
    }
    if (this.worker === undefined) void this.launch(0);
    const id = ++this.nextId;
    const run = new RemoteRun(this, id, options.signal, options.windDown, creditWindow(spec, options));
    if (options.signal?.aborted) {
      run.end(false);
      return run;
    }
    this.runs.set(id, run);
    for (const m of startMessages(id, spec, options)) this.post(m);
    return run;
  };

  post(msg: ToEngine): void {
    this.worker?.postMessage(msg);
  }

  /**
   * One more result may come for run `id`: sent with the rest of this turn's
   * credit, or at once for a window of 1 (nothing to batch with; a later
   * credit reaches the worker later inside its next attempt).
   */
  grant(id: number, batch: boolean): void {
    this.credits.set(id, (this.credits.get(id) ?? 0) + 1);
    if (!batch) {
      if (this.crediting !== undefined) clearImmediate(this.crediting);
      this.flushCredits();
    } else this.crediting ??= setImmediate(this.flushCredits);
  }

  forget(id: number): void {
    this.runs.delete(id);
    this.credits.delete(id);
  }

  private dispatch(m: Exclude<FromEngine, { type: 'ready' }>): void {
    if (m.type === 'batch') {
      for (const x of m.msgs) this.dispatch(x);
      return;
    }
    const run = this.runs.get(m.id);
    if (run === undefined) return;
    if (m.type === 'result') run.result(m.result);
    else run.end(m.deadlineReached, m.error === undefined ? undefined : new Error(m.error), m.eventLoopDelay);
  }

  private died(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    if (!this.closed) this.logger.error({ code, calls: this.runs.size }, 'probe engine thread exited; its calls fail');
    const err = new Error(`probe engine thread exited (code ${code})`);
    for (const run of [...this.runs.values()]) run.end(false, err);
  }

  async terminate(): Promise<void> {
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    await worker.terminate();
    await exited;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ type: 'close' } satisfies ToEngine);
    const backstop = setTimeout(() => void worker.terminate(), EXIT_BACKSTOP_MS);
    try {
      await exited;
    } finally {
      clearTimeout(backstop);
    }
  }
}

/**
 * Credit as deep as the engine's own buffer: the worker never waits on this
 * thread while the consumer keeps up, and never runs more than one window ahead.
 */
function creditWindow(spec: ProbeSpec, options: RunOptions): number {
  return Math.max(1, Math.floor(options.maxBuffered ?? spec.concurrency));
}

function start(id: number, spec: ProbeSpec, options: RunOptions): ToEngine {
  const window = creditWindow(spec, options);
  return {
    type: 'start',
    id,
    spec: toWire(spec),
    credit: window,
    ...(options.deadline !== undefined ? { budgetMs: options.deadline - performance.now() } : {}),
    ...(options.maxBuffered !== undefined ? { maxBuffered: options.maxBuffered } : {}),
  };
}

/** A run started after the wind-down began launches nothing. */
function startMessages(id: number, spec: ProbeSpec, options: RunOptions): ToEngine[] {
  const msgs = [start(id, spec, options)];
  if (options.windDown?.aborted) msgs.push({ type: 'wind-down', id });
  return msgs;
}

/** Starts the engine's worker; resolves once it is ready for calls. */
export async function startEngineThread(options: EngineThreadOptions): Promise<EngineThread> {
  const engine = new Engine(options.logger);
  const warmUpMs = await engine.launch(options.warmUpAttempts);
  return { runProbes: engine.runProbes, warmUpMs, close: () => engine.close(), terminate: () => engine.terminate() };
}
