// Shared option parsing for the commands that probe (probe, stream, watch).
// Parsers throw commander's InvalidArgumentError, so a bad value is reported
// as "option '--timeout <duration>' argument 'x' is invalid. ..." (the flag
// is named) and run() turns it into exit code 2.
import { InvalidArgumentError, type Command, type OptionValues } from '@commander-js/extra-typings';
import { connect, type ProberConnection, type ProberRpcError } from '../client/index.js';
import type { HttpMethod, ProbeInput, StatusRange } from '../probe/types.js';
import type { EmbeddedOptions } from './embedded.js';

/** Process exit codes of every command. */
export const EXIT = Object.freeze({
  /** All requested attempts ran and succeeded (serve: clean shutdown). */
  OK: 0,
  /** Some attempt failed, or the deadline (or Ctrl-C) cut the run short. */
  PROBE_FAILED: 1,
  /** Bad flags, or the server said INVALID_ARGUMENT. */
  USAGE: 2,
  /** Any other RPC or runtime error (server unavailable, could not listen, ...). */
  RPC: 3,
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Default call deadline for a finite run. 30 s rather than the 1 s of the
 * original exercise: it leaves room for several attempts at the default 5 s
 * per-attempt timeout, while still bounding a run against a dead target.
 */
export const DEFAULT_DEADLINE_MS = 30_000;
export const DEFAULT_REPETITIONS = 10;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** google.protobuf.Duration's range (about 10000 years): longer cannot go on the wire. */
const MAX_DURATION_MS = 315_576_000_000 * 1000;
/** repetitions and concurrency are uint32 on the wire. */
const MAX_COUNT = 4_294_967_295;

/**
 * '200ms' | '1.5s' | '2m' | '1h' | '500' (bare number = milliseconds) -> ms.
 * Rejects negatives, empty strings and anything else.
 */
export function parseDuration(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (m === null) {
    throw new InvalidArgumentError(`expected a duration like 200ms, 1.5s, 2m or 500 (ms), got ${JSON.stringify(value)}`);
  }
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
  if (!(ms <= MAX_DURATION_MS)) {
    throw new InvalidArgumentError(`duration ${JSON.stringify(value)} is too large (at most ${MAX_DURATION_MS / 3_600_000}h)`);
  }
  return ms;
}

/**
 * Largest call deadline: grpc-js servers read a longer grpc-timeout modulo
 * 2^32 ms (setTimeout's range), ending the call at once or hours early.
 */
const MAX_DEADLINE_MS = 596 * 3_600_000;

/** --deadline: a duration of at most 596h (~24.8 days); 0 = none. */
export function parseDeadline(value: string): number {
  const ms = parseDuration(value);
  if (ms > MAX_DEADLINE_MS) {
    throw new InvalidArgumentError(`deadline ${JSON.stringify(value)} is too large (at most 596h; 0 = none)`);
  }
  return ms;
}

/** A non-negative integer (no sign, no decimals). */
export function parseCount(value: string): number {
  if (!/^\s*\d+\s*$/.test(value)) {
    throw new InvalidArgumentError(`expected a whole number >= 0, got ${JSON.stringify(value)}`);
  }
  const n = Number(value);
  if (n > MAX_COUNT) throw new InvalidArgumentError(`${value.trim()} is too large (at most ${MAX_COUNT})`);
  return n;
}

/** A positive integer. */
export function parsePositive(value: string): number {
  const n = parseCount(value);
  if (n === 0) throw new InvalidArgumentError('expected a whole number >= 1, got 0');
  return n;
}

/** 'get' | 'GET' | 'head' | 'HEAD'. */
export function parseMethod(value: string): HttpMethod {
  const v = value.trim().toUpperCase();
  if (v === 'GET' || v === 'HEAD') return v;
  throw new InvalidArgumentError(`expected GET or HEAD, got ${JSON.stringify(value)}`);
}

/**
 * Accepted statuses: comma-separated codes, ranges and classes, e.g.
 * '200-299,404' or '2xx,3xx'. Each code 100..599, ranges min <= max.
 */
export function parseStatusRanges(value: string): StatusRange[] {
  const out: StatusRange[] = [];
  for (const raw of value.split(',')) {
    const part = raw.trim();
    let min: number;
    let max: number;
    let m: RegExpExecArray | null;
    if ((m = /^([1-5])xx$/i.exec(part)) !== null) {
      min = Number(m[1]) * 100;
      max = min + 99;
    } else if ((m = /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(part)) !== null) {
      min = Number(m[1]);
      max = m[2] === undefined ? min : Number(m[2]);
    } else {
      throw new InvalidArgumentError(
        `expected status codes or ranges like 200-299,404 or 2xx, got ${JSON.stringify(part === '' ? value : part)}`,
      );
    }
    if (min < 100 || max > 599) throw new InvalidArgumentError(`status codes must be 100..599, got ${part}`);
    if (min > max) throw new InvalidArgumentError(`range ${part} has min > max`);
    out.push({ min, max });
  }
  return out;
}

/** 'host:port' or '[v6]:port' of a prober server. */
export function parseServerAddress(value: string): string {
  const v = value.trim();
  const m = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]/]+):(\d+)$/.exec(v);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw new InvalidArgumentError(`expected host:port (port 1..65535), got ${JSON.stringify(value)}`);
  }
  return v;
}

/** The options addProbeOptions() adds, as parsed. */
export interface ProbeOptions {
  readonly repetitions: number;
  /** Call deadline in ms; 0 = none; unset = DEFAULT_DEADLINE_MS for finite runs, none for continuous. */
  readonly deadline?: number | undefined;
  /** Per-attempt timeout; unset = the server's default (5 s). */
  readonly timeout?: number | undefined;
  readonly concurrency: number;
  readonly interval: number;
  readonly reuse?: boolean | undefined;
  readonly method: HttpMethod;
  readonly expect?: StatusRange[] | undefined;
  /** host:port of a running prober; unset = an embedded in-process one. */
  readonly server?: string | undefined;
}

export interface ProbeOptionDefaults {
  /** Default of -n (10). Pass 0 for commands that run until stopped. */
  readonly repetitions?: number;
}

/**
 * Adds the probe flags to a command (probe, stream, watch): -n, --deadline,
 * --timeout, -c/--concurrency, -i/--interval, --reuse, -X/--method, --expect.
 * Each command adds its own -s/--server (one, or repeatable for watch). Turn
 * the parsed result into a request with toProbeInput().
 */
export function addProbeOptions<A extends unknown[], O extends OptionValues>(
  cmd: Command<A, O>,
  defaults: ProbeOptionDefaults = {},
) {
  return cmd
    .option(
      '-n, --repetitions <count>',
      'attempts to make; 0 = until stopped (streaming commands only)',
      parseCount,
      defaults.repetitions ?? DEFAULT_REPETITIONS,
    )
    .option(
      '--deadline <duration>',
      `deadline for the whole run, e.g. 30s; 0 = none (default: ${DEFAULT_DEADLINE_MS / 1000}s, none when -n 0)`,
      parseDeadline,
    )
    .option('--timeout <duration>', 'per-attempt timeout, DNS to last body byte (default: server default, 5s)', parseDuration)
    .option('-c, --concurrency <n>', 'attempts in flight at once', parsePositive, 1)
    .option('-i, --interval <duration>', 'time between attempt starts; 0 = back to back', parseDuration, 0)
    .option('--reuse', 'reuse kept-alive connections (default: a fresh connection per attempt)')
    .option('-X, --method <method>', 'GET or HEAD', parseMethod, 'GET' as HttpMethod)
    .option('--expect <statuses>', 'statuses that count as success, e.g. 200-299,404 or 2xx (default: 200-399)', parseStatusRanges);
}

export const SERVER_HELP = 'prober server to use (default: an embedded in-process one)';

/** Parser for a repeatable -s/--server: accumulates validated addresses. */
export function collectServer(value: string, previous: readonly string[] | undefined): string[] {
  return [...(previous ?? []), parseServerAddress(value)];
}

/** Parsed flags -> the request the server validates. */
export function toProbeInput(url: string, opts: ProbeOptions): ProbeInput {
  return {
    endpoint: url,
    repetitions: opts.repetitions,
    timeoutMs: opts.timeout,
    intervalMs: opts.interval,
    concurrency: opts.concurrency,
    reuseConnections: opts.reuse === true,
    expectedStatus: opts.expect,
    method: opts.method,
  };
}

/** The call deadline (ms from now) these options ask for; undefined = none. */
export function callDeadlineMs(opts: Pick<ProbeOptions, 'deadline' | 'repetitions'>): number | undefined {
  if (opts.deadline !== undefined) return opts.deadline === 0 ? undefined : opts.deadline;
  return opts.repetitions === 0 ? undefined : DEFAULT_DEADLINE_MS;
}

// Field names in the server's INVALID_ARGUMENT messages -> the flag to fix.
const FIELD_FLAGS: Readonly<Record<string, string>> = {
  endpoint: 'URL',
  repetitions: '-n/--repetitions',
  timeout: '--timeout',
  interval: '--interval',
  concurrency: '--concurrency',
  reuse_connections: '--reuse',
  expected_status: '--expect',
  method: '--method',
};

/**
 * Exit code for an RPC failure: INVALID_ARGUMENT is a usage error;
 * DEADLINE_EXCEEDED is the deadline cutting the run short (the server
 * normally answers before it, with deadline_reached set); the rest are 3.
 */
export function exitCodeFor(err: ProberRpcError): ExitCode {
  if (err.codeName === 'INVALID_ARGUMENT') return EXIT.USAGE;
  if (err.codeName === 'DEADLINE_EXCEEDED') return EXIT.PROBE_FAILED;
  return EXIT.RPC;
}

/** One-line message for an RPC failure, naming the flag when the server named a field. */
export function describeRpcError(err: ProberRpcError, server: string | undefined): string {
  if (err.codeName === 'INVALID_ARGUMENT') {
    const field = /^([a-z_]+)\b/.exec(err.details)?.[1];
    const flag = field === undefined ? undefined : FIELD_FLAGS[field];
    return `invalid argument: ${err.details}${flag === undefined ? '' : ` (${flag})`}`;
  }
  const where = server === undefined ? 'the embedded prober' : `prober at ${server}`;
  // grpc-js may end UNAVAILABLE details with an empty "Resolution note:".
  const details = err.details.replace(/\s*Resolution note:\s*$/, '').trim();
  const hint = err.codeName === 'DEADLINE_EXCEEDED' ? ' (the call outlived --deadline)' : '';
  return `${where}: ${err.codeName}: ${details}${hint}`;
}

/**
 * Runs `fn` against a prober: the one at `server` (host:port), or, when
 * undefined, an embedded server started on 127.0.0.1:0 for the duration of
 * the call, so one command does the whole job. Always closes what it opened.
 */
export async function withProber<T>(
  server: string | undefined,
  fn: (conn: ProberConnection) => Promise<T>,
  embedded: EmbeddedOptions = {},
): Promise<T> {
  if (server !== undefined) {
    const conn = connect(server);
    try {
      return await fn(conn);
    } finally {
      conn.close();
    }
  }
  const { startEmbedded } = await import('./embedded.js');
  const prober = await startEmbedded(embedded);
  const conn = connect(prober.address);
  try {
    return await fn(conn);
  } finally {
    conn.close();
    await prober.close();
  }
}
