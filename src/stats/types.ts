// Statistics types. This folder imports nothing internal: an Observation is
// structurally what the probe engine's AttemptResult already is.
import type { PhaseTimes } from './phases.js';

/** The part of an attempt that statistics need. */
export interface Observation {
  readonly latencyMs: number;
  /** HTTP status; undefined when no response arrived. */
  readonly status?: number;
  /** Present when the attempt failed; reason is a bounded name like "TIMEOUT". */
  readonly error?: { readonly reason: string };
  readonly phases?: PhaseTimes;
  /**
   * Interval mode: how long after its intended start the attempt started, set
   * only when that exceeded the slip tolerance (a schedule slip).
   */
  readonly scheduleDelayMs?: number;
}

export interface HistogramBucket {
  /** Inclusive upper bound, ms. */
  readonly upperBoundMs: number;
  readonly count: number;
}

export interface StatusCount {
  readonly status: number;
  readonly count: number;
}

export interface ReasonCount {
  readonly reason: string;
  readonly count: number;
}

/** Median per phase over the attempts where the phase happened. */
export type PhaseMedians = PhaseTimes;

/**
 * Statistics over one run. Latency fields are over attempts that got an HTTP
 * response (`responses`), whatever the status; undefined when responses = 0.
 */
export interface Summary {
  /** successes + failures + aborted. */
  readonly attempts: number;
  readonly successes: number;
  /** Attempts that failed, ABORTED ones excepted. */
  readonly failures: number;
  /** Attempts our side cut short (reason ABORTED: the deadline or a cancel); not the target's failures. */
  readonly aborted: number;
  readonly responses: number;
  /** Mean response time (the wire's `average_latency`). */
  readonly averageMs?: number;
  readonly minMs?: number;
  readonly maxMs?: number;
  readonly p50Ms?: number;
  readonly p90Ms?: number;
  readonly p95Ms?: number;
  readonly p99Ms?: number;
  /** Population standard deviation. */
  readonly stddevMs?: number;
  /** 1-2-5 log buckets, first to last non-empty. */
  readonly histogram: readonly HistogramBucket[];
  /** Responses above the largest bound. */
  readonly histogramOverflow: number;
  /** Ascending by status. */
  readonly statuses: readonly StatusCount[];
  /** Every error reason, ABORTED included; descending by count, then by reason. */
  readonly errors: readonly ReasonCount[];
  readonly scheduleSlips: number;
  /** Run-level facts set by whoever ran the attempts (server). */
  readonly deadlineReached: boolean;
  /** The server's shutdown cut the call (the wire's `shutdown`): it stopped launching and sent what it had. */
  readonly shutdown: boolean;
  readonly backpressureWaitMs: number;
  readonly elapsedMs: number;
  readonly eventsSent: number;
  /** Median of each phase over the attempts where it happened. */
  readonly phases: PhaseMedians;
  /**
   * Interval mode only (absent otherwise, and when responses = 0): latency
   * measured from each attempt's intended start, coordinated omission
   * corrected (see RunStats). Equal to the service-time figures when no
   * attempt slipped.
   */
  readonly intendedLatency?: IntendedLatency;
  /** The engine's event-loop delay during the run; absent when not measured. */
  readonly eventLoopDelay?: EventLoopDelay;
  /** The response latencies as a mergeable sketch (mergeSummaries); absent from servers before it. */
  readonly latencySketch?: LatencySketch;
  /** The server's `--region`; absent from servers before it. */
  readonly region?: string;
  /**
   * Client-side only, never on the wire: how many times a ProbeStream that
   * broke was reconnected (src/client probeStream's `resume`). Set only on a
   * resumed stream's summary, which the client then computes from every
   * attempt it received (docs/clients.md#replicas).
   */
  readonly resumed?: number;
}

/**
 * A mergeable latency distribution (the proto's LatencySketch): the digest's
 * fine log buckets, sparse, plus exact moments. Bucket 0 counts values
 * <= FINE_LOW_MS (0.001 ms); bucket i >= 1 counts values in
 * (0.001 * 1.01^(i-1), 0.001 * 1.01^i] ms.
 */
export interface LatencySketch {
  readonly count: number;
  readonly sumMs: number;
  readonly sumSquaresMs2: number;
  /** 0 when count is 0. */
  readonly minMs: number;
  readonly maxMs: number;
  /** Non-empty buckets, ascending by index. */
  readonly buckets: readonly { readonly index: number; readonly count: number }[];
}

/** Latency from the intended start: the service time plus how late the start was. */
export interface IntendedLatency {
  /** Responses plus the stand-ins for the slots skipped while late. */
  readonly samples: number;
  readonly averageMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** What the engine measured of its own event loop while the run went on. */
export interface EventLoopDelayReading {
  /** Nearest-rank p99 of the sampled delays (within 5%, never above maxMs). */
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Delay samples taken (one per sampling tick). */
  readonly samples: number;
}

/** The event-loop reading as the Summary carries it, with the verdict. */
export interface EventLoopDelay {
  readonly p99Ms: number;
  readonly maxMs: number;
  /** p99 above the overload threshold: latencies may be inflated by up to maxMs. */
  readonly overloaded: boolean;
}

/** A re-binned histogram: one bucket per requested bound, plus what lies above. */
export interface Histogram {
  /** Non-cumulative, one per bound, ascending. */
  readonly buckets: readonly HistogramBucket[];
  /** Values above the largest bound. */
  readonly overflow: number;
}

/** Run-level facts only the runner knows, passed to `RunStats.summary()`. */
export interface RunFacts {
  /** The server's region, reported in the summary. */
  readonly region?: string;
  readonly deadlineReached?: boolean;
  readonly shutdown?: boolean;
  readonly backpressureWaitMs?: number;
  readonly elapsedMs?: number;
  readonly eventsSent?: number;
  /** The engine's event-loop delay over the run (ProbeRun.eventLoopDelay). */
  readonly eventLoopDelay?: EventLoopDelayReading | undefined;
}
