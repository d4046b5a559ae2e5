// The client's one error type for every RPC failure. Identity is the numeric
// gRPC status (and, for INVALID_ARGUMENT, the field named by the server's
// google.rpc.BadRequest detail): callers never compare names or parse text.
import { Metadata, status } from '@grpc/grpc-js';
import { decodeStatusDetails, STATUS_DETAILS_KEY } from '../wire/index.js';

/** An RPC that ended with a non-OK status (or could not be sent). */
export class ProberRpcError extends Error {
  /** Numeric gRPC status code. */
  readonly code: status;
  /** Status name, e.g. 'INVALID_ARGUMENT' (for display). */
  readonly codeName: string;
  readonly details: string;
  /** The request field at fault (proto name, e.g. `timeout`), when the server named one. */
  readonly field: string | undefined;

  constructor(code: status, details: string, options?: { cause?: unknown; field?: string | undefined }) {
    const codeName = status[code] ?? `CODE_${code}`;
    super(`${codeName}: ${details}`, options);
    this.name = 'ProberRpcError';
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.field = options?.field;
  }

  isInvalidArgument(): boolean {
    return this.code === status.INVALID_ARGUMENT;
  }

  isDeadlineExceeded(): boolean {
    return this.code === status.DEADLINE_EXCEEDED;
  }

  isCancelled(): boolean {
    return this.code === status.CANCELLED;
  }
}

export function isProberRpcError(err: unknown): err is ProberRpcError {
  return err instanceof ProberRpcError;
}

/** The numeric gRPC status of any gRPC-shaped error (ProberRpcError or grpc-js ServiceError). */
export function rpcStatusOf(err: unknown): status | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && Number.isInteger(code) ? (code as status) : undefined;
}

/** The call's deadline passed (DEADLINE_EXCEEDED). */
export function isDeadlineExceeded(err: unknown): boolean {
  return rpcStatusOf(err) === status.DEADLINE_EXCEEDED;
}

/** First BadRequest field violation in a status trailer, if any. */
function badRequestField(metadata: unknown): string | undefined {
  if (!(metadata instanceof Metadata)) return undefined;
  const raw = metadata.get(STATUS_DETAILS_KEY)[0];
  if (!(raw instanceof Uint8Array)) return undefined;
  const field = decodeStatusDetails(raw)?.fieldViolations[0]?.field;
  return field === '' ? undefined : field;
}

/** Any thrown value -> ProberRpcError, keeping the status and the BadRequest field. */
export function toRpcError(err: unknown): ProberRpcError {
  if (err instanceof ProberRpcError) return err;
  const e = err as { code?: unknown; details?: unknown; message?: unknown; metadata?: unknown } | null;
  const code = rpcStatusOf(err);
  if (e !== null && typeof e === 'object' && code !== undefined) {
    const details = typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : '';
    return new ProberRpcError(code, details, { cause: err, field: badRequestField(e.metadata) });
  }
  return new ProberRpcError(status.INTERNAL, err instanceof Error ? err.message : String(err), { cause: err });
}

// ---- transport failures ----------------------------------------------------
// grpc-js reports a failed TLS handshake as UNAVAILABLE with Node's/OpenSSL's
// text in the details: matching that wording is the only way to tell the
// causes apart. Each cause is one small named predicate here (tested in
// test/client-transport.test.ts); anything unmatched keeps the raw details.

/** Why a connection or call failed at the transport or identity level. */
export type TransportFailure =
  | { readonly kind: 'untrusted'; readonly reason: string }
  | { readonly kind: 'expired' }
  | { readonly kind: 'name-mismatch'; readonly requested: string; readonly certNames: string }
  | { readonly kind: 'client-cert-required' }
  | { readonly kind: 'not-tls' }
  | { readonly kind: 'handshake-closed' }
  | { readonly kind: 'token-rejected'; readonly details: string };

const UNTRUSTED =
  /unable to verify the first certificate|unable to get local issuer certificate|self[- ]signed certificate(?: in certificate chain)?|unable to get issuer certificate/;

/** The server's certificate chain does not lead to a trusted CA. */
export function untrustedCertificate(details: string): string | undefined {
  return UNTRUSTED.exec(details)?.[0];
}

export function isExpiredCertificate(details: string): boolean {
  return /certificate has expired|CERT_HAS_EXPIRED/.test(details);
}

/** Node's ERR_TLS_CERT_ALTNAME_INVALID: the name asked for and the names the certificate has. */
export function nameMismatch(details: string): { requested: string; certNames: string } | undefined {
  const m = /Host: (.+?)\. is not in the cert's altnames: (.+?)(?:\. Resolution note|\.?$)/m.exec(details);
  if (m !== null) return { requested: m[1]!, certNames: m[2]! };
  const ip = /IP: (\S+?) is not in the cert's list: (.+?)(?:\. Resolution note|\.?$)/m.exec(details);
  return ip === null ? undefined : { requested: ip[1]!, certNames: ip[2]! };
}

/** TLS 1.3 alert 116 (certificate_required): mTLS and no client certificate was sent. */
export function isClientCertificateRequired(details: string): boolean {
  return /alert certificate required|SSL alert number 116/.test(details);
}

/** A TLS client met a plaintext server: its first bytes are not a TLS record. */
export function isPlaintextServer(details: string): boolean {
  return /wrong version number|packet length too long|http request/i.test(details);
}

/**
 * The server closed the connection before HTTP/2 settings, with no reason:
 * what a client sees when a TLS server refuses its client certificate (or a
 * plaintext client talks to a TLS server).
 */
export function isHandshakeClosed(details: string): boolean {
  return /Last error: Failed to connect/.test(details);
}

/** The transport or identity cause of `err`, if it is one. */
export function transportFailure(err: ProberRpcError): TransportFailure | undefined {
  if (err.code === status.UNAUTHENTICATED) return { kind: 'token-rejected', details: err.details };
  if (err.code !== status.UNAVAILABLE) return undefined;
  const d = err.details;
  const mismatch = nameMismatch(d);
  if (mismatch !== undefined) return { kind: 'name-mismatch', ...mismatch };
  if (isExpiredCertificate(d)) return { kind: 'expired' };
  const untrusted = untrustedCertificate(d);
  if (untrusted !== undefined) return { kind: 'untrusted', reason: untrusted };
  if (isClientCertificateRequired(d)) return { kind: 'client-cert-required' };
  if (isPlaintextServer(d)) return { kind: 'not-tls' };
  if (isHandshakeClosed(d)) return { kind: 'handshake-closed' };
  return undefined;
}
