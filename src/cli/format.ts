// Human and JSON renderings of attempts and summaries. JSON keeps every key
// (null when absent) so scripts see a stable shape; all times are ms numbers.
import { formatMsFixed } from '../common/format.js';
import type { AttemptResult } from '../probe/types.js';
import { PHASE_FIELD, PHASES, type Phase, type PhaseField, type PhaseTimes } from '../stats/phases.js';
import { overloadWarning } from '../stats/run-stats.js';
import type { EventLoopDelay, IntendedLatency, Summary } from '../stats/types.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
}

const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s };
const ansi =
  (open: number, close: number) =>
  (s: string): string =>
    `\u001b[${open}m${s}\u001b[${close}m`;
const COLOR: Style = { bold: ansi(1, 22), dim: ansi(2, 22), red: ansi(31, 39), green: ansi(32, 39) };

/** ANSI styling only on a TTY, and never with NO_COLOR set (no-color.org). */
export function styleFor(out: { isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): Style {
  const noColor = env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '';
  return out.isTTY === true && !noColor && env['TERM'] !== 'dumb' ? COLOR : PLAIN;
}

/** Histogram bound label: 0.1 ms, 20 ms, 5 s. */
function formatBound(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}

const PHASE_LABEL: Readonly<Record<Phase, string>> = {
  dns: 'dns',
  connect: 'connect',
  proxy: 'proxy',
  tls: 'tls',
  ttfb: 'ttfb',
  transfer: 'transfer',
};

function formatPhases(p: PhaseTimes): string {
  return PHASES.filter((ph) => p[PHASE_FIELD[ph]] !== undefined)
    .map((ph) => `${PHASE_LABEL[ph]} ${formatMsFixed(p[PHASE_FIELD[ph]])}`)
    .join('  ');
}

/** Hop lines printed under an attempt (-L); the rest are counted in one more line (--json has them all). */
export const MAX_HOP_LINES = 5;
const MAX_LOCATION_CHARS = 120;

/** The redirects an attempt followed, one indented line each (status, latency, Location); '' when none. */
function formatHops(a: AttemptResult, st: Style): string {
  const hops = a.hops ?? [];
  const lines = hops.slice(0, MAX_HOP_LINES).map((h, i) => {
    const loc = h.location.length > MAX_LOCATION_CHARS ? `${h.location.slice(0, MAX_LOCATION_CHARS)}...` : h.location;
    return `\n      ${st.dim(`hop ${i + 1}`)}  ${h.status}  ${formatMsFixed(h.latencyMs).padStart(11)}  -> ${loc}`;
  });
  const more = hops.length - lines.length;
  if (more > 0) lines.push(`\n      ${st.dim(`... ${more} more hops (--json lists every one)`)}`);
  return lines.join('');
}

/** One line per finished attempt (seq, status or error reason, latency, phases), then a line per redirect followed. */
export function formatAttempt(a: AttemptResult, st: Style = PLAIN): string {
  const seq = `#${a.seq}`.padEnd(6);
  let what: string;
  if (a.error === undefined) what = st.green(String(a.status ?? '-'));
  else if (a.status !== undefined) what = st.red(`${a.status} ${a.error.reason}`);
  else what = st.red(a.error.reason);
  const phases = formatPhases(a.phases);
  const extra: string[] = [];
  if (a.reused) extra.push('reused');
  // Only what differs from the usual 1.1, so plain lines stay as they were.
  if (a.httpVersion !== undefined && a.httpVersion !== '1.1') extra.push(`HTTP/${a.httpVersion}`);
  if (a.proxied === true) extra.push('via proxy');
  if (a.tls !== undefined) extra.push(a.tls.sessionResumed ? `${a.tls.version} resumed` : a.tls.version);
  if (a.scheduleDelayMs !== undefined) extra.push(`started ${formatMsFixed(a.scheduleDelayMs)} late`);
  if (a.error !== undefined && a.status === undefined) extra.push(a.error.message);
  const tail = extra.length > 0 ? st.dim(`  (${extra.join('; ')})`) : '';
  return `${seq}${what.padEnd(10)}  ${formatMsFixed(a.latencyMs).padStart(11)}  ${st.dim(phases)}${tail}${formatHops(a, st)}`;
}

const BAR_WIDTH = 30;

export interface SummaryContext {
  readonly endpoint: string;
  /** Repetitions requested; 0 = continuous. */
  readonly requested: number;
  /** Set when the user stopped the run (the summary is then computed locally). */
  readonly interrupted?: boolean;
  /** The call deadline, ms; undefined = none. Names it when it cut the run short. */
  readonly deadlineMs?: number | undefined;
}

/**
 * What to do when the deadline cut a finite run short, e.g. "3 of 5 attempts
 * before the 30 s deadline; raise --deadline"; undefined when it did not.
 */
export function deadlineAdvice(s: Summary, ctx: SummaryContext): string | undefined {
  if (!s.deadlineReached || ctx.requested === 0) return undefined;
  const done = s.successes + s.failures;
  if (done >= ctx.requested) return undefined;
  const within = ctx.deadlineMs === undefined ? 'the deadline' : `the ${formatBound(ctx.deadlineMs)} deadline`;
  const cut = s.aborted > 0 ? ` (${s.aborted} aborted by it)` : '';
  return `${done} of ${ctx.requested} attempts before ${within}${cut}; raise --deadline`;
}

/** The human summary's line for a run the server's shutdown cut short. */
export const SHUTDOWN_LINE = 'server shut down: it stopped the run early; these statistics cover every attempt it sent';

/** Multi-line human summary; the average is the headline. */
export function formatSummary(s: Summary, ctx: SummaryContext, st: Style = PLAIN): string {
  const lines: string[] = [];
  const planned = ctx.requested > 0 ? ` of ${ctx.requested}` : '';
  lines.push(`${st.bold(ctx.endpoint)}: ${s.attempts}${planned} attempts in ${formatMsFixed(s.elapsedMs)}`);
  // First: it qualifies every number below.
  const overload = overloadWarning(s);
  if (overload !== undefined) lines.push(st.red(`  ${overload}`));
  lines.push('');
  lines.push(
    s.responses > 0
      ? `  average latency  ${st.bold(formatMsFixed(s.averageMs))}`
      : `  average latency  ${st.red('- (no responses)')}`,
  );
  if (s.responses > 0) {
    const cell = (label: string, v: number | undefined): string => `${label.padEnd(7)}${formatMsFixed(v).padStart(11)}`;
    lines.push(`  ${cell('min', s.minMs)}    ${cell('p50', s.p50Ms)}    ${cell('p90', s.p90Ms)}`);
    lines.push(`  ${cell('p95', s.p95Ms)}    ${cell('p99', s.p99Ms)}    ${cell('max', s.maxMs)}`);
    lines.push(`  ${cell('stddev', s.stddevMs)}`);
    const i = s.intendedLatency;
    // Identical to the lines above unless a start slipped.
    if (i !== undefined && s.scheduleSlips > 0) {
      const from = [`p50 ${formatMsFixed(i.p50Ms)}`, `p90 ${formatMsFixed(i.p90Ms)}`, `p99 ${formatMsFixed(i.p99Ms)}`];
      lines.push(`  from intended start: ${from.join('   ')}   max ${formatMsFixed(i.maxMs)}`);
    }
  }
  if (Object.keys(s.phases).length > 0) lines.push(`  phases (median)  ${formatPhases(s.phases)}`);
  lines.push('');
  const failures = s.failures > 0 ? st.red(String(s.failures)) : String(s.failures);
  const aborted = s.aborted > 0 ? `   aborted ${s.aborted}` : '';
  lines.push(`  successes ${s.successes}   failures ${failures}${aborted}   responses ${s.responses}`);
  if (s.statuses.length > 0) lines.push(`  statuses  ${s.statuses.map((c) => `${c.status}: ${c.count}`).join('   ')}`);
  if (s.errors.length > 0) lines.push(`  errors    ${s.errors.map((c) => `${c.reason}: ${c.count}`).join('   ')}`);
  if (s.histogram.length > 0 || s.histogramOverflow > 0) {
    lines.push('');
    lines.push('  histogram');
    const most = Math.max(1, s.histogramOverflow, ...s.histogram.map((b) => b.count));
    const bar = (n: number): string => '#'.repeat(Math.round((n / most) * BAR_WIDTH)) || (n > 0 ? '.' : '');
    for (const b of s.histogram) {
      lines.push(`    <= ${formatBound(b.upperBoundMs).padEnd(8)} ${String(b.count).padStart(7)}  ${bar(b.count)}`);
    }
    if (s.histogramOverflow > 0) {
      const last = s.histogram.at(-1)?.upperBoundMs ?? 100_000;
      lines.push(
        `    >  ${formatBound(last).padEnd(8)} ${String(s.histogramOverflow).padStart(7)}  ${bar(s.histogramOverflow)}`,
      );
    }
  }
  lines.push('');
  const advice = deadlineAdvice(s, ctx);
  lines.push(
    `  deadline reached  ${s.deadlineReached ? st.red('yes') : 'no'}${advice === undefined ? '' : `: ${advice}`}`,
  );
  if (s.shutdown) lines.push(st.red(`  ${SHUTDOWN_LINE}`));
  if (s.scheduleSlips > 0) lines.push(`  schedule slips    ${s.scheduleSlips}`);
  if (s.backpressureWaitMs > 0) lines.push(`  backpressure wait ${formatMsFixed(s.backpressureWaitMs)}`);
  if (ctx.interrupted === true) lines.push(st.dim('  interrupted: statistics over the attempts received so far'));
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

const nil = <T>(v: T | undefined): T | null => (v === undefined ? null : v);

/**
 * Version of the JSON lines (docs/json.md, docs/json-schema/). New fields may
 * appear within a version; removing, renaming or changing the meaning of one
 * bumps it.
 */
export const JSON_SCHEMA_VERSION = 1;

/** What a summary line says about the run besides the statistics. */
export interface RunInfo {
  /** The URL as given. */
  readonly endpoint: string;
  /** host:port of the prober; undefined = the embedded one. */
  readonly server: string | undefined;
  /** Repetitions requested; 0 = continuous. */
  readonly requested: number;
  /** The call deadline, ms; undefined = none. */
  readonly deadlineMs: number | undefined;
  /** Client wall clock: just before the call, and when its summary was in hand. */
  readonly startedAt: Date;
  readonly endedAt: Date;
  /** The server's summary never arrived: the statistics were folded locally. */
  readonly interrupted: boolean;
  /** The call was a ProbeStream (stream facts mean something). */
  readonly streamed: boolean;
}

/**
 * The one summary line of `probe --json` and `stream --json`. Facts only a
 * stream's server knows (eventsSent, backpressureWaitMs) are null for the
 * unary probe and for a summary folded locally, rather than a misleading 0.
 */
export function summaryLine(s: Summary, run: RunInfo): Record<string, unknown> {
  const streamFacts = run.streamed && !run.interrupted;
  return {
    type: 'summary',
    schema: JSON_SCHEMA_VERSION,
    endpoint: run.endpoint,
    server: run.server ?? 'embedded',
    startedAt: run.startedAt.toISOString(),
    endedAt: run.endedAt.toISOString(),
    interrupted: run.interrupted,
    requested: run.requested,
    deadlineMs: nil(run.deadlineMs),
    ...summaryJson(s),
    backpressureWaitMs: streamFacts ? s.backpressureWaitMs : null,
    eventsSent: streamFacts ? s.eventsSent : null,
  };
}

/** One NDJSON attempt line of `stream --json`. */
export function attemptLine(a: AttemptResult): Record<string, unknown> {
  return { type: 'attempt', schema: JSON_SCHEMA_VERSION, ...attemptJson(a) };
}

/** The Summary as a JSON-ready object with every key present. */
export function summaryJson(s: Summary): Record<string, unknown> {
  return {
    attempts: s.attempts,
    successes: s.successes,
    failures: s.failures,
    aborted: s.aborted,
    responses: s.responses,
    averageMs: nil(s.averageMs),
    minMs: nil(s.minMs),
    maxMs: nil(s.maxMs),
    p50Ms: nil(s.p50Ms),
    p90Ms: nil(s.p90Ms),
    p95Ms: nil(s.p95Ms),
    p99Ms: nil(s.p99Ms),
    stddevMs: nil(s.stddevMs),
    histogram: s.histogram.map((b) => ({ upperBoundMs: b.upperBoundMs, count: b.count })),
    histogramOverflow: s.histogramOverflow,
    statuses: s.statuses.map((c) => ({ status: c.status, count: c.count })),
    errors: s.errors.map((c) => ({ reason: c.reason, count: c.count })),
    scheduleSlips: s.scheduleSlips,
    deadlineReached: s.deadlineReached,
    shutdown: s.shutdown,
    backpressureWaitMs: s.backpressureWaitMs,
    elapsedMs: s.elapsedMs,
    eventsSent: s.eventsSent,
    phases: phasesJson(s.phases),
    intendedLatency: s.intendedLatency === undefined ? null : intendedJson(s.intendedLatency),
    eventLoopDelay: s.eventLoopDelay === undefined ? null : loopDelayJson(s.eventLoopDelay),
  };
}

function intendedJson(i: IntendedLatency): Record<string, number> {
  return {
    samples: i.samples,
    averageMs: i.averageMs,
    p50Ms: i.p50Ms,
    p90Ms: i.p90Ms,
    p95Ms: i.p95Ms,
    p99Ms: i.p99Ms,
    maxMs: i.maxMs,
  };
}

function loopDelayJson(d: EventLoopDelay): Record<string, number | boolean> {
  return { p99Ms: d.p99Ms, maxMs: d.maxMs, overloaded: d.overloaded };
}

/** Phases with every key present (null when the phase did not happen), in PHASES order. */
function phasesJson(p: PhaseTimes): Record<PhaseField, number | null> {
  const out = {} as Record<PhaseField, number | null>;
  for (const ph of PHASES) out[PHASE_FIELD[ph]] = nil(p[PHASE_FIELD[ph]]);
  return out;
}

/** An attempt as a JSON-ready object with every key present. */
export function attemptJson(a: AttemptResult): Record<string, unknown> {
  return {
    seq: a.seq,
    startedAt: new Date(a.startedAt).toISOString(),
    latencyMs: a.latencyMs,
    status: nil(a.status),
    error:
      a.error === undefined
        ? null
        : { reason: a.error.reason, message: a.error.message, temporary: a.error.temporary, code: nil(a.error.code) },
    phases: phasesJson(a.phases),
    bodyBytes: a.bodyBytes,
    httpVersion: nil(a.httpVersion),
    remoteAddress: nil(a.remoteAddress),
    ipFamily: nil(a.ipFamily),
    reused: a.reused,
    proxied: a.proxied === true,
    scheduleDelayMs: nil(a.scheduleDelayMs),
    tls:
      a.tls === undefined
        ? null
        : {
            version: a.tls.version,
            cipher: a.tls.cipher,
            alpnProtocol: nil(a.tls.alpnProtocol),
            sessionResumed: a.tls.sessionResumed,
            earliestCertExpiry: nil(a.tls.earliestCertExpiry),
          },
    hops: (a.hops ?? []).map((h) => ({
      url: h.url,
      status: h.status,
      location: h.location,
      latencyMs: h.latencyMs,
      phases: phasesJson(h.phases),
      remoteAddress: nil(h.remoteAddress),
    })),
  };
}
