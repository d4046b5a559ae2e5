// Validate a ProbeInput once, up front, into a ProbeSpec (as undici validates
// request options before dispatch). The one layer that owns defaults and
// ranges; the wire codec and the CLI only map shapes. Errors name the proto
// field and the range.
import { InvalidArgumentError } from './errors.js';
import type { TargetPolicy } from './policy.js';
import { validateHeaderMatches, validateRegexList } from './checks.js';
import { validateBody, validateHeaders } from './request.js';
import { validateIpFamily, validateResolve } from './family.js';
import {
  HTTP_METHODS,
  HTTP_VERSIONS,
  type HttpVersionMode,
  type HttpMethod,
  type ProbeInput,
  type ProbeLimits,
  type ProbeSpec,
  type StatusRange,
} from './types.js';
import { TLS_FIELDS, validateTargetTls } from './tls.js';
import { proxyTargetUrl, validateProxyUrl } from './proxy.js';
import { checkRawUrl } from './raw-url.js';
import { redactUrl } from '../common/redact.js';

/** How callers name a ProbeInput field: in the proto (messages) and on the CLI (hints). */
export interface InputFieldNames {
  readonly proto: string;
  readonly flag: string;
}

export const INPUT_FIELDS = Object.freeze({
  endpoint: { proto: 'endpoint', flag: 'URL' },
  repetitions: { proto: 'repetitions', flag: '-n/--repetitions' },
  timeoutMs: { proto: 'timeout', flag: '--timeout' },
  intervalMs: { proto: 'interval', flag: '--interval' },
  concurrency: { proto: 'concurrency', flag: '--concurrency' },
  reuseConnections: { proto: 'reuse_connections', flag: '--reuse' },
  expectedStatus: { proto: 'expected_status', flag: '--expect' },
  method: { proto: 'method', flag: '--method' },
  headers: { proto: 'headers', flag: '-H/--header' },
  body: { proto: 'body', flag: '-d/--data' },
  expectBody: { proto: 'expect_body', flag: '--expect-body' },
  failIfBody: { proto: 'fail_if_body', flag: '--fail-if-body' },
  expectHeader: { proto: 'expect_header', flag: '--expect-header' },
  failIfHeader: { proto: 'fail_if_header', flag: '--fail-if-header' },
  ...TLS_FIELDS,
  followRedirects: { proto: 'follow_redirects', flag: '-L/--location' },
  maxRedirects: { proto: 'max_redirects', flag: '--max-redirects' },
  ipFamily: { proto: 'ip_family', flag: '-4/-6' },
  resolve: { proto: 'resolve', flag: '--resolve' },
  module: { proto: 'module', flag: '--module' },
  proxyUrl: { proto: 'proxy_url', flag: '--proxy' },
  httpVersion: { proto: 'http_version', flag: '--http2/--http2-prior-knowledge' },
} as const satisfies Record<keyof ProbeInput, InputFieldNames>);

const BY_PROTO: ReadonlyMap<string, InputFieldNames> = new Map(Object.values(INPUT_FIELDS).map((f) => [f.proto, f]));

/** The CLI flag for a proto field name (as InvalidArgumentError.field has it). */
export function flagForField(protoField: string): string | undefined {
  return BY_PROTO.get(protoField)?.flag;
}

/** Valid HTTP status codes, for expected_status (and the CLI's --expect parser). */
export const STATUS_CODE_MIN = 100;
export const STATUS_CODE_MAX = 599;

const F = INPUT_FIELDS;

export const DEFAULT_LIMITS: ProbeLimits = Object.freeze({
  maxRepetitions: 10_000,
  maxConcurrency: 100,
  maxTimeoutMs: 60_000,
  defaultTimeoutMs: 5_000,
  maxIntervalMs: 3_600_000,
  maxBodyBytes: 10 * 1024 * 1024,
  // 8 KiB, as common HTTP servers cap a request line; one 1 MB URL once took /metrics to 22.5 MB.
  maxUrlBytes: 8 * 1024,
  allowContinuous: false,
  // Request headers and body: a probe, not an upload tool.
  maxHeaders: 64,
  maxHeaderBytes: 16 * 1024,
  maxRequestBodyBytes: 1024 * 1024,
});

/**
 * Interval of a continuous run (repetitions 0) that sets none: a prober is
 * polite to someone else's site by default (blackbox/cloudprober users expect
 * about one probe a second). Finite runs default to back to back (0).
 */
export const DEFAULT_CONTINUOUS_INTERVAL_MS = 1_000;

/**
 * Redirects followed when max_redirects is unset: 10, as Go's net/http and so
 * blackbox_exporter (curl's 50 is more than any real login flow needs).
 * MAX_REDIRECTS is the server's cap (Chrome and Firefox stop at 20).
 */
export const DEFAULT_MAX_REDIRECTS = 10;
export const MAX_REDIRECTS = 20;

/** Used when `expected_status` is empty. */
export const DEFAULT_EXPECTED_STATUS: readonly StatusRange[] = Object.freeze([Object.freeze({ min: 200, max: 399 })]);

const METHODS: readonly HttpMethod[] = HTTP_METHODS;

/** Render a bad value for a message: strings quoted and truncated. */
function show(value: unknown): string {
  if (typeof value === 'string') {
    const s = value.length > 200 ? `${value.slice(0, 200)}...` : value;
    return JSON.stringify(s);
  }
  if (typeof value === 'number') return String(value);
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** A URL for a message: its credentials go before the truncation could split them. */
function showUrl(value: unknown): string {
  return show(typeof value === 'string' ? redactUrl(value) : value);
}

function isInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value);
}

/** "a whole number " when the value is a fraction or not a number at all. */
function wholeNote(value: unknown): string {
  return isInt(value) ? '' : 'a whole number ';
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function validateEndpoint(endpoint: unknown, limits: ProbeLimits): URL {
  const bad = (): InvalidArgumentError =>
    new InvalidArgumentError(
      F.endpoint.proto,
      `${F.endpoint.proto} must be an absolute http:// or https:// URL (got ${endpoint === undefined || endpoint === '' ? 'nothing' : showUrl(endpoint)})`,
    );
  if (typeof endpoint !== 'string' || endpoint.trim() === '') throw bad();
  // Before `new URL` can rewrite it.
  checkRawUrl(endpoint, F.endpoint.proto, limits.maxUrlBytes);
  let url: URL;
  try {
    url = new URL(endpoint.trim());
  } catch {
    throw bad();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad();
  if (url.hostname === '') {
    throw new InvalidArgumentError(F.endpoint.proto, `${F.endpoint.proto} must name a host (got ${showUrl(endpoint)})`);
  }
  // WHATWG keeps an explicit :0 (Node would then connect to port 80).
  if (url.port === '0') {
    throw new InvalidArgumentError(F.endpoint.proto, `${F.endpoint.proto} port must be between 1 and 65535 (got 0)`);
  }
  // The fragment is never sent; dropping it keeps the spec canonical.
  url.hash = '';
  return url;
}

function validateRepetitions(value: unknown, limits: ProbeLimits): number {
  const min = limits.allowContinuous ? 0 : 1;
  if (!isInt(value) || value < min || value > limits.maxRepetitions) {
    const note = limits.allowContinuous ? ' (0 = continuous)' : '';
    throw new InvalidArgumentError(
      F.repetitions.proto,
      `${F.repetitions.proto} must be ${wholeNote(value)}between ${min} and ${limits.maxRepetitions}${note} (got ${show(value)})`,
    );
  }
  return value;
}

function validateTimeout(value: unknown, limits: ProbeLimits): number {
  if (value === undefined) return limits.defaultTimeoutMs;
  if (!isFiniteNumber(value) || value <= 0 || value > limits.maxTimeoutMs) {
    throw new InvalidArgumentError(
      F.timeoutMs.proto,
      `${F.timeoutMs.proto} must be greater than 0 ms and at most ${limits.maxTimeoutMs} ms (got ${show(value)})`,
    );
  }
  return value;
}

function validateInterval(value: unknown, repetitions: number, limits: ProbeLimits): number {
  if (value === undefined) return repetitions === 0 ? DEFAULT_CONTINUOUS_INTERVAL_MS : 0;
  if (!isFiniteNumber(value) || value < 0 || value > limits.maxIntervalMs) {
    throw new InvalidArgumentError(
      F.intervalMs.proto,
      `${F.intervalMs.proto} must be between 0 and ${limits.maxIntervalMs} ms (got ${show(value)})`,
    );
  }
  return value;
}

function validateConcurrency(value: unknown, limits: ProbeLimits): number {
  // 0 is the proto default: "unset" too.
  if (value === undefined || value === 0) return 1;
  if (!isInt(value) || value < 1 || value > limits.maxConcurrency) {
    throw new InvalidArgumentError(
      F.concurrency.proto,
      `${F.concurrency.proto} must be ${wholeNote(value)}between 1 and ${limits.maxConcurrency} (0 means 1) (got ${show(value)})`,
    );
  }
  return value;
}

function validateExpectedStatus(value: unknown): readonly StatusRange[] {
  if (value === undefined) return DEFAULT_EXPECTED_STATUS;
  if (!Array.isArray(value)) {
    throw new InvalidArgumentError(
      F.expectedStatus.proto,
      `${F.expectedStatus.proto} must be a list of status ranges (got ${show(value)})`,
    );
  }
  if (value.length === 0) return DEFAULT_EXPECTED_STATUS;
  return Object.freeze(
    value.map((range: unknown, i): StatusRange => {
      const r = (range ?? {}) as { min?: unknown; max?: unknown };
      const field = F.expectedStatus.proto;
      if (!isInt(r.min) || r.min < STATUS_CODE_MIN || r.min > STATUS_CODE_MAX) {
        throw new InvalidArgumentError(
          field,
          `${field}[${i}].min must be ${wholeNote(r.min)}between ${STATUS_CODE_MIN} and ${STATUS_CODE_MAX} (got ${show(r.min)})`,
        );
      }
      // max 0 (the proto default) means "same as min".
      const max = r.max === undefined || r.max === 0 ? r.min : r.max;
      if (!isInt(max) || max < r.min || max > STATUS_CODE_MAX) {
        throw new InvalidArgumentError(
          field,
          `${field}[${i}].max must be ${wholeNote(r.max)}between min (${r.min}) and ${STATUS_CODE_MAX}, or 0 for "same as min" (got ${show(r.max)})`,
        );
      }
      return Object.freeze({ min: r.min, max });
    }),
  );
}

function validateMethod(value: unknown): HttpMethod {
  if (value === undefined) return 'GET';
  if (typeof value === 'string' && (METHODS as readonly string[]).includes(value)) return value as HttpMethod;
  throw new InvalidArgumentError(
    F.method.proto,
    `${F.method.proto} must be one of ${METHODS.join(', ')} (got ${show(value)})`,
  );
}

function validateMaxRedirects(value: unknown, follow: boolean): number {
  const field = F.maxRedirects.proto;
  if (value === undefined) return follow ? DEFAULT_MAX_REDIRECTS : 0;
  if (!isInt(value) || value < 1 || value > MAX_REDIRECTS) {
    throw new InvalidArgumentError(
      field,
      `${field} must be ${wholeNote(value)}between 1 and ${MAX_REDIRECTS} (got ${show(value)})`,
    );
  }
  if (!follow) {
    throw new InvalidArgumentError(field, `${field} is only used with ${F.followRedirects.proto} (set it too)`);
  }
  return value;
}

function validateHttpVersion(value: unknown): Exclude<HttpVersionMode, '1.1'> | undefined {
  if (value === undefined || value === '1.1') return undefined;
  if (value === '2' || value === '2-prior-knowledge') return value;
  const field = F.httpVersion.proto;
  throw new InvalidArgumentError(field, `${field} must be one of ${HTTP_VERSIONS.join(', ')} (got ${show(value)})`);
}

/**
 * Check every field of `input` against `limits` and normalise defaults.
 * Throws InvalidArgumentError naming the first bad field (in proto order).
 * `targetPolicy` rides along in the spec; the engine applies it per connection.
 */
export function validateProbeInput(
  input: ProbeInput,
  limits: ProbeLimits = DEFAULT_LIMITS,
  targetPolicy?: TargetPolicy,
): ProbeSpec {
  if (input === null || typeof input !== 'object') {
    throw new InvalidArgumentError(F.endpoint.proto, 'probe request must be an object with an endpoint');
  }
  const url = validateEndpoint(input.endpoint, limits);
  const repetitions = validateRepetitions(input.repetitions, limits);
  const timeoutMs = validateTimeout(input.timeoutMs, limits);
  const intervalMs = validateInterval(input.intervalMs, repetitions, limits);
  const concurrency = validateConcurrency(input.concurrency, limits);
  const reuseConnections = input.reuseConnections === true;
  const expectedStatus = validateExpectedStatus(input.expectedStatus);
  const method = validateMethod(input.method);
  const headers = validateHeaders(input.headers, F.headers.proto, limits);
  const body = validateBody(input.body, method, F.body.proto, limits);
  const expectBody = validateRegexList(input.expectBody, F.expectBody.proto);
  const failIfBody = validateRegexList(input.failIfBody, F.failIfBody.proto);
  const expectHeader = validateHeaderMatches(input.expectHeader, F.expectHeader.proto);
  const failIfHeader = validateHeaderMatches(input.failIfHeader, F.failIfHeader.proto);
  const tls = validateTargetTls(input);
  const followRedirects = input.followRedirects === true;
  const maxRedirects = validateMaxRedirects(input.maxRedirects, followRedirects);
  // With a proxy the family applies to the connection to it (proto order kept: ip_family is named first).
  const proxyInput = typeof input.proxyUrl === 'string' && input.proxyUrl !== '' ? input.proxyUrl : undefined;
  const ipFamily = validateIpFamily(input.ipFamily, proxyInput === undefined ? url : undefined, F.ipFamily.proto);
  const resolve = validateResolve(input.resolve, F.resolve.proto);
  const proxy = validateProxyUrl(input.proxyUrl, F.proxyUrl.proto, limits.allowProxy === true);
  if (proxy && ipFamily) validateIpFamily(ipFamily, proxyTargetUrl(proxy), F.ipFamily.proto, "proxy's host");
  const httpVersion = validateHttpVersion(input.httpVersion);
  if (proxy && httpVersion) {
    throw new InvalidArgumentError(
      F.proxyUrl.proto,
      'proxy_url cannot be combined with http_version: HTTP/2 through a proxy is not supported yet',
    );
  }
  return Object.freeze({
    url,
    method,
    repetitions,
    timeoutMs,
    intervalMs,
    concurrency,
    reuseConnections,
    expectedStatus,
    maxBodyBytes: limits.maxBodyBytes,
    headers,
    ...(body ? { body } : {}),
    expectBody,
    failIfBody,
    expectHeader,
    failIfHeader,
    followRedirects,
    maxRedirects,
    ...(ipFamily ? { ipFamily } : {}),
    ...(resolve.length > 0 ? { resolve } : {}),
    ...(targetPolicy ? { targetPolicy } : {}),
    ...(tls ? { tls } : {}),
    ...(proxy ? { proxy } : {}),
    ...(httpVersion ? { httpVersion } : {}),
  });
}

/**
 * A request naming a module the caller cannot see (a remote server's
 * --config), made ready for a local check: every cross-field requirement a
 * module's setting could meet is assumed met, so validating the result
 * refuses only what is wrong whatever the module sets (a field the request
 * sets replaces the module's). The server judges the rest with the module
 * applied.
 */
export function assumeModuleCompletes(input: ProbeInput): ProbeInput {
  const out: { -readonly [K in keyof ProbeInput]: ProbeInput[K] } = { ...input };
  // The module may follow redirects (blackbox modules do by default).
  if (out.maxRedirects !== undefined && out.followRedirects === undefined) out.followRedirects = true;
  // The module's method may carry a body.
  if (out.body !== undefined && out.method === undefined) out.method = 'POST';
  // The module may hold the other half of a client certificate: the server checks the pair.
  if ((out.tlsCertPem === undefined) !== (out.tlsKeyPem === undefined)) {
    delete out.tlsCertPem;
    delete out.tlsKeyPem;
  }
  return out;
}

/** Whether `status` falls in one of the ranges. */
export function statusExpected(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.min && status <= r.max);
}
