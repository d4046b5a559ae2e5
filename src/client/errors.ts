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
