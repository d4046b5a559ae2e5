// Validation error and classification of request failures into ErrorReason.
// Small named predicates, as cloudprober does, so each rule is easy to audit.
// Every AttemptError is made here, by attemptError().
import { isIP } from 'node:net';
import type { AttemptError, ErrorReason, StatusRange } from './types.js';

/** A ProbeInput field is out of range. `field` is the proto field name. */
export class InvalidArgumentError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
    this.field = field;
  }
}

export function isInvalidArgumentError(err: unknown): err is InvalidArgumentError {
  return err instanceof InvalidArgumentError;
}

interface SystemErrorLike {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
}

export function errorCode(err: unknown): string | undefined {
  const code = (err as SystemErrorLike | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/** One line: OpenSSL's messages end in (or contain) newlines, which would split per-attempt output lines. */
function errorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
}

// getaddrinfo (EAI_*) and c-ares (dns.resolve*) codes.
const DNS_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME',
  'EAI_NODATA',
  'EAI_ADDRFAMILY',
  'ENODATA',
  'ESERVFAIL',
  'EFORMERR',
  'ENOTIMP',
  'EREFUSED',
  'EBADNAME',
  'EBADRESP',
  'ETIMEOUT',
  'ENONAME',
]);
const TEMPORARY_DNS_CODES = new Set(['EAI_AGAIN', 'ESERVFAIL', 'ETIMEOUT']);

/** Name resolution failed. `syscall` distinguishes a resolver's ECONNREFUSED from TCP's. */
export function isDnsError(err: unknown): boolean {
  const syscall = (err as SystemErrorLike | null)?.syscall;
  if (syscall === 'getaddrinfo' || (typeof syscall === 'string' && syscall.startsWith('query'))) {
    return true;
  }
  const code = errorCode(err);
  return code !== undefined && DNS_CODES.has(code);
}

export function isRefused(err: unknown): boolean {
  return errorCode(err) === 'ECONNREFUSED';
}

export function isConnectTimeout(err: unknown): boolean {
  return errorCode(err) === 'ETIMEDOUT';
}

export function isUnreachable(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN';
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'HOSTNAME_MISMATCH',
  // The rest of OpenSSL's verify errors as Node names them (CERT_* are matched by prefix).
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CRL_SIGNATURE_FAILURE',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
]);

/** The chain does not lead to a trusted root: the fix is a CA to trust (tls_ca_pem) or tls_insecure. */
const UNTRUSTED_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** Handshake or certificate failure (EPROTO counts only before the handshake finished). */
export function isTlsError(err: unknown, handshakeDone = false): boolean {
  const code = errorCode(err);
  if (code !== undefined) {
    if (TLS_CODES.has(code)) return true;
    if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.startsWith('CERT_')) return true;
    if (code === 'EPROTO' && !handshakeDone) return true;
  }
  return isTlsDisconnect(err);
}

/** The peer closed the connection mid-handshake (Node reports it as ECONNRESET). */
export function isTlsDisconnect(err: unknown): boolean {
  return /before secure TLS connection was established/i.test(errorMessage(err));
}

export function isResetError(err: unknown): boolean {
  const code = errorCode(err);
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ECONNABORTED') return true;
  return /socket hang up|^aborted$/i.test(errorMessage(err));
}

/** llhttp parse errors: the peer did not speak HTTP/1.x. */
export function isProtocolError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && (code.startsWith('HPE_') || code === 'ERR_HTTP_INVALID_HEADER_VALUE');
}

/** How far the attempt got when it failed; some codes mean different things per stage. */
export interface FailureContext {
  /** TCP connection established (or a kept-alive one reused). */
  readonly connected: boolean;
  /** TLS handshake finished (always false for http://). */
  readonly secured: boolean;
}

/** The one factory: `code` is left out, not undefined, when there is none. */
export function attemptError(reason: ErrorReason, message: string, temporary: boolean, code?: string): AttemptError {
  return code === undefined ? { reason, message, temporary } : { reason, message, temporary, code };
}

/** The target policy refused the resolved address (policy.ts's PolicyDeniedError, known by its code). */
export function isPolicyDenied(err: unknown): boolean {
  return errorCode(err) === 'PROBER_ERR_POLICY_DENIED';
}

/** Map a request/response error to an AttemptError. */
export function classifyError(err: unknown, ctx: FailureContext): AttemptError {
  const code = errorCode(err);
  const msg = errorMessage(err);
  // Before DNS: the denial arrives through the resolver hook.
  if (isPolicyDenied(err)) return attemptError('POLICY_DENIED', msg, false, code);
  if (code === 'PROBER_ERR_PROXY_REFUSED') {
    const status = (err as { status?: unknown }).status;
    return attemptError('PROXY_REFUSED', msg, typeof status === 'number' && isTemporaryStatus(status));
  }
  if (!ctx.connected && isDnsError(err)) {
    return attemptError('DNS', `DNS lookup failed: ${msg}`, code !== undefined && TEMPORARY_DNS_CODES.has(code), code);
  }
  if (isRefused(err)) return attemptError('CONNECT_REFUSED', `connection refused: ${msg}`, true, code);
  if (isUnreachable(err)) return attemptError('UNREACHABLE', `no route to host: ${msg}`, true, code);
  if (isConnectTimeout(err)) {
    return ctx.connected
      ? attemptError('TIMEOUT', `connection timed out: ${msg}`, true, code)
      : attemptError('CONNECT_TIMEOUT', `TCP connect timed out: ${msg}`, true, code);
  }
  if (!ctx.secured && isTlsDisconnect(err)) {
    return attemptError('TLS', `TLS handshake failed: ${msg}`, true, code);
  }
  if (isTlsError(err, ctx.secured)) {
    const what = code !== undefined && UNTRUSTED_CODES.has(code) ? 'certificate not trusted: ' : '';
    return attemptError('TLS', `TLS handshake failed: ${what}${msg}`, false, code);
  }
  if (isProtocolError(err)) return attemptError('PROTOCOL', `invalid HTTP response: ${msg}`, false, code);
  if (isResetError(err)) {
    return attemptError('RESET', `connection closed before the response completed: ${msg}`, true, code ?? 'ECONNRESET');
  }
  return attemptError('OTHER', msg === '' ? 'unknown error' : msg, false, code);
}

/** Whether a non-expected status is worth retrying. */
export function isTemporaryStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** How far an attempt got when its timer fired. */
export interface TimeoutContext extends FailureContext {
  /** The resolver answered (its 'lookup' event was seen). */
  readonly lookedUp: boolean;
  /** Response headers arrived. */
  readonly responded: boolean;
  readonly bodyBytes: number;
  /** Connected to a proxy, its CONNECT reply not yet in. */
  readonly tunnelling?: boolean;
}

/** The timer that fired (AttemptOptions fits as is). */
export interface TimeoutLimit {
  readonly timeoutMs: number;
  /** The timeout is the caller's deadline, not the probe's own: ABORTED, not TIMEOUT. */
  readonly timeoutIsDeadline?: boolean;
}

function ms(n: number): string {
  return `${Math.round(n * 10) / 10} ms`;
}

/** An IP literal ("[::1]" as URL.hostname gives it, too) is never resolved. */
export function needsLookup(hostname: string): boolean {
  return isIP(hostname.replace(/^\[|\]$/g, '')) === 0;
}

/**
 * One timer covers the whole attempt. If it fires while the host name is still
 * being resolved the reason is DNS (the resolver is what hung); before the TCP
 * connection is up it is CONNECT_TIMEOUT; after that (TLS handshake, waiting
 * for headers, reading the body) it is TIMEOUT.
 */
export function classifyTimeout(ctx: TimeoutContext, url: URL, limit: TimeoutLimit): AttemptError {
  const within = ms(limit.timeoutMs);
  if (limit.timeoutIsDeadline === true) {
    return attemptError('ABORTED', `attempt aborted after ${within}: the call's deadline arrived`, true);
  }
  if (!ctx.connected) {
    return !ctx.lookedUp && needsLookup(url.hostname)
      ? attemptError('DNS', `DNS lookup of ${url.hostname} did not finish within ${within}`, true, 'ETIMEOUT')
      : attemptError(
          'CONNECT_TIMEOUT',
          `TCP connect to ${url.host} did not finish within ${within}`,
          true,
          'ETIMEDOUT',
        );
  }
  return attemptError('TIMEOUT', `timed out after ${within} ${timeoutStage(ctx)}`, true, 'ETIMEDOUT');
}

function timeoutStage(ctx: TimeoutContext): string {
  if (ctx.tunnelling === true) return "waiting for the proxy's CONNECT reply";
  if (!ctx.secured) return 'during the TLS handshake';
  if (!ctx.responded) return 'waiting for response headers';
  return `reading the body (${ctx.bodyBytes} bytes so far)`;
}

/** The caller's signal fired; `started` is false when it had fired before anything was sent. */
export function abortError(started: boolean): AttemptError {
  return started
    ? attemptError('ABORTED', 'attempt aborted: the call was cancelled', true)
    : attemptError('ABORTED', 'attempt aborted before it started: the call was cancelled', true);
}

/**
 * The connection closed and no error event said why. `stage` is 'response'
 * before the response arrived, 'body' once it had.
 */
export function resetError(stage: 'response' | 'body'): AttemptError {
  return stage === 'response'
    ? attemptError('RESET', 'connection closed before the response completed', true, 'ECONNRESET')
    : attemptError('RESET', 'connection closed before the body was complete', true, 'ECONNRESET');
}

function rangesText(expected: readonly StatusRange[]): string {
  return expected.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(', ');
}

/** A status outside `expected` (validate.ts's statusExpected decides that). */
export function badStatusError(status: number, expected: readonly StatusRange[]): AttemptError {
  const message = `status ${status} is not in the expected ${rangesText(expected)}`;
  return attemptError('BAD_STATUS', message, isTemporaryStatus(status));
}

/** A declared content-length over the cap fails before any byte is read; HEAD has no body to read. */
export function declaredLengthError(
  method: string,
  contentLength: string | undefined,
  maxBodyBytes: number,
): AttemptError | undefined {
  if (method === 'HEAD') return undefined;
  const declared = Number(contentLength);
  if (!Number.isFinite(declared) || declared <= maxBodyBytes) return undefined;
  return bodyTooLarge(`of ${declared} bytes (content-length)`, maxBodyBytes);
}

/** The body read so far is over the cap. */
export function bodyLengthError(bytesRead: number, maxBodyBytes: number): AttemptError | undefined {
  return bytesRead > maxBodyBytes ? bodyTooLarge(`(over ${bytesRead} bytes read)`, maxBodyBytes) : undefined;
}

function bodyTooLarge(got: string, maxBodyBytes: number): AttemptError {
  return attemptError('BODY_TOO_LARGE', `response body ${got} exceeds the limit of ${maxBodyBytes} bytes`, false);
}

function showPattern(source: string): string {
  return `/${source.length > 100 ? `${source.slice(0, 100)}...` : source}/`;
}

/** An expect_body pattern did not match the body, or a fail_if_body one did. */
export function bodyMismatchError(check: 'expect_body' | 'fail_if_body', source: string): AttemptError {
  const message =
    check === 'expect_body'
      ? `body does not match expect_body ${showPattern(source)}`
      : `body matches fail_if_body ${showPattern(source)}`;
  return attemptError('BODY_MISMATCH', message, false);
}

/** A module's fail_if_ssl / fail_if_not_ssl (blackbox's wording). */
export function sslCheckError(overTls: boolean): AttemptError {
  return attemptError(
    'SSL_CHECK',
    overTls ? 'fail_if_ssl: final request was over SSL' : 'fail_if_not_ssl: final request was not over SSL',
    false,
  );
}

/** An expect_header pattern matched no value of the header; `present` false: the header was missing. */
export function headerMismatchError(name: string, source: string, present: boolean): AttemptError {
  const message = present
    ? `header ${name} does not match ${showPattern(source)}`
    : `header ${name} is missing (expected ${showPattern(source)})`;
  return attemptError('HEADER_MISMATCH', message, false);
}

/** A fail_if_header pattern matched a value of the header; `present` false: the header was missing (no allow_missing). */
export function headerMatchError(name: string, source: string, present: boolean): AttemptError {
  const message = present
    ? `header ${name} matches fail_if_header ${showPattern(source)}`
    : `header ${name} is missing (fail_if_header ${showPattern(source)} requires it unless allow_missing)`;
  return attemptError('HEADER_MISMATCH', message, false);
}

/** More redirects than max_redirects: the last 3xx is the attempt's response. */
export function tooManyRedirectsError(max: number): AttemptError {
  return attemptError('TOO_MANY_REDIRECTS', `stopped after ${max} redirects (max_redirects ${max})`, false);
}

/** A Location named a URL this attempt had already requested. `url` is redacted by the caller. */
export function redirectLoopError(url: string, hops: number): AttemptError {
  return attemptError('REDIRECT_LOOP', `redirect loop: ${url} was already requested (after ${hops} redirects)`, false);
}

/** A redirect whose Location is not an http(s) URL. */
export function badLocationError(detail: string): AttemptError {
  return attemptError('PROTOCOL', `cannot follow the redirect: ${detail}`, false);
}

// nghttp2 error codes that mean the peer broke the protocol (the rest of a reset is RESET: a retry may work).
const H2_PROTOCOL_CODES =
  /NGHTTP2_(PROTOCOL_ERROR|FRAME_SIZE_ERROR|COMPRESSION_ERROR|FLOW_CONTROL_ERROR|HTTP_1_1_REQUIRED)/;

/**
 * An HTTP/2 failure (h2.ts): a stream reset (RST_STREAM) or a GOAWAY is
 * RESET unless its code says the peer broke the protocol; any other
 * ERR_HTTP2_* (a bad frame, an h2c preface answered in HTTP/1.1) is
 * PROTOCOL; socket-level errors are classified as for HTTP/1.1.
 */
export function classifyH2Error(err: unknown, ctx: FailureContext): AttemptError {
  const code = errorCode(err);
  if (code === undefined || !code.startsWith('ERR_HTTP2_')) return classifyError(err, ctx);
  const msg = errorMessage(err);
  const reset =
    code === 'ERR_HTTP2_STREAM_ERROR' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_STREAM_CANCEL';
  if (reset && !H2_PROTOCOL_CODES.test(msg)) {
    return attemptError('RESET', `HTTP/2 stream closed before the response completed: ${msg}`, true, code);
  }
  // nghttp2's bare "Protocol error" is what an HTTP/1.1 server answering an h2c preface looks like.
  const hint = code === 'ERR_HTTP2_ERROR' ? ' (does the server speak HTTP/2 on this port?)' : '';
  return attemptError('PROTOCOL', `HTTP/2 protocol error: ${msg}${hint}`, false, code);
}

/** --http2-prior-knowledge over TLS: the server did not pick h2 in ALPN (it may speak only HTTP/1.1). */
export function noH2Error(alpn: string | false | null | undefined): AttemptError {
  const picked = typeof alpn === 'string' && alpn !== '' ? `picked ${alpn}` : 'picked no protocol';
  return attemptError(
    'PROTOCOL',
    `server does not speak HTTP/2: ALPN ${picked} (http_version 2-prior-knowledge allows no fallback to HTTP/1.1)`,
    false,
    'ERR_HTTP2_NOT_NEGOTIATED',
  );
}
