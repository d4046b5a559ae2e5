// Flag parsers shared by the commands. They throw commander's
// InvalidArgumentError, so a bad value is reported as "option '--timeout
// <duration>' argument 'x' is invalid. ..." (the flag is named) and run()
// turns it into exit code 2. The probe flags are in probe-flags.ts, exit
// codes in outcome.ts, the connection in connection.ts.
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { splitHostPort } from '../common/address.js';
import { HTTP_METHODS, type HttpMethod, type StatusRange } from '../probe/types.js';
import { STATUS_CODE_MAX, STATUS_CODE_MIN } from '../probe/validate.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** google.protobuf.Duration's range (about 10000 years): longer cannot go on the wire. */
const MAX_DURATION_MS = 315_576_000_000 * 1000;
/** repetitions and concurrency are uint32 on the wire. */
const MAX_COUNT = 4_294_967_295;

/**
 * Bare numbers at or above this are surely milliseconds typed without a unit
 * (--timeout 5000 would be 83 minutes): a usage error asks for the unit.
 */
export const BARE_SECONDS_MAX = 1000;

/**
 * '200ms' | '1.5s' | '2m' | '1h' | '5' (a bare number is seconds, as curl's
 * --max-time) -> ms. Rejects negatives, empty strings, a bare number of
 * BARE_SECONDS_MAX or more, and anything else. `flag` names the flag in messages.
 */
export function parseDuration(value: string, flag?: string): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (m === null) {
    throw new InvalidArgumentError(
      `expected a duration like 250ms, 1.5s, 2m or 5 (seconds), got ${JSON.stringify(value)}`,
    );
  }
  const n = Number(m[1]);
  if (m[2] === undefined && n >= BARE_SECONDS_MAX) {
    const what = flag === undefined ? m[1] : `${flag} ${m[1]}`;
    throw new InvalidArgumentError(`${what}: a bare number is seconds; write ${m[1]}ms or ${n / 1000}s`);
  }
  const ms = n * UNIT_MS[m[2] ?? 's']!;
  if (!(ms <= MAX_DURATION_MS)) {
    throw new InvalidArgumentError(
      `duration ${JSON.stringify(value)} is too large (at most ${MAX_DURATION_MS / 3_600_000}h)`,
    );
  }
  return ms;
}

/** A commander parser for the duration flag `flag` (named in its messages). */
export function durationFlag(flag: string): (value: string) => number {
  return (value) => parseDuration(value, flag);
}

/**
 * Largest call deadline: grpc-js servers read a longer grpc-timeout modulo
 * 2^32 ms (setTimeout's range), ending the call at once or hours early.
 */
const MAX_DEADLINE_MS = 596 * 3_600_000;

/** --deadline: a duration of at most 596h (~24.8 days); 0 = none. */
export function parseDeadline(value: string): number {
  const ms = parseDuration(value, '--deadline');
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

/** One of HTTP_METHODS, any case. */
export function parseMethod(value: string): HttpMethod {
  const v = value.trim().toUpperCase();
  const m = HTTP_METHODS.find((x) => x === v);
  if (m !== undefined) return m;
  throw new InvalidArgumentError(`expected ${HTTP_METHODS.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * Accepted statuses: comma-separated codes, ranges and classes, e.g.
 * '200-299,404' or '2xx,3xx'. The flag's syntax only; the code bounds are
 * validation's (STATUS_CODE_MIN..MAX), ranges min <= max.
 */
export function parseStatusRanges(value: string): StatusRange[] {
  const out: StatusRange[] = [];
  for (const raw of value.split(',')) {
    const part = raw.trim();
    let min: number;
    let max: number;
    const cls = /^([1-5])xx$/i.exec(part);
    const range = cls === null ? /^(\d{3})(?:\s*-\s*(\d{3}))?$/.exec(part) : null;
    if (cls !== null) {
      min = Number(cls[1]) * 100;
      max = min + 99;
    } else if (range !== null) {
      min = Number(range[1]);
      max = range[2] === undefined ? min : Number(range[2]);
    } else {
      throw new InvalidArgumentError(
        `expected status codes or ranges like 200-299,404 or 2xx, got ${JSON.stringify(part === '' ? value : part)}`,
      );
    }
    if (min < STATUS_CODE_MIN || max > STATUS_CODE_MAX) {
      throw new InvalidArgumentError(`status codes must be ${STATUS_CODE_MIN}..${STATUS_CODE_MAX}, got ${part}`);
    }
    if (min > max) throw new InvalidArgumentError(`range ${part} has min > max`);
    out.push({ min, max });
  }
  return out;
}

/** 'host:port' or '[v6]:port' of a prober server (a host is required). */
export function parseServerAddress(value: string): string {
  const v = value.trim();
  // gRPC target names for a region of several replicas (docs/clients.md#replicas):
  // dns:///name:port (grpc-js's DNS resolver, round robin) and ipv4:/ipv6: address lists.
  const scheme = /^(dns|ipv4|ipv6):(.*)$/.exec(v);
  if (scheme !== null) {
    const rest = scheme[1] === 'dns' ? scheme[2]!.replace(/^\/\/[^/]*\//, '') : scheme[2]!;
    const parts = scheme[1] === 'dns' ? [rest] : rest.split(',');
    if (parts.every((p) => isHostPort(p))) return v;
    throw new InvalidArgumentError(
      `expected ${scheme[1] === 'dns' ? 'dns:///host:port' : `${scheme[1]}:addr:port[,addr:port...]`}, got ${JSON.stringify(value)}`,
    );
  }
  if (!isHostPort(v)) {
    throw new InvalidArgumentError(
      `expected host:port (port 1..65535), dns:///host:port or ipv4:addr:port,addr:port, got ${JSON.stringify(value)}`,
    );
  }
  return v;
}

function isHostPort(value: string): boolean {
  const hp = splitHostPort(value);
  return hp !== undefined && hp.host !== undefined && hp.port >= 1;
}
