// Prometheus metrics of the server: probe results per endpoint, stream health,
// gRPC server metrics (named as go-grpc-prometheus) and Node process metrics.
// The registry is passed in so tests use a fresh one.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ERROR_REASONS, type ErrorReason, type TlsInfo } from '../probe/types.js';
import { tlsVersionLabel } from './blackbox.js';
import { PHASES, PHASE_FIELD } from '../stats/phases.js';
import type { ProbeObserver } from './observer.js';
import { ConfigError } from '../common/errors.js';
import { DEFAULT_MAX_ENDPOINTS, DEFAULT_SERIES_TTL_MS } from './config.js';
import { redactUrl } from '../common/redact.js';
import { boundLabel } from './bound.js';

export { DEFAULT_MAX_ENDPOINTS, DEFAULT_SERIES_TTL_MS };

/** Network latency buckets, seconds: sub-millisecond to a minute. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** Label value that endpoints beyond the cap are folded into. */
export const OVERFLOW_ENDPOINT = 'other';

export interface MetricsOptions {
  /** Distinct `endpoint` label values kept; later endpoints become "other". */
  readonly maxEndpoints?: number;
  /** Register Node process metrics (default true). */
  readonly defaultMetrics?: boolean;
  /**
   * An endpoint's series are removed once no attempt has been recorded for
   * it this long (ms), freeing its slot under maxEndpoints; 0 = never.
   * Default DEFAULT_SERIES_TTL_MS.
   */
  readonly seriesTtlMs?: number;
  /** Wall clock, epoch ms (tests pass a fake one). Default Date.now. */
  readonly now?: () => number;
}

/** gRPC call labels as go-grpc-prometheus names them. */
export interface GrpcLabels {
  readonly grpc_service: string;
  readonly grpc_method: string;
  readonly grpc_type: 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';
}

/** What the server interceptor records. */
export interface GrpcServerMetrics {
  started(labels: GrpcLabels): void;
  msgReceived(labels: GrpcLabels): void;
  msgSent(labels: GrpcLabels): void;
  /** `code` is the go-grpc-prometheus name, e.g. "OK", "InvalidArgument". */
  handled(labels: GrpcLabels, code: string, seconds: number): void;
}

export interface ProberMetrics extends ProbeObserver {
  readonly registry: Registry;
  readonly grpc: GrpcServerMetrics;
  /** The label value `endpoint` is recorded under (redacted; a new value counts against the cap). */
  endpointLabel(endpoint: string): string;
}

/** Failure reason label: the bounded enum, lower-cased ("connect_refused"). */
export function reasonLabel(reason: ErrorReason): string {
  return reason.toLowerCase();
}

/** Drops credentials (parsable or not: redactUrl) and fragment so they never end up in a label or log. */
export function redactEndpoint(endpoint: string): string {
  const redacted = redactUrl(endpoint);
  let url: URL;
  try {
    url = new URL(redacted);
  } catch {
    return redacted;
  }
  if (!url.hash) return redacted;
  url.hash = '';
  return url.toString();
}

type Registers = Registry[];

/** Endpoints whose label value is remembered, and the longest one remembered. */
const LABEL_MEMO_SIZE = 1024;
const LABEL_MEMO_MAX_CHARS = 1024;
const labelMemo = new Map<string, string>();

/**
 * boundLabel(redactEndpoint(endpoint)), remembered: a call's endpoint comes
 * with every attempt, and parsing it each time cost ~2.6 µs of ~5.4 µs per
 * observed attempt on the gRPC thread (a micro-bench of attempt()). Pure, so a memo is safe.
 */
function labelValue(endpoint: string): string {
  const known = labelMemo.get(endpoint);
  if (known !== undefined) return known;
  const value = boundLabel(redactEndpoint(endpoint));
  if (endpoint.length <= LABEL_MEMO_MAX_CHARS) {
    if (labelMemo.size >= LABEL_MEMO_SIZE) labelMemo.clear();
    labelMemo.set(endpoint, value);
  }
  return value;
}

interface TlsSeries {
  record(endpoint: string, tls: TlsInfo): void;
  forget(endpoint: string): void;
}

/** The TLS facts of gRPC-driven attempts, as /probe exports them per probe (blackbox's names there). */
function tlsMetrics(registers: Registers, collect: () => void): TlsSeries {
  const expiry = new Gauge({
    name: 'prober_ssl_earliest_cert_expiry_seconds',
    help: "Earliest notAfter (Unix seconds) over the certificate chain of the endpoint's latest TLS handshake.",
    labelNames: ['endpoint'] as const,
    registers,
    collect,
  });
  const version = new Gauge({
    name: 'prober_tls_version_info',
    help: 'TLS version of the latest attempt against the endpoint (value 1; version as blackbox names it, e.g. "TLS 1.3").',
    labelNames: ['endpoint', 'version'] as const,
    registers,
    collect,
  });
  // One version series per endpoint: a changed version replaces the old one.
  const versions = new Map<string, string>();
  return {
    record(endpoint, tls) {
      if (tls.earliestCertExpiry !== undefined) expiry.set({ endpoint }, tls.earliestCertExpiry);
      const v = tlsVersionLabel(tls.version);
      const before = versions.get(endpoint);
      if (before !== v) {
        if (before !== undefined) version.remove({ endpoint, version: before });
        versions.set(endpoint, v);
        version.set({ endpoint, version: v }, 1);
      }
    },
    forget(endpoint) {
      expiry.remove({ endpoint });
      const before = versions.get(endpoint);
      if (before !== undefined) version.remove({ endpoint, version: before });
      versions.delete(endpoint);
    },
  };
}

/** The metrics labelled by `endpoint`; `collect` runs before each is read (the expiry sweep). */
function endpointMetrics(registers: Registers, maxEndpoints: number, collect: () => void) {
  return {
    latency: new Gauge({
      name: 'prober_latency_seconds',
      help: 'Latency of the latest attempt against the endpoint (start to end of body, or to the failure).',
      labelNames: ['endpoint'] as const,
      registers,
      collect,
    }),
    lastAttempt: new Gauge({
      name: 'prober_last_attempt_timestamp_seconds',
      help: "Unix time the endpoint's latest attempt was recorded; the endpoint's series are removed once it is older than the server's series TTL.",
      labelNames: ['endpoint'] as const,
      registers,
      collect,
    }),
    attemptDuration: new Histogram({
      name: 'prober_attempt_duration_seconds',
      help: 'Duration of attempts (start to end of body, or to the failure), by endpoint and result.',
      labelNames: ['endpoint', 'result'] as const,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
      collect,
    }),
    phaseDuration: new Histogram({
      name: 'prober_attempt_phase_duration_seconds',
      help: `Duration of each phase of an attempt (${PHASES.join(', ')}); phases that did not happen are not observed.`,
      labelNames: ['endpoint', 'phase'] as const,
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
      collect,
    }),
    attempts: new Counter({
      name: 'prober_attempts_total',
      help: 'Finished attempts, by endpoint and result (success or failure).',
      labelNames: ['endpoint', 'result'] as const,
      registers,
      collect,
    }),
    failures: new Counter({
      name: 'prober_failures_total',
      help: 'Failed attempts, by endpoint and bounded reason (the ErrorReason enum, lower case).',
      labelNames: ['endpoint', 'reason'] as const,
      registers,
      collect,
    }),
    responses: new Counter({
      name: 'prober_http_responses_total',
      help: 'HTTP responses received from probed endpoints, by endpoint and status code.',
      labelNames: ['endpoint', 'code'] as const,
      registers,
      collect,
    }),
    overflow: new Counter({
      name: 'prober_endpoint_label_overflow_total',
      help: `Attempts recorded under endpoint="${OVERFLOW_ENDPOINT}" because the cap of distinct endpoint label values (${maxEndpoints}) was reached.`,
      registers,
    }),
    tls: tlsMetrics(registers, collect),
  };
}

/** What an endpoint label value has recorded: when, and the status codes (the one unbounded label beside it). */
interface EndpointEntry {
  readonly label: string;
  last: number;
  readonly codes: Set<string>;
}

const RESULTS = ['success', 'failure'] as const;

/**
 * Per-endpoint attempt metrics, with the capped `endpoint` label. Series of
 * an endpoint with no attempt for `ttlMs` are removed (checked lazily: on
 * scrape, and when a new endpoint finds the cap full), so a gauge never
 * shows an old value as current and the endpoint's slot is freed.
 */
function attemptMetrics(
  registers: Registers,
  maxEndpoints: number,
  ttlMs: number,
  now: () => number,
): Pick<ProberMetrics, 'attempt' | 'endpointLabel'> {
  const live = new Map<string, EndpointEntry>();
  // Earliest time an entry can be due: sweeps before it cost one comparison.
  let nextDue = Number.POSITIVE_INFINITY;
  const sweep = (): void => {
    if (ttlMs === 0) return;
    const t = now();
    if (t < nextDue) return;
    nextDue = Number.POSITIVE_INFINITY;
    for (const e of live.values()) {
      if (t - e.last >= ttlMs) forget(e);
      else nextDue = Math.min(nextDue, e.last + ttlMs);
    }
  };
  const m = endpointMetrics(registers, maxEndpoints, sweep);
  const forget = (e: EndpointEntry): void => {
    const endpoint = e.label;
    live.delete(endpoint);
    m.latency.remove({ endpoint });
    m.lastAttempt.remove({ endpoint });
    for (const result of RESULTS) {
      m.attemptDuration.remove({ endpoint, result });
      m.attempts.remove({ endpoint, result });
    }
    for (const phase of PHASES) m.phaseDuration.remove({ endpoint, phase });
    for (const reason of ERROR_REASONS) m.failures.remove({ endpoint, reason: reasonLabel(reason) });
    for (const code of e.codes) m.responses.remove({ endpoint, code });
    m.tls.forget(endpoint);
  };
  const open = (label: string): EndpointEntry => {
    const e: EndpointEntry = { label, last: now(), codes: new Set() };
    live.set(label, e);
    nextDue = Math.min(nextDue, e.last + ttlMs);
    return e;
  };
  // Endpoints are user-controlled: keep at most maxEndpoints distinct values (the overflow one aside).
  const entryOf = (endpoint: string): EndpointEntry => {
    const value = labelValue(endpoint);
    const known = live.get(value);
    if (known !== undefined) return known;
    const named = (): number => live.size - (live.has(OVERFLOW_ENDPOINT) ? 1 : 0);
    if (named() >= maxEndpoints) sweep();
    if (named() < maxEndpoints) return open(value);
    m.overflow.inc();
    return live.get(OVERFLOW_ENDPOINT) ?? open(OVERFLOW_ENDPOINT);
  };

  return {
    endpointLabel: (endpoint) => entryOf(endpoint).label,
    attempt(endpoint, a) {
      const e = entryOf(endpoint);
      const ep = e.label;
      e.last = now();
      const result = a.error ? 'failure' : 'success';
      const seconds = a.latencyMs / 1000;
      m.latency.set({ endpoint: ep }, seconds);
      m.lastAttempt.set({ endpoint: ep }, e.last / 1000);
      m.attemptDuration.observe({ endpoint: ep, result }, seconds);
      m.attempts.inc({ endpoint: ep, result });
      for (const phase of PHASES) {
        const ms = a.phases[PHASE_FIELD[phase]];
        if (ms !== undefined) m.phaseDuration.observe({ endpoint: ep, phase }, ms / 1000);
      }
      if (a.error) m.failures.inc({ endpoint: ep, reason: reasonLabel(a.error.reason) });
      if (a.status !== undefined) {
        const code = String(a.status);
        e.codes.add(code);
        m.responses.inc({ endpoint: ep, code });
      }
      if (a.tls !== undefined) m.tls.record(ep, a.tls);
    },
  };
}

/** Event-loop delay buckets, seconds: a timer's jitter to a second-long stall. */
export const LOOP_DELAY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/**
 * The engine's self-check, per call. Not nodejs_eventloop_lag_*: that is
 * sampled at scrape time on the thread serving /metrics, which need not be
 * the engine's, and cannot be pinned to the calls it distorted.
 */
function selfCheckMetrics(registers: Registers): Pick<ProbeObserver, 'summary'> {
  const loopDelay = new Histogram({
    name: 'prober_event_loop_delay_seconds',
    help: "p99 of the probe engine's event-loop delay over each finished call (the thread that takes the attempts' timestamps); calls too short to sample are not observed.",
    buckets: [...LOOP_DELAY_BUCKETS_SECONDS],
    registers,
  });
  const overloaded = new Counter({
    name: 'prober_overloaded_calls_total',
    help: "Calls whose summary said the prober was overloaded (event-loop delay p99 above max(10 ms, 10% of the call's median latency)): their readings may be inflated.",
    registers,
  });
  // Created at 0 so rate() and alerts work before the first overload.
  overloaded.inc(0);
  return {
    summary(_rpc, s) {
      const d = s.eventLoopDelay;
      if (d === undefined) return;
      loopDelay.observe(d.p99Ms / 1000);
      if (d.overloaded) overloaded.inc();
    },
  };
}

/** ProbeStream health: open streams, events, flow-control stalls. */
function streamMetrics(registers: Registers): Omit<ProbeObserver, 'attempt' | 'summary'> {
  const eventsSent = new Counter({
    name: 'prober_stream_events_sent_total',
    help: 'Events (attempts and summaries) written to ProbeStream calls; a batch counts its attempts.',
    registers,
  });
  const backpressureSeconds = new Counter({
    name: 'prober_stream_backpressure_wait_seconds_total',
    help: 'Time ProbeStream calls spent blocked on flow control (waiting for drain) while no new attempt started.',
    registers,
  });
  const backpressureStalls = new Counter({
    name: 'prober_stream_backpressure_stalls_total',
    help: 'Times a ProbeStream call blocked on flow control (a write returned false and it waited for drain).',
    registers,
  });
  const streamsBlocked = new Gauge({
    name: 'prober_streams_blocked',
    help: 'ProbeStream calls blocked on flow control right now (a slow reader is holding back their probing).',
    registers,
  });
  const streamsOpen = new Gauge({
    name: 'prober_streams_open',
    help: 'ProbeStream calls currently open.',
    registers,
  });

  return {
    streamOpened() {
      streamsOpen.inc();
    },
    streamClosed() {
      streamsOpen.dec();
    },
    eventSent() {
      eventsSent.inc();
    },
    backpressureStarted() {
      streamsBlocked.inc();
    },
    backpressureWait(ms) {
      streamsBlocked.dec();
      backpressureStalls.inc();
      if (ms > 0) backpressureSeconds.inc(ms / 1000);
    },
  };
}

/** gRPC server metrics as go-grpc-prometheus names them. */
function grpcServerMetrics(registers: Registers): GrpcServerMetrics {
  const grpcLabelNames = ['grpc_service', 'grpc_method', 'grpc_type'] as const;
  const grpcStarted = new Counter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames: grpcLabelNames,
    registers,
  });
  const grpcHandled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: [...grpcLabelNames, 'grpc_code'] as const,
    registers,
  });
  const grpcReceived = new Counter({
    name: 'grpc_server_msg_received_total',
    help: 'Total number of RPC stream messages received on the server.',
    labelNames: grpcLabelNames,
    registers,
  });
  const grpcSent = new Counter({
    name: 'grpc_server_msg_sent_total',
    help: 'Total number of gRPC stream messages sent by the server.',
    labelNames: grpcLabelNames,
    registers,
  });
  const grpcHandling = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
    labelNames: grpcLabelNames,
    buckets: [...LATENCY_BUCKETS_SECONDS, 300, 900, 3600],
    registers,
  });

  // Service and method come from the request's path: bounded like every label.
  const bounded = (l: GrpcLabels): GrpcLabels => ({
    grpc_service: boundLabel(l.grpc_service),
    grpc_method: boundLabel(l.grpc_method),
    grpc_type: l.grpc_type,
  });
  return {
    started: (l) => grpcStarted.inc(bounded(l)),
    msgReceived: (l) => grpcReceived.inc(bounded(l)),
    msgSent: (l) => grpcSent.inc(bounded(l)),
    handled(l, code, seconds) {
      grpcHandled.inc({ ...bounded(l), grpc_code: code });
      grpcHandling.observe(bounded(l), seconds);
    },
  };
}

export function createMetrics(registry: Registry, options: MetricsOptions = {}): ProberMetrics {
  const maxEndpoints = options.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS;
  if (!Number.isInteger(maxEndpoints) || maxEndpoints < 1) {
    throw new ConfigError('maxEndpoints', `maxEndpoints must be an integer >= 1, got ${maxEndpoints}`);
  }
  const ttlMs = options.seriesTtlMs ?? DEFAULT_SERIES_TTL_MS;
  if (!(ttlMs >= 0)) {
    throw new ConfigError('seriesTtlMs', `seriesTtlMs must be a number of ms >= 0 (0 = never), got ${ttlMs}`);
  }
  const registers = [registry];
  // Registration order is the order of /metrics output: keep it.
  const attempts = attemptMetrics(registers, maxEndpoints, ttlMs, options.now ?? Date.now);
  const streams = streamMetrics(registers);
  const selfCheck = selfCheckMetrics(registers);
  const grpc = grpcServerMetrics(registers);
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return { registry, ...attempts, ...streams, ...selfCheck, grpc };
}

/** Convenience for callers that do not need their own registry. */
export function createRegistry(): Registry {
  return new Registry();
}
