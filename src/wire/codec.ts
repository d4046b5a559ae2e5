// The wire codec: the only place proto (src/generated) and domain types meet.
// Shared by the server (src/server) and the typed client (src/client). It maps
// shapes only (proto defaults -> "unset"); defaults and ranges are
// validateProbeInput's job.
//
// Durations are float milliseconds on the domain side and
// google.protobuf.Duration on the wire, rounded to the nanosecond. "Unset" is
// kept distinct from zero both ways (a phase that did not happen stays absent).
import { prober } from '../generated/prober/v1/prober.js';
import { google as gd } from '../generated/google/protobuf/duration.js';
import { google as gt } from '../generated/google/protobuf/timestamp.js';
import {
  ERROR_REASONS,
  type AttemptResult,
  type ErrorReason,
  type HeaderMatch,
  type HttpMethod,
  type HttpVersionMode,
  type Phases,
  type ProbeInput,
  type StatusRange,
  type TlsInfo,
  type Hop,
} from '../probe/types.js';
import type { EventLoopDelay, IntendedLatency, LatencySketch, ReasonCount, Summary } from '../stats/types.js';
import { compareReasonCounts, PHASES, PHASE_FIELD, type Phase } from '../stats/index.js';
import { InvalidArgumentError } from '../probe/errors.js';
import { INPUT_FIELDS } from '../probe/validate.js';

import pb = prober.v1;
type Duration = gd.protobuf.Duration;
type Timestamp = gt.protobuf.Timestamp;

const NS_PER_MS = 1e6;
const NS_PER_S = 1e9;

// ---------------------------------------------------------------- durations

/** Float milliseconds -> Duration (seconds and nanos share the sign). */
export function msToDuration(ms: number): Duration {
  if (!Number.isFinite(ms)) throw new RangeError(`duration must be a finite number of milliseconds, got ${ms}`);
  const totalNs = Math.round(ms * NS_PER_MS);
  const seconds = Math.trunc(totalNs / NS_PER_S);
  const nanos = totalNs - seconds * NS_PER_S;
  // `+ 0` turns -0 into 0 so equal durations serialize identically.
  return new gd.protobuf.Duration({ seconds: seconds + 0, nanos: nanos + 0 });
}

export function durationToMs(d: Duration): number {
  return d.seconds * 1e3 + d.nanos / NS_PER_MS;
}

/** Duration or nothing; `undefined` stays unset on the wire. */
function optDuration(ms: number | undefined): Duration | undefined {
  return ms === undefined ? undefined : msToDuration(ms);
}

function optMs(has: boolean, d: Duration | undefined): number | undefined {
  return has && d !== undefined ? durationToMs(d) : undefined;
}

/** Epoch milliseconds -> Timestamp (nanos always 0..999999999). */
export function epochMsToTimestamp(ms: number): Timestamp {
  if (!Number.isFinite(ms)) throw new RangeError(`timestamp must be finite, got ${ms}`);
  const totalNs = Math.round(ms * NS_PER_MS);
  const seconds = Math.floor(totalNs / NS_PER_S);
  const nanos = totalNs - seconds * NS_PER_S;
  return new gt.protobuf.Timestamp({ seconds: seconds + 0, nanos: nanos + 0 });
}

export function timestampToEpochMs(t: Timestamp): number {
  return t.seconds * 1e3 + t.nanos / NS_PER_MS;
}

/** Drops keys whose value is undefined: absent on the wire = absent key. */
function compact<T extends object>(o: T): T {
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] === undefined) delete o[k];
  return o;
}

// ---------------------------------------------------------------- enums

const METHOD_TO_PROTO: Record<HttpMethod, pb.HttpMethod> = {
  GET: pb.HttpMethod.HTTP_METHOD_GET,
  HEAD: pb.HttpMethod.HTTP_METHOD_HEAD,
  POST: pb.HttpMethod.HTTP_METHOD_POST,
  PUT: pb.HttpMethod.HTTP_METHOD_PUT,
  PATCH: pb.HttpMethod.HTTP_METHOD_PATCH,
  DELETE: pb.HttpMethod.HTTP_METHOD_DELETE,
  OPTIONS: pb.HttpMethod.HTTP_METHOD_OPTIONS,
};
const METHOD_FROM_PROTO: ReadonlyMap<number, HttpMethod> = new Map(
  Object.entries(METHOD_TO_PROTO).map(([name, n]) => [n, name as HttpMethod]),
);

/**
 * Wire method -> domain. UNSPECIFIED means "default" (undefined). An enum
 * number this build does not know must not silently become GET: it maps to a
 * string that is not a valid HttpMethod, so validation rejects it naming
 * `method`.
 */
export function methodFromProto(m: number): HttpMethod | undefined {
  if (m === pb.HttpMethod.HTTP_METHOD_UNSPECIFIED) return undefined;
  return METHOD_FROM_PROTO.get(m) ?? (`HTTP_METHOD_${m}` as HttpMethod);
}

export function methodToProto(m: HttpMethod | undefined): pb.HttpMethod {
  if (m === undefined) return pb.HttpMethod.HTTP_METHOD_UNSPECIFIED;
  const v = METHOD_TO_PROTO[m];
  if (v === undefined)
    throw new RangeError(`method must be one of ${Object.keys(METHOD_TO_PROTO).join(', ')}, got ${String(m)}`);
  return v;
}

const PREFIX = 'ERROR_REASON_';
const KNOWN_REASONS: ReadonlySet<string> = new Set(ERROR_REASONS);

/** 'DNS' -> ERROR_REASON_DNS. A name outside ERROR_REASONS becomes OTHER. */
export function reasonToProto(r: string): pb.ErrorReason {
  const v = (pb.ErrorReason as unknown as Record<string, number | undefined>)[PREFIX + r];
  return KNOWN_REASONS.has(r) && v !== undefined ? v : pb.ErrorReason.ERROR_REASON_OTHER;
}

/** ERROR_REASON_DNS -> 'DNS'. Unknown numbers (a newer peer) and UNSPECIFIED become 'OTHER'. */
export function reasonFromProto(r: number): ErrorReason {
  const name = (pb.ErrorReason as unknown as Record<number, string | undefined>)[r];
  const short = name?.startsWith(PREFIX) ? name.slice(PREFIX.length) : undefined;
  return short !== undefined && KNOWN_REASONS.has(short) ? (short as ErrorReason) : 'OTHER';
}

// ---------------------------------------------------------------- request

function headerMatchesToProto(list: readonly HeaderMatch[] | undefined): pb.HeaderMatch[] {
  return (list ?? []).map(
    (h) => new pb.HeaderMatch({ name: h.name, regex: h.regex, allow_missing: h.allowMissing === true }),
  );
}

/** Empty list: unset; allow_missing false (the proto default) is left out. */
function headerMatchesFromProto(list: readonly pb.HeaderMatch[]): HeaderMatch[] | undefined {
  if (list.length === 0) return undefined;
  return list.map((h) => ({ name: h.name, regex: h.regex, ...(h.allow_missing ? { allowMissing: true } : {}) }));
}

const VERSION_TO_PROTO: Record<HttpVersionMode, pb.HttpVersion> = {
  '1.1': pb.HttpVersion.HTTP_VERSION_1_1,
  '2': pb.HttpVersion.HTTP_VERSION_2,
  '2-prior-knowledge': pb.HttpVersion.HTTP_VERSION_2_PRIOR_KNOWLEDGE,
};
const VERSION_FROM_PROTO: ReadonlyMap<number, HttpVersionMode> = new Map(
  Object.entries(VERSION_TO_PROTO).map(([name, n]) => [n, name as HttpVersionMode]),
);

/** Wire -> domain; UNSPECIFIED is unset; an unknown number becomes a string validation rejects, naming http_version. */
export function httpVersionFromProto(v: number): HttpVersionMode | undefined {
  if (v === pb.HttpVersion.HTTP_VERSION_UNSPECIFIED) return undefined;
  return VERSION_FROM_PROTO.get(v) ?? (`HTTP_VERSION_${v}` as HttpVersionMode);
}

export function httpVersionToProto(v: HttpVersionMode | undefined): pb.HttpVersion {
  if (v === undefined) return pb.HttpVersion.HTTP_VERSION_UNSPECIFIED;
  const n = VERSION_TO_PROTO[v];
  if (n === undefined) {
    throw new InvalidArgumentError(
      INPUT_FIELDS.httpVersion.proto,
      `http_version must be one of ${Object.keys(VERSION_TO_PROTO).join(', ')} (got ${String(v)})`,
    );
  }
  return n;
}

/** How the client's transport wants replies: `batchAttempts` sets ProbeRequest.batch_attempts (ProbeStream). */
export interface RequestTransport {
  readonly batchAttempts?: boolean;
}

export function requestToProto(input: ProbeInput, transport: RequestTransport = {}): pb.ProbeRequest {
  const req = new pb.ProbeRequest({
    endpoint: input.endpoint,
    repetitions: input.repetitions,
    concurrency: input.concurrency ?? 0,
    reuse_connections: input.reuseConnections ?? false,
    expected_status: (input.expectedStatus ?? []).map((r) => new pb.StatusRange({ min: r.min, max: r.max })),
    method: methodToProto(input.method),
    headers: (input.headers ?? []).map((h) => new pb.Header({ name: h.name, value: h.value })),
    expect_body: [...(input.expectBody ?? [])],
    fail_if_body: [...(input.failIfBody ?? [])],
    expect_header: headerMatchesToProto(input.expectHeader),
    fail_if_header: headerMatchesToProto(input.failIfHeader),
    follow_redirects: input.followRedirects ?? false,
    max_redirects: input.maxRedirects ?? 0,
    ip_family: input.ipFamily ?? 0,
    resolve: [...(input.resolve ?? [])],
    module: input.module ?? '',
    proxy_url: input.proxyUrl ?? '',
    http_version: httpVersionToProto(input.httpVersion),
  });
  if (input.body !== undefined && input.body.length > 0) req.body = input.body;
  tlsRequestToProto(input, req);
  if (input.timeoutMs !== undefined) req.timeout = fieldDuration(INPUT_FIELDS.timeoutMs.proto, input.timeoutMs);
  if (input.intervalMs !== undefined) req.interval = fieldDuration(INPUT_FIELDS.intervalMs.proto, input.intervalMs);
  if (transport.batchAttempts === true) req.batch_attempts = true;
  return req;
}

/** msToDuration, but a value that cannot go on the wire names its field. */
function fieldDuration(field: string, ms: number): Duration {
  try {
    return msToDuration(ms);
  } catch (err) {
    if (err instanceof RangeError) throw new InvalidArgumentError(field, `${field}: ${err.message}`);
    throw err;
  }
}

/**
 * A request Duration -> ms. One that is not a valid google.protobuf.Duration
 * (nanos beyond ±999999999, or signed unlike seconds) would otherwise be read
 * as some other length, so it is rejected here, naming the field.
 */
function requestMs(field: string, has: boolean, d: Duration | undefined): number | undefined {
  if (!has || d === undefined) return undefined;
  const { seconds, nanos } = d;
  if (Math.abs(nanos) > 999_999_999 || (seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) {
    throw new InvalidArgumentError(
      field,
      `${field} is not a valid duration: nanos must be within ±999999999 and have the sign of seconds (got seconds ${seconds}, nanos ${nanos})`,
    );
  }
  return durationToMs(d);
}

/**
 * Wire request -> ProbeInput. Judges only the wire form (malformed
 * Durations). Proto defaults become "unset" (concurrency 0, no
 * expected_status, UNSPECIFIED method); what unset and 0 mean (a range's max
 * 0 = "same as min") is validateProbeInput's call.
 */
export function requestFromProto(req: pb.ProbeRequest): ProbeInput {
  const expected: StatusRange[] = req.expected_status.map((r) => ({ min: r.min, max: r.max }));
  return compact<ProbeInput>({
    endpoint: req.endpoint,
    repetitions: req.repetitions,
    timeoutMs: requestMs(INPUT_FIELDS.timeoutMs.proto, req.has_timeout, req.timeout),
    intervalMs: requestMs(INPUT_FIELDS.intervalMs.proto, req.has_interval, req.interval),
    concurrency: req.concurrency === 0 ? undefined : req.concurrency,
    reuseConnections: req.reuse_connections,
    expectedStatus: expected.length === 0 ? undefined : expected,
    method: methodFromProto(req.method),
    headers: req.headers.length === 0 ? undefined : req.headers.map((h) => ({ name: h.name, value: h.value })),
    // A copy: the decoded view may share the whole message buffer, which would cross to the engine thread with it.
    body: req.body.length === 0 ? undefined : new Uint8Array(req.body),
    expectBody: req.expect_body.length === 0 ? undefined : [...req.expect_body],
    failIfBody: req.fail_if_body.length === 0 ? undefined : [...req.fail_if_body],
    expectHeader: headerMatchesFromProto(req.expect_header),
    failIfHeader: headerMatchesFromProto(req.fail_if_header),
    ...tlsRequestFromProto(req),
    followRedirects: req.follow_redirects ? true : undefined,
    // 0 is the proto default: unset (validation picks 10 when following).
    maxRedirects: req.max_redirects === 0 ? undefined : req.max_redirects,
    ipFamily: req.ip_family === 0 ? undefined : req.ip_family,
    resolve: req.resolve.length === 0 ? undefined : [...req.resolve],
    module: req.module === '' ? undefined : req.module,
    proxyUrl: req.proxy_url === '' ? undefined : req.proxy_url,
    httpVersion: httpVersionFromProto(req.http_version),
  });
}

/** The TLS fields of a request (proto 40+); empty strings are "unset". */
function tlsRequestToProto(input: ProbeInput, req: pb.ProbeRequest): void {
  req.tls_insecure = input.tlsInsecure ?? false;
  req.tls_ca_pem = input.tlsCaPem ?? '';
  req.tls_cert_pem = input.tlsCertPem ?? '';
  req.tls_key_pem = input.tlsKeyPem ?? '';
  req.tls_server_name = input.tlsServerName ?? '';
  req.tls_min_version = input.tlsMinVersion ?? '';
}

function tlsRequestFromProto(req: pb.ProbeRequest) {
  const str = (v: string): string | undefined => (v === '' ? undefined : v);
  return {
    tlsInsecure: req.tls_insecure ? true : undefined,
    tlsCaPem: str(req.tls_ca_pem),
    tlsCertPem: str(req.tls_cert_pem),
    tlsKeyPem: str(req.tls_key_pem),
    tlsServerName: str(req.tls_server_name),
    tlsMinVersion: str(req.tls_min_version),
  };
}

function tlsInfoToProto(t: TlsInfo): pb.TlsInfo {
  return new pb.TlsInfo({
    version: t.version,
    cipher: t.cipher,
    alpn_protocol: t.alpnProtocol ?? '',
    session_resumed: t.sessionResumed,
    earliest_cert_expiry: t.earliestCertExpiry ?? 0,
  });
}

function tlsInfoFromProto(t: pb.TlsInfo): TlsInfo {
  return compact<TlsInfo>({
    version: t.version,
    cipher: t.cipher,
    alpnProtocol: t.alpn_protocol === '' ? undefined : t.alpn_protocol,
    sessionResumed: t.session_resumed,
    earliestCertExpiry: t.earliest_cert_expiry === 0 ? undefined : t.earliest_cert_expiry,
  });
}

// ---------------------------------------------------------------- attempt

/**
 * prober.v1.Phases as the phase list sees it: one Duration field per Phase,
 * named like it. A phase missing from the proto fails to compile here.
 */
type ProtoPhases = { [P in Phase]: Duration } & { readonly [P in Phase as `has_${P}`]: boolean };

function phasesToProto(p: Phases): pb.Phases {
  const out = new pb.Phases();
  const view: ProtoPhases = out;
  for (const phase of PHASES) {
    const ms = p[PHASE_FIELD[phase]];
    if (ms !== undefined) view[phase] = msToDuration(ms);
  }
  return out;
}

function phasesFromProto(p: pb.Phases | undefined): Phases {
  if (p === undefined) return {};
  const view: ProtoPhases = p;
  const out: { -readonly [K in keyof Phases]: Phases[K] } = {};
  for (const phase of PHASES) {
    if (view[`has_${phase}`]) out[PHASE_FIELD[phase]] = durationToMs(view[phase]);
  }
  return out;
}

function hopToProto(h: Hop): pb.Hop {
  return new pb.Hop({
    url: h.url,
    http_status: h.status,
    location: h.location,
    phases: phasesToProto(h.phases),
    latency: msToDuration(h.latencyMs),
    remote_address: h.remoteAddress ?? '',
  });
}

function hopFromProto(h: pb.Hop): Hop {
  return compact<Hop>({
    url: h.url,
    status: h.http_status,
    location: h.location,
    phases: phasesFromProto(h.has_phases ? h.phases : undefined),
    latencyMs: h.has_latency ? durationToMs(h.latency) : 0,
    remoteAddress: h.remote_address === '' ? undefined : h.remote_address,
  });
}

export function attemptToProto(a: AttemptResult): pb.Attempt {
  const out = new pb.Attempt({
    seq: a.seq,
    start_time: epochMsToTimestamp(a.startedAt),
    latency: msToDuration(a.latencyMs),
    phases: phasesToProto(a.phases),
    http_status: a.status ?? 0,
    body_bytes: a.bodyBytes,
    http_version: a.httpVersion ?? '',
    remote_address: a.remoteAddress ?? '',
    connection_reused: a.reused,
    ip_family: a.ipFamily ?? 0,
    proxied: a.proxied === true,
  });
  if (a.error !== undefined) {
    out.error = new pb.ProbeError({
      reason: reasonToProto(a.error.reason),
      message: a.error.message,
      temporary: a.error.temporary,
      code: a.error.code ?? '',
    });
  }
  if (a.scheduleDelayMs !== undefined) out.schedule_delay = msToDuration(a.scheduleDelayMs);
  if (a.tls !== undefined) out.tls = tlsInfoToProto(a.tls);
  if (a.hops !== undefined) out.hops = a.hops.map(hopToProto);
  return out;
}

export function attemptFromProto(a: pb.Attempt): AttemptResult {
  const e = a.has_error ? a.error : undefined;
  return compact<AttemptResult>({
    seq: a.seq,
    startedAt: a.has_start_time ? timestampToEpochMs(a.start_time) : 0,
    latencyMs: a.has_latency ? durationToMs(a.latency) : 0,
    phases: phasesFromProto(a.has_phases ? a.phases : undefined),
    status: a.http_status === 0 ? undefined : a.http_status,
    bodyBytes: a.body_bytes,
    httpVersion: a.http_version === '' ? undefined : a.http_version,
    remoteAddress: a.remote_address === '' ? undefined : a.remote_address,
    error:
      e === undefined
        ? undefined
        : compact({
            reason: reasonFromProto(e.reason),
            message: e.message,
            temporary: e.temporary,
            code: e.code === '' ? undefined : e.code,
          }),
    ipFamily: a.ip_family === 4 || a.ip_family === 6 ? a.ip_family : undefined,
    reused: a.connection_reused,
    scheduleDelayMs: optMs(a.has_schedule_delay, a.schedule_delay),
    tls: a.has_tls ? tlsInfoFromProto(a.tls) : undefined,
    hops: a.hops.length === 0 ? undefined : a.hops.map(hopFromProto),
    proxied: a.proxied ? true : undefined,
  });
}

// ---------------------------------------------------------------- summary

export function summaryToProto(s: Summary): pb.Summary {
  // Wire order is ascending by enum; unknown names fold into OTHER.
  const byReason = new Map<pb.ErrorReason, number>();
  for (const e of s.errors) {
    const r = reasonToProto(e.reason);
    byReason.set(r, (byReason.get(r) ?? 0) + e.count);
  }
  const errors = [...byReason]
    .sort(([a], [b]) => a - b)
    .map(([reason, count]) => new pb.ReasonCount({ reason, count }));

  return new pb.Summary({
    attempts: s.attempts,
    successes: s.successes,
    failures: s.failures,
    aborted: s.aborted,
    responses: s.responses,
    average_latency: optDuration(s.averageMs),
    min: optDuration(s.minMs),
    max: optDuration(s.maxMs),
    p50: optDuration(s.p50Ms),
    p90: optDuration(s.p90Ms),
    p95: optDuration(s.p95Ms),
    p99: optDuration(s.p99Ms),
    stddev: optDuration(s.stddevMs),
    histogram: s.histogram.map(
      (b) => new pb.HistogramBucket({ upper_bound: msToDuration(b.upperBoundMs), count: b.count }),
    ),
    histogram_overflow: s.histogramOverflow,
    statuses: [...s.statuses]
      .sort((a, b) => a.status - b.status)
      .map((c) => new pb.StatusCount({ status: c.status, count: c.count })),
    errors,
    deadline_reached: s.deadlineReached,
    shutdown: s.shutdown,
    schedule_slips: s.scheduleSlips,
    backpressure_wait: msToDuration(s.backpressureWaitMs),
    elapsed: msToDuration(s.elapsedMs),
    events_sent: s.eventsSent,
    phase_medians: phasesToProto(s.phases),
    intended_latency: intendedToProto(s.intendedLatency),
    event_loop_delay: loopDelayToProto(s.eventLoopDelay),
    latency_sketch: sketchToProto(s.latencySketch),
    region: s.region ?? '',
  });
}

function sketchToProto(k: LatencySketch | undefined): pb.LatencySketch | undefined {
  if (k === undefined) return undefined;
  return new pb.LatencySketch({
    count: k.count,
    sum_ms: k.sumMs,
    sum_squares_ms2: k.sumSquaresMs2,
    min_ms: k.minMs,
    max_ms: k.maxMs,
    buckets: k.buckets.map((b) => new pb.SketchBucket({ index: b.index, count: b.count })),
  });
}

function sketchFromProto(has: boolean, k: pb.LatencySketch | undefined): LatencySketch | undefined {
  if (!has || k === undefined) return undefined;
  return {
    count: k.count,
    sumMs: k.sum_ms,
    sumSquaresMs2: k.sum_squares_ms2,
    minMs: k.min_ms,
    maxMs: k.max_ms,
    buckets: k.buckets.map((b) => ({ index: b.index, count: b.count })).sort((a, b) => a.index - b.index),
  };
}

function intendedToProto(i: IntendedLatency | undefined): pb.IntendedLatency | undefined {
  if (i === undefined) return undefined;
  return new pb.IntendedLatency({
    samples: i.samples,
    average: msToDuration(i.averageMs),
    p50: msToDuration(i.p50Ms),
    p90: msToDuration(i.p90Ms),
    p95: msToDuration(i.p95Ms),
    p99: msToDuration(i.p99Ms),
    max: msToDuration(i.maxMs),
  });
}

function intendedFromProto(has: boolean, i: pb.IntendedLatency | undefined): IntendedLatency | undefined {
  if (!has || i === undefined) return undefined;
  const ms = (d: Duration | undefined): number => (d === undefined ? 0 : durationToMs(d));
  return {
    samples: i.samples,
    averageMs: ms(i.average),
    p50Ms: ms(i.p50),
    p90Ms: ms(i.p90),
    p95Ms: ms(i.p95),
    p99Ms: ms(i.p99),
    maxMs: ms(i.max),
  };
}

function loopDelayToProto(d: EventLoopDelay | undefined): pb.EventLoopDelay | undefined {
  if (d === undefined) return undefined;
  return new pb.EventLoopDelay({ p99: msToDuration(d.p99Ms), max: msToDuration(d.maxMs), overloaded: d.overloaded });
}

function loopDelayFromProto(has: boolean, d: pb.EventLoopDelay | undefined): EventLoopDelay | undefined {
  if (!has || d === undefined) return undefined;
  return {
    p99Ms: d.has_p99 ? durationToMs(d.p99) : 0,
    maxMs: d.has_max ? durationToMs(d.max) : 0,
    overloaded: d.overloaded,
  };
}

/** Several unknown wire reasons may all fold into OTHER: merge them. */
function reasonCountsFromProto(list: readonly pb.ReasonCount[]): ReasonCount[] {
  const byReason = new Map<ErrorReason, number>();
  for (const e of list) {
    const r = reasonFromProto(e.reason);
    byReason.set(r, (byReason.get(r) ?? 0) + e.count);
  }
  return [...byReason].map(([reason, count]) => ({ reason, count })).sort(compareReasonCounts);
}

export function summaryFromProto(s: pb.Summary): Summary {
  return compact<Summary>({
    attempts: s.attempts,
    successes: s.successes,
    failures: s.failures,
    aborted: s.aborted,
    responses: s.responses,
    averageMs: optMs(s.has_average_latency, s.average_latency),
    minMs: optMs(s.has_min, s.min),
    maxMs: optMs(s.has_max, s.max),
    p50Ms: optMs(s.has_p50, s.p50),
    p90Ms: optMs(s.has_p90, s.p90),
    p95Ms: optMs(s.has_p95, s.p95),
    p99Ms: optMs(s.has_p99, s.p99),
    stddevMs: optMs(s.has_stddev, s.stddev),
    histogram: s.histogram.map((b) => ({
      upperBoundMs: b.has_upper_bound ? durationToMs(b.upper_bound) : 0,
      count: b.count,
    })),
    histogramOverflow: s.histogram_overflow,
    statuses: s.statuses.map((c) => ({ status: c.status, count: c.count })).sort((a, b) => a.status - b.status),
    errors: reasonCountsFromProto(s.errors),
    deadlineReached: s.deadline_reached,
    shutdown: s.shutdown,
    scheduleSlips: s.schedule_slips,
    backpressureWaitMs: s.has_backpressure_wait ? durationToMs(s.backpressure_wait) : 0,
    elapsedMs: s.has_elapsed ? durationToMs(s.elapsed) : 0,
    eventsSent: s.events_sent,
    phases: phasesFromProto(s.has_phase_medians ? s.phase_medians : undefined),
    intendedLatency: intendedFromProto(s.has_intended_latency, s.intended_latency),
    eventLoopDelay: loopDelayFromProto(s.has_event_loop_delay, s.event_loop_delay),
    latencySketch: sketchFromProto(s.has_latency_sketch, s.latency_sketch),
    region: s.region === '' ? undefined : s.region,
  });
}

// ---------------------------------------------------------------- events

/** `region`: the server's, on a stream's first event only. */
export function attemptEvent(a: AttemptResult, region?: string): pb.ProbeEvent {
  return new pb.ProbeEvent({ attempt: attemptToProto(a), ...(region ? { region } : {}) });
}

export function summaryEvent(s: Summary, region?: string): pb.ProbeEvent {
  return new pb.ProbeEvent({ summary: summaryToProto(s), ...(region ? { region } : {}) });
}
