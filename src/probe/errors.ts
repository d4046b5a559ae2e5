// Validation error and classification of request failures into ErrorReason.
// Small named predicates, as cloudprober does, so each rule is easy to audit.
import type { AttemptError, ErrorReason } from './types.js';

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

function failure(reason: ErrorReason, message: string, temporary: boolean, code?: string): AttemptError {
  return code === undefined ? { reason, message, temporary } : { reason, message, temporary, code };
}

/** Map a request/response error to an AttemptError. */
export function classifyError(err: unknown, ctx: FailureContext): AttemptError {
  const code = errorCode(err);
  const msg = errorMessage(err);
  if (!ctx.connected && isDnsError(err)) {
    return failure('DNS', `DNS lookup failed: ${msg}`, code !== undefined && TEMPORARY_DNS_CODES.has(code), code);
  }
  if (isRefused(err)) return failure('CONNECT_REFUSED', `connection refused: ${msg}`, true, code);
  if (isUnreachable(err)) return failure('UNREACHABLE', `no route to host: ${msg}`, true, code);
  if (isConnectTimeout(err)) {
    return ctx.connected
      ? failure('TIMEOUT', `connection timed out: ${msg}`, true, code)
      : failure('CONNECT_TIMEOUT', `TCP connect timed out: ${msg}`, true, code);
  }
  if (!ctx.secured && isTlsDisconnect(err)) {
    return failure('TLS', `TLS handshake failed: ${msg}`, true, code);
  }
  if (isTlsError(err, ctx.secured)) return failure('TLS', `TLS handshake failed: ${msg}`, false, code);
  if (isProtocolError(err)) return failure('PROTOCOL', `invalid HTTP response: ${msg}`, false, code);
  if (isResetError(err)) {
    return failure('RESET', `connection closed before the response completed: ${msg}`, true, code ?? 'ECONNRESET');
  }
  return failure('OTHER', msg === '' ? 'unknown error' : msg, false, code);
}

/** Whether a non-expected status is worth retrying. */
export function isTemporaryStatus(status: number): boolean {
  return status >= 500 || status === 429;
}
