// Scheduled targets (`targets:` in --config): each target is one continuous
// run on the engine (the engine thread in a server), at its interval, one
// attempt at a time. The engine's interval mode does the pacing, so starts
// and timings are taken on the engine's thread: a slow attempt delays the
// next (never an overlap, never a burst to catch up) and the delay comes back
// as the attempt's scheduleDelayMs, counted here as a slip. First starts are
// spread over the interval by a hash of the name, so neither a start nor a
// reload fires every target at once. Results go to a TargetObserver
// (target-metrics.ts on prom-client): nothing here knows metrics.
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { redactUrl } from '../common/redact.js';
import { timerDelay } from '../common/timers.js';
import { validateProbeInput } from '../probe/index.js';
import type { TargetPolicy } from '../probe/policy.js';
import type { AttemptResult, ProbeLimits, ProbeSpec } from '../probe/types.js';
import { targetLimits, type TargetDefinition } from './config-targets.js';
import type { ErrorLogger } from './error-logger.js';
import type { RunProbesFn } from './service.js';

/** What the scheduler reports; target-metrics.ts implements it. */
export interface TargetObserver {
  /** The configured set, at start and after each reload that changed it. */
  configured(targets: readonly TargetDefinition[]): void;
  /** Every finished attempt of a target; `spec` is what it ran with. */
  attempt(target: TargetDefinition, spec: ProbeSpec, attempt: AttemptResult): void;
  /** An attempt started `delayMs` after it was due (beyond the engine's slip tolerance). */
  slip(target: TargetDefinition, delayMs: number): void;
  /** The target stopped for good (removed, or changed and restarted): its series go. */
  removed(target: TargetDefinition): void;
}

export const NOOP_TARGET_OBSERVER: TargetObserver = {
  configured() {},
  attempt() {},
  slip() {},
  removed() {},
};

/** Logs the scheduler's few events; pino's logger fits. */
export interface TargetLogger extends ErrorLogger {
  warn(obj: object, msg?: string): void;
}

export interface TargetSchedulerOptions {
  readonly runProbes: RunProbesFn;
  /** The server's limits (targets also get continuous runs and long intervals). */
  readonly limits: ProbeLimits;
  /** Read at each run's start, as for a call. */
  readonly targetPolicy?: { current(): TargetPolicy } | undefined;
  readonly observer?: TargetObserver;
  readonly logger: TargetLogger;
  /** Wall clock for the start phase (tests); default Date.now. */
  readonly now?: () => number;
}

export interface TargetChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly kept: readonly string[];
}

/** Where in each interval a target starts: a hash of its name, so the same on every start and reload. */
export function targetPhaseMs(name: string, intervalMs: number): number {
  const h = createHash('sha256').update(name).digest().readUInt32BE(0);
  return h % Math.max(1, Math.floor(intervalMs));
}

/** Time from `nowMs` (wall clock) to the target's next phase. */
export function firstStartDelayMs(name: string, intervalMs: number, nowMs: number): number {
  const interval = Math.max(1, Math.floor(intervalMs));
  return (targetPhaseMs(name, interval) - (Math.floor(nowMs) % interval) + interval) % interval;
}

/** One target's run, from its first start to stop(). */
class TargetRunner {
  private readonly ac = new AbortController();
  private readonly done: Promise<void>;
  private policyWarned = false;

  constructor(
    readonly def: TargetDefinition,
    private readonly o: Required<Omit<TargetSchedulerOptions, 'targetPolicy'>> &
      Pick<TargetSchedulerOptions, 'targetPolicy'>,
  ) {
    const delay = firstStartDelayMs(def.name, def.intervalMs, o.now());
    this.done = sleep(timerDelay(delay), undefined, { signal: this.ac.signal }).then(
      () => this.loop(),
      () => {}, // stopped before the first start
    );
  }

  /** Runs until stopped; a run that fails (engine thread died) restarts one interval later. */
  private async loop(): Promise<void> {
    const signal = this.ac.signal;
    while (!signal.aborted) {
      let spec: ProbeSpec;
      try {
        spec = validateProbeInput(this.def.input, targetLimits(this.o.limits), this.o.targetPolicy?.current());
      } catch (err) {
        // Checked at load; only a limit changed under it could get here.
        this.o.logger.error({ err, target: this.def.name }, 'scheduled target no longer valid; not probed');
        return;
      }
      await this.run(spec);
      if (signal.aborted) return;
      await sleep(timerDelay(this.def.intervalMs), undefined, { signal }).catch(() => {});
    }
  }

  private async run(spec: ProbeSpec): Promise<void> {
    const it = this.o.runProbes(spec, { signal: this.ac.signal, maxBuffered: 1 })[Symbol.asyncIterator]();
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        this.deliver(spec, r.value);
      }
    } catch (err) {
      if (!this.ac.signal.aborted)
        this.o.logger.error({ err, target: this.def.name }, 'scheduled target run failed; restarting in one interval');
    } finally {
      // Resolves once the engine stopped the run: nothing of it reports after stop().
      await it.return?.();
    }
  }

  private deliver(spec: ProbeSpec, a: AttemptResult): void {
    if (this.ac.signal.aborted) return;
    if (a.scheduleDelayMs !== undefined) this.o.observer.slip(this.def, a.scheduleDelayMs);
    this.o.observer.attempt(this.def, spec, a);
    if (a.error?.reason === 'POLICY_DENIED' && !this.policyWarned) {
      this.policyWarned = true;
      this.o.logger.warn(
        { target: this.def.name, url: redactUrl(this.def.url), error: a.error.message },
        'scheduled target denied by the target policy; it fails until the policy or the config changes',
      );
    }
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await this.done;
  }
}

/** The running targets; apply() swaps in a new set (start, reload). */
export class TargetScheduler {
  private readonly runners = new Map<string, TargetRunner>();
  private readonly o: ConstructorParameters<typeof TargetRunner>[1];
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: TargetSchedulerOptions) {
    this.o = {
      runProbes: options.runProbes,
      limits: options.limits,
      targetPolicy: options.targetPolicy,
      observer: options.observer ?? NOOP_TARGET_OBSERVER,
      logger: options.logger,
      now: options.now ?? Date.now,
    };
  }

  /** Names of the targets running now. */
  names(): string[] {
    return [...this.runners.keys()];
  }

  /**
   * Makes `targets` the running set: new ones start, removed ones stop (their
   * series go), changed ones restart; unchanged ones run on undisturbed.
   * Applies one at a time, in call order.
   */
  apply(targets: readonly TargetDefinition[]): Promise<TargetChanges> {
    const next = this.queue.then(() => this.swap(targets));
    this.queue = next.catch(() => {});
    return next;
  }

  private async swap(targets: readonly TargetDefinition[]): Promise<TargetChanges> {
    const wanted = new Map(targets.map((t) => [t.name, t]));
    const changes = { added: [] as string[], removed: [] as string[], changed: [] as string[], kept: [] as string[] };
    const stopping: Promise<void>[] = [];
    for (const [name, runner] of this.runners) {
      const want = wanted.get(name);
      if (want !== undefined && want.fingerprint === runner.def.fingerprint) continue;
      (want === undefined ? changes.removed : changes.changed).push(name);
      this.runners.delete(name);
      stopping.push(runner.stop().then(() => this.o.observer.removed(runner.def)));
    }
    await Promise.all(stopping);
    if (this.closed) return changes;
    this.o.observer.configured(targets);
    for (const t of targets) {
      if (this.runners.has(t.name)) {
        changes.kept.push(t.name);
        continue;
      }
      if (!changes.changed.includes(t.name)) changes.added.push(t.name);
      this.runners.set(t.name, new TargetRunner(t, this.o));
    }
    return changes;
  }

  /** Stops every target (shutdown); their series stay until the process exits. */
  async close(): Promise<void> {
    this.closed = true;
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map((r) => r.stop()));
    await this.queue;
  }
}
