// Worker-thread entry of the probe engine (see engine-thread.ts). The engine
// and its timestamps get an event loop of their own: gRPC, metrics and logging
// on the main thread never run inside an attempt's timed window.
import { parentPort, workerData } from 'node:worker_threads';
import { LAUNCH_ON_PULL_BELOW_MS, runProbes, warmUp, type RunOptions } from '../probe/index.js';
import type { AttemptResult, ProbeSpec } from '../probe/types.js';
import type { EventLoopDelayReading } from '../stats/types.js';

/** A ProbeSpec as plain data: the URL as its href, no lookup hook. */
export type WireSpec = Omit<ProbeSpec, 'url' | 'lookup'> & { readonly href: string };

export type ToEngine =
  | {
      readonly type: 'start';
      readonly id: number;
      readonly spec: WireSpec;
      /** ms left until the engine's deadline (performance.now() origins differ per thread). */
      readonly budgetMs?: number;
      readonly maxBuffered?: number;
      /** Results the worker may send before it waits for more credit. */
      readonly credit: number;
    }
  /** Credit for one or more calls: [id, n] pairs (engine-thread.ts coalesces a turn's grants). */
  | { readonly type: 'credits'; readonly grants: ReadonlyArray<readonly [number, number]> }
  | { readonly type: 'stop'; readonly id: number }
  /** No new launches; attempts in flight finish (RunOptions.windDown). */
  | { readonly type: 'wind-down'; readonly id: number }
  | { readonly type: 'close' };

export type FromEngine =
  | { readonly type: 'ready'; readonly warmUpMs?: number }
  /** Results and ends of one turn of this thread, in order (one postMessage instead of one each). */
  | { readonly type: 'batch'; readonly msgs: ReadonlyArray<Exclude<FromEngine, { type: 'ready' | 'batch' }>> }
  | { readonly type: 'result'; readonly id: number; readonly result: AttemptResult }
  | {
      readonly type: 'end';
      readonly id: number;
      readonly deadlineReached: boolean;
      /** The worker loop's delay during the run: where the engine's timestamps were taken. */
      readonly eventLoopDelay?: EventLoopDelayReading | undefined;
      readonly error?: string;
    };

export interface EngineWorkerData {
  /** Per kind; 0: none. */
  readonly warmUpAttempts: number;
}

if (parentPort === null) throw new Error('engine-worker runs only as a worker thread');
const port = parentPort;

/**
 * Results go out in one message per turn of this thread: a postMessage each
 * was ~1/8 of the thread's CPU at c=32. The flush is a setImmediate, so with
 * one attempt in flight (nothing else to batch with) a message goes at once
 * instead: the next launch is also a setImmediate and would time the flush.
 */
let outbox: Exclude<FromEngine, { type: 'ready' | 'batch' }>[] = [];
let flushing: NodeJS.Immediate | undefined;
/** Sum of the running calls' concurrency: > 1, and batching costs no attempt a timed wait. */
let slots = 0;

function flush(): void {
  flushing = undefined;
  const msgs = outbox;
  outbox = [];
  if (msgs.length === 1) port.postMessage(msgs[0]);
  else if (msgs.length > 1) port.postMessage({ type: 'batch', msgs } satisfies FromEngine);
}

function post(m: Exclude<FromEngine, { type: 'ready' | 'batch' }>): void {
  outbox.push(m);
  if (slots > 1) flushing ??= setImmediate(flush);
  else {
    if (flushing !== undefined) clearImmediate(flushing);
    flush();
  }
}

/** One call on this thread: pulls from runProbes only while it has credit. */
class Call {
  readonly ac = new AbortController();
  readonly windDown = new AbortController();
  private credit: number;
  private wake: (() => void) | undefined;

  constructor(
    readonly id: number,
    credit: number,
  ) {
    this.credit = credit;
  }

  grant(n: number): void {
    this.credit += n;
    this.resume();
  }

  stop(): void {
    this.ac.abort();
    this.resume();
  }

  private resume(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private waitForCredit(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  async run(spec: ProbeSpec, options: RunOptions): Promise<void> {
    const run = runProbes(spec, options);
    const it = run[Symbol.asyncIterator]();
    let error: string | undefined;
    try {
      for (;;) {
        while (this.credit <= 0 && !this.ac.signal.aborted) await this.waitForCredit();
        if (this.ac.signal.aborted) break;
        const r = await it.next();
        if (r.done === true) break;
        this.credit--;
        // Sent in the engine's own turn for this result: the next launch is
        // deferred past it (schedule.ts), so the send is not timed either.
        post({ type: 'result', id: this.id, result: r.value });
      }
    } catch (err) {
      error = err instanceof Error ? (err.stack ?? err.message) : String(err);
    } finally {
      await it.return?.();
    }
    post({
      type: 'end',
      id: this.id,
      deadlineReached: run.deadlineReached,
      eventLoopDelay: run.eventLoopDelay,
      ...(error ? { error } : {}),
    });
  }
}

const calls = new Map<number, Call>();

function start(msg: Extract<ToEngine, { type: 'start' }>): void {
  const { href, ...rest } = msg.spec;
  const spec: ProbeSpec = { ...rest, url: new URL(href) };
  const call = new Call(msg.id, msg.credit);
  calls.set(msg.id, call);
  slots += spec.concurrency;
  const options: RunOptions = {
    signal: call.ac.signal,
    windDown: call.windDown.signal,
    // c=1: the Call pulls once the main thread has handled the last result
    // (credit), so the next short attempt never runs beside that work.
    ...(spec.concurrency === 1 ? { launchOnPullBelowMs: LAUNCH_ON_PULL_BELOW_MS } : {}),
    ...(msg.budgetMs !== undefined ? { deadline: performance.now() + msg.budgetMs } : {}),
    ...(msg.maxBuffered !== undefined ? { maxBuffered: msg.maxBuffered } : {}),
  };
  void call.run(spec, options).finally(() => {
    calls.delete(msg.id);
    slots -= spec.concurrency;
  });
}

function onMessage(msg: ToEngine): void {
  switch (msg.type) {
    case 'start':
      start(msg);
      break;
    case 'credits':
      for (const [id, n] of msg.grants) calls.get(id)?.grant(n);
      break;
    case 'stop':
      calls.get(msg.id)?.stop();
      break;
    case 'wind-down':
      calls.get(msg.id)?.windDown.abort();
      break;
    case 'close':
      for (const c of calls.values()) c.stop();
      port.close();
      break;
  }
}

const { warmUpAttempts } = workerData as EngineWorkerData;
// Warm up before taking calls: messages posted meanwhile wait in the port.
const report = warmUpAttempts > 0 ? await warmUp(warmUpAttempts) : undefined;
port.on('message', onMessage);
port.postMessage({ type: 'ready', ...(report ? { warmUpMs: report.ms } : {}) } satisfies FromEngine);
