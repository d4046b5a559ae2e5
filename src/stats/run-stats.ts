// RunStats folds a stream of observations into a Summary. One implementation
// behind the unary reply, the CLI and the TUI.
import { LatencyDigest } from './digest.js';
import { PHASE_FIELD, PHASES, type Phase, type PhaseField } from './phases.js';
import type {
  EventLoopDelay,
  EventLoopDelayReading,
  Histogram,
  HistogramBucket,
  IntendedLatency,
  Observation,
  PhaseMedians,
  ReasonCount,
  RunFacts,
  StatusCount,
  Summary,
} from './types.js';

/**
 * Display bounds (ms) of `Summary.histogram`: a pure 1-2-5 series from 0.1 ms
 * to 100 s. It ends at 100 s rather than 60 s so the series stays regular and
 * still covers any attempt up to the longest plausible timeout; slower
 * responses land in `histogramOverflow`. Literals, not products, so bounds are
 * exact decimals (0.2, not 0.20000000000000004).
 */
export const DISPLAY_BOUNDS_MS: readonly number[] = Object.freeze([
  0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
]);

/**
 * The reason the engine gives an attempt that the call's deadline or a cancel
 * cut short (src/probe/errors.ts): our doing, not the target's failure.
 */
export const ABORTED_REASON = 'ABORTED';

/**
 * Most stand-ins recorded for one late start (a stall of this many intervals),
 * so a long stall at a short interval costs bounded time.
 */
export const MAX_STANDINS = 10_000;

/**
 * Event-loop delay p99 above which readings are called inflated: at least
 * OVERLOAD_MIN_MS (timer granularity and GC stay below it), and at least
 * OVERLOAD_FRACTION of the median latency (a 12 ms stall does not distort a
 * 2 s reading).
 */
export const OVERLOAD_MIN_MS = 10;
export const OVERLOAD_FRACTION = 0.1;

/** The overload verdict for an event-loop reading against the run's median latency. */
export function eventLoopVerdict(r: EventLoopDelayReading, p50Ms: number | undefined): EventLoopDelay {
  const threshold = Math.max(OVERLOAD_MIN_MS, OVERLOAD_FRACTION * (p50Ms ?? 0));
  return { p99Ms: r.p99Ms, maxMs: r.maxMs, overloaded: r.p99Ms > threshold };
}

/** The one wording of the overload warning (CLI and TUI); undefined when not overloaded. */
export function overloadWarning(s: Pick<Summary, 'eventLoopDelay'>): string | undefined {
  const d = s.eventLoopDelay;
  if (d === undefined || !d.overloaded) return undefined;
  return `prober overloaded: readings may be inflated by up to ${Math.ceil(d.maxMs)} ms`;
}

export interface RunStatsOptions {
  /**
   * The run's interval (interval mode, > 0): enables the latency from the
   * intended start. 0 or absent: back to back, where no start is "intended".
   */
  readonly intervalMs?: number;
}

/** Drops leading and trailing empty buckets (keeps empty ones in between). */
export function trimHistogram(buckets: readonly HistogramBucket[]): HistogramBucket[] {
  let first = 0;
  let last = buckets.length - 1;
  while (first <= last && buckets[first]!.count === 0) first++;
  while (last >= first && buckets[last]!.count === 0) last--;
  return buckets.slice(first, last + 1);
}

/** The order of `Summary.errors`: descending by count, then by reason name. */
export function compareReasonCounts(a: ReasonCount, b: ReasonCount): number {
  return b.count - a.count || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0);
}

export class RunStats {
  private attempts = 0;
  private successes = 0;
  private failures = 0;
  private aborted = 0;
  private slips = 0;
  private readonly latency = new LatencyDigest();
  private readonly intervalMs: number;
  // Interval mode: latency from the intended start (wrk2's correction).
  private readonly intended: LatencyDigest | undefined;
  // Responses that still failed (unexpected status, body too large...), so a
  // view can re-bin them with the same bounds and mark them in each bucket.
  private readonly failedLatency = new LatencyDigest();
  private readonly statuses = new Map<number, number>();
  private readonly reasons = new Map<string, number>();
  private readonly phases = Object.fromEntries(PHASES.map((p) => [p, new LatencyDigest()])) as Record<
    Phase,
    LatencyDigest
  >;

  constructor(options: RunStatsOptions = {}) {
    const iv = options.intervalMs ?? 0;
    this.intervalMs = Number.isFinite(iv) && iv > 0 ? iv : 0;
    this.intended = this.intervalMs > 0 ? new LatencyDigest() : undefined;
  }

  /** O(1) amortised (a late start in interval mode adds its stand-ins). */
  add(obs: Observation): void {
    this.attempts++;
    if (obs.error === undefined) this.successes++;
    else {
      if (obs.error.reason === ABORTED_REASON) this.aborted++;
      else this.failures++;
      const r = obs.error.reason;
      this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    }
    if (obs.status !== undefined) {
      // Latency statistics cover attempts that got a response, whatever status.
      this.latency.add(obs.latencyMs);
      if (this.intended !== undefined) this.addIntended(obs.latencyMs, obs.scheduleDelayMs ?? 0);
      if (obs.error !== undefined) this.failedLatency.add(obs.latencyMs);
      this.statuses.set(obs.status, (this.statuses.get(obs.status) ?? 0) + 1);
    }
    if (obs.scheduleDelayMs !== undefined) this.slips++;
    const ph = obs.phases;
    if (ph !== undefined) {
      for (const p of PHASES) {
        const v = ph[PHASE_FIELD[p]];
        if (v !== undefined) this.phases[p].add(v);
      }
    }
  }

  /**
   * wrk2's correction without its catch-up burst. The attempt counts from its
   * intended start (latency + delay). The engine never bursts: the slots that
   * fell due while it was late (floor(delay / interval)) were skipped, and the
   * schedule re-based from the late start. Each skipped slot is recorded as if
   * its request had gone out with this one (latency + delay - k * interval),
   * as HdrHistogram's recordValueWithExpectedInterval does, so a stall
   * weighs what it would have weighed on a prober that kept pace.
   */
  private addIntended(latencyMs: number, delayMs: number): void {
    const d = this.intended!;
    d.add(latencyMs + delayMs);
    const skipped = Math.min(MAX_STANDINS, Math.floor(delayMs / this.intervalMs));
    for (let k = 1; k <= skipped; k++) d.add(latencyMs + delayMs - k * this.intervalMs);
  }

  private intendedLatency(): IntendedLatency | undefined {
    const d = this.intended;
    if (d === undefined || d.count === 0) return undefined;
    return {
      samples: d.count,
      averageMs: d.mean!,
      p50Ms: d.percentile(50)!,
      p90Ms: d.percentile(90)!,
      p95Ms: d.percentile(95)!,
      p99Ms: d.percentile(99)!,
      maxMs: d.max!,
    };
  }

  get attemptCount(): number {
    return this.attempts;
  }

  /** Median of each phase over the attempts where it happened. */
  phaseMedians(): PhaseMedians {
    const out: { -readonly [F in PhaseField]?: number } = {};
    for (const p of PHASES) {
      const m = this.phases[p].percentile(50);
      if (m !== undefined) out[PHASE_FIELD[p]] = m;
    }
    return out;
  }

  /** Response latencies re-binned into any ascending bounds (all buckets, untrimmed). */
  histogram(boundsMs: readonly number[]): Histogram {
    return this.latency.histogram(boundsMs);
  }

  /** Failed responses (a response, but an error) re-binned like `histogram`. */
  failedHistogram(boundsMs: readonly number[]): Histogram {
    return this.failedLatency.histogram(boundsMs);
  }

  /** Nearest-rank percentile of response latency, p in (0, 100]. */
  latencyPercentile(p: number): number | undefined {
    return this.latency.percentile(p);
  }

  summary(run: RunFacts = {}): Summary {
    const d = this.latency;
    const hist = d.histogram(DISPLAY_BOUNDS_MS);
    const statuses: StatusCount[] = [...this.statuses]
      .map(([status, count]) => ({ status, count }))
      .sort((a, b) => a.status - b.status);
    const errors: ReasonCount[] = [...this.reasons]
      .map(([reason, count]) => ({ reason, count }))
      .sort(compareReasonCounts);
    const p50Ms = d.percentile(50);
    const intendedLatency = this.intendedLatency();
    const loop = run.eventLoopDelay;
    return {
      attempts: this.attempts,
      successes: this.successes,
      failures: this.failures,
      aborted: this.aborted,
      responses: d.count,
      averageMs: d.mean,
      minMs: d.min,
      maxMs: d.max,
      p50Ms,
      p90Ms: d.percentile(90),
      p95Ms: d.percentile(95),
      p99Ms: d.percentile(99),
      stddevMs: d.stddev,
      histogram: trimHistogram(hist.buckets),
      histogramOverflow: hist.overflow,
      statuses,
      errors,
      scheduleSlips: this.slips,
      deadlineReached: run.deadlineReached ?? false,
      shutdown: run.shutdown ?? false,
      backpressureWaitMs: run.backpressureWaitMs ?? 0,
      elapsedMs: run.elapsedMs ?? 0,
      eventsSent: run.eventsSent ?? 0,
      phases: this.phaseMedians(),
      ...(intendedLatency === undefined ? {} : { intendedLatency }),
      ...(loop === undefined ? {} : { eventLoopDelay: eventLoopVerdict(loop, p50Ms) }),
      ...(d.count === 0 ? {} : { latencySketch: d.sketch() }),
      ...(run.region === undefined ? {} : { region: run.region }),
    };
  }

  /**
   * Folds another run in, exactly: counts, statuses, reasons and every
   * latency digest (phases and intended latency too). Percentiles stay exact
   * while both sides kept their samples and the total fits EXACT_LIMIT, else
   * they come from the merged fine buckets (within 0.5%).
   */
  merge(other: RunStats): this {
    this.attempts += other.attempts;
    this.successes += other.successes;
    this.failures += other.failures;
    this.aborted += other.aborted;
    this.slips += other.slips;
    this.latency.merge(other.latency);
    if (this.intended !== undefined && other.intended !== undefined) this.intended.merge(other.intended);
    this.failedLatency.merge(other.failedLatency);
    addCounts(this.statuses, other.statuses);
    addCounts(this.reasons, other.reasons);
    for (const p of PHASES) this.phases[p].merge(other.phases[p]);
    return this;
  }

  /**
   * Folds in a Summary from elsewhere (another region's server): counts,
   * statuses, reasons, and the latency sketch. A summary without a sketch
   * (an older server) adds its counts but no latencies. Phase medians and
   * the intended latency cannot be merged from medians and are not.
   */
  mergeSummary(s: Summary): this {
    this.attempts += s.attempts;
    this.successes += s.successes;
    this.failures += s.failures;
    this.aborted += s.aborted;
    this.slips += s.scheduleSlips;
    if (s.latencySketch !== undefined) this.latency.mergeSketch(s.latencySketch);
    addCounts(
      this.statuses,
      s.statuses.map((c) => [c.status, c.count] as const),
    );
    addCounts(
      this.reasons,
      s.errors.map((c) => [c.reason, c.count] as const),
    );
    return this;
  }

  reset(): void {
    this.attempts = 0;
    this.successes = 0;
    this.failures = 0;
    this.aborted = 0;
    this.slips = 0;
    this.latency.reset();
    this.intended?.reset();
    this.failedLatency.reset();
    this.statuses.clear();
    this.reasons.clear();
    for (const p of PHASES) this.phases[p].reset();
  }
}

function addCounts<K>(into: Map<K, number>, from: Iterable<readonly [K, number]>): void {
  for (const [k, c] of from) into.set(k, (into.get(k) ?? 0) + c);
}

/**
 * Several regions' summaries as one: counts, statuses and errors summed,
 * latency percentiles from the merged sketches (within 0.5% of the union's
 * nearest rank), moments exact. Run facts: deadlineReached and shutdown if
 * any, elapsed the longest, backpressure and events summed. No phase
 * medians and no intended latency (medians do not merge); no region.
 */
export function mergeSummaries(summaries: readonly Summary[]): Summary {
  const stats = new RunStats();
  for (const s of summaries) stats.mergeSummary(s);
  const merged = stats.summary({
    deadlineReached: summaries.some((s) => s.deadlineReached),
    shutdown: summaries.some((s) => s.shutdown),
    elapsedMs: Math.max(0, ...summaries.map((s) => s.elapsedMs)),
    backpressureWaitMs: summaries.reduce((a, s) => a + s.backpressureWaitMs, 0),
    eventsSent: summaries.reduce((a, s) => a + s.eventsSent, 0),
  });
  // Responses from summaries without a sketch still count.
  const responses = summaries.reduce((a, s) => a + s.responses, 0);
  return { ...merged, responses };
}
