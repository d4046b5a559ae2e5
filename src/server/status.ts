// The one place domain errors become gRPC statuses. Only a bad request is an
// RPC error; a target that is down, slow or answers 500 is data in the reply.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { InvalidArgumentError } from '../probe/errors.js';
import { isPolicyDeniedError, type PolicyDeniedError } from '../probe/policy.js';
import {
  STATUS_DETAILS_KEY,
  encodeBadRequestStatus,
  encodeErrorInfoStatus,
  encodeRetryInfoStatus,
} from '../wire/index.js';
import { ResourceExhaustedError } from './admission.js';
import { STDERR_LOGGER, type ErrorLogger } from './error-logger.js';

export { STDERR_LOGGER, type ErrorLogger } from './error-logger.js';

/** Generic text for INTERNAL: internals (stack, paths) stay in the log. */
export const INTERNAL_DETAILS = 'internal error while probing; see the server log';

/** How a ProbeStream cut by the server's shutdown ends, after its summary. */
export const SHUTDOWN_DETAILS = 'server shutting down';

/** UNAVAILABLE: what clients retry on another server. */
export function shuttingDownError(): ServiceError {
  return serviceError(status.UNAVAILABLE, SHUTDOWN_DETAILS);
}

function serviceError(code: status, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(details), { code, details, metadata });
}

/** INVALID_ARGUMENT whose field travels as a google.rpc.BadRequest detail, readable by any gRPC client. */
function invalidArgument(err: InvalidArgumentError): ServiceError {
  const metadata = new Metadata();
  const detail = encodeBadRequestStatus(status.INVALID_ARGUMENT, err.message, [
    { field: err.field, description: err.message },
  ]);
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(detail.buffer, detail.byteOffset, detail.byteLength));
  return serviceError(status.INVALID_ARGUMENT, err.message, metadata);
}

/** PERMISSION_DENIED naming the rule; a google.rpc.ErrorInfo detail carries the rule and address for programs. */
function permissionDenied(err: PolicyDeniedError): ServiceError {
  const metadata = new Metadata();
  const detail = encodeErrorInfoStatus(status.PERMISSION_DENIED, err.message, {
    reason: 'POLICY_DENIED',
    domain: 'prober',
    metadata: { rule: err.rule, address: err.address },
  });
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(detail.buffer, detail.byteOffset, detail.byteLength));
  return serviceError(status.PERMISSION_DENIED, err.message, metadata);
}

/** RESOURCE_EXHAUSTED naming the cap; a rate-limit refusal carries a google.rpc.RetryInfo detail. */
function resourceExhausted(err: ResourceExhaustedError): ServiceError {
  const metadata = new Metadata();
  if (err.retryAfterMs !== undefined) {
    const detail = encodeRetryInfoStatus(status.RESOURCE_EXHAUSTED, err.message, err.retryAfterMs);
    metadata.set(STATUS_DETAILS_KEY, Buffer.from(detail.buffer, detail.byteOffset, detail.byteLength));
  }
  return serviceError(status.RESOURCE_EXHAUSTED, err.message, metadata);
}

/**
 * Map an error thrown while handling a call to a gRPC error for the callback
 * or `call.emit('error')`. InvalidArgumentError keeps its message and sends
 * its field as a BadRequest detail; PolicyDeniedError is PERMISSION_DENIED;
 * ResourceExhaustedError (a cap) is RESOURCE_EXHAUSTED; anything else is logged and becomes INTERNAL.
 */
export function toServiceError(err: unknown, log: ErrorLogger = STDERR_LOGGER, rpc = 'rpc'): ServiceError {
  if (err instanceof InvalidArgumentError) return invalidArgument(err);
  if (isPolicyDeniedError(err)) return permissionDenied(err);
  if (err instanceof ResourceExhaustedError) return resourceExhausted(err);
  log.error({ err, rpc }, 'unexpected error while handling a call');
  return serviceError(status.INTERNAL, INTERNAL_DETAILS);
}
