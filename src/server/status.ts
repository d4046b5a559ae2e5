// The one place domain errors become gRPC statuses. Only a bad request is an
// RPC error; a target that is down, slow or answers 500 is data in the reply.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../probe/errors.js';

/** Where unexpected errors go (pino's `logger.error(obj, msg)` fits). */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

/** Default: one JSON line on stderr, so nothing unexpected goes unseen. */
export const STDERR_LOGGER: ErrorLogger = {
  error(obj, msg) {
    const o = obj as { err?: unknown };
    const err = o.err instanceof Error ? { message: o.err.message, stack: o.err.stack } : o.err;
    process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj, err })}\n`);
  },
};

/** Generic text for INTERNAL: internals (stack, paths) stay in the log. */
export const INTERNAL_DETAILS = 'internal error while probing; see the server log';

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new Metadata() });
}

/**
 * Map an error thrown while handling a call to a gRPC error for the callback
 * or `call.emit('error')`. InvalidArgumentError keeps its message (it names
 * the field); anything else is logged and becomes INTERNAL.
 */
export function toServiceError(err: unknown, log: ErrorLogger = STDERR_LOGGER, rpc = 'rpc'): ServiceError {
  if (err instanceof InvalidArgumentError) return serviceError(status.INVALID_ARGUMENT, err.message);
  log.error({ err, rpc }, 'unexpected error while handling a call');
  return serviceError(status.INTERNAL, INTERNAL_DETAILS);
}
