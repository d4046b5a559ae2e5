// gRPC server interceptor: go-grpc-prometheus style metrics and one structured
// log line per RPC (method, peer, status code, duration, attempts). What the
// Prober call was about (endpoint, attempts) comes from the service's
// CallRecord, not from re-reading the messages.
import {
  ResponderBuilder,
  ServerInterceptingCall,
  ServerListenerBuilder,
  status as Status,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { redactEndpoint, type GrpcLabels, type GrpcServerMetrics } from './metrics.js';
import { peekCallRecord } from './observer.js';
import { MAX_LOG_FIELD_CHARS, boundText } from './bound.js';

/** go-grpc-prometheus `grpc_code` values (Go's codes.Code.String()). */
export const GRPC_CODE_NAMES: readonly string[] = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];

export function grpcCodeName(code: number): string {
  return GRPC_CODE_NAMES[code] ?? 'Unknown';
}

/** "/pkg.Service/Method" -> service and method. */
export function splitMethodPath(path: string): { service: string; method: string } {
  const m = /^\/([^/]+)\/([^/]+)$/.exec(path);
  return m ? { service: m[1]!, method: m[2]! } : { service: 'unknown', method: path };
}

export function grpcType(d: { requestStream: boolean; responseStream: boolean }): GrpcLabels['grpc_type'] {
  if (d.requestStream) return d.responseStream ? 'bidi_stream' : 'client_stream';
  return d.responseStream ? 'server_stream' : 'unary';
}

// A cancel while the server shuts down: its forceShutdown at the end of the
// grace, or (rarely) the client leaving meanwhile; either way not a client fault.
export const CANCELLED_BY_SHUTDOWN = 'Cancelled during server shutdown';

// Errors on the server's side, worth a warning; the rest are the caller's.
const SERVER_FAULTS = new Set<number>([Status.UNKNOWN, Status.INTERNAL, Status.UNAVAILABLE, Status.DATA_LOSS]);

// Health checks and reflection are operator noise: logged at debug.
const QUIET_SERVICES = new Set([
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
]);

export interface InterceptorOptions {
  readonly metrics?: GrpcServerMetrics;
  readonly logger?: Logger;
  /** True once the server began shutting down: its own cancels are not the client's. */
  readonly shuttingDown?: () => boolean;
}

export function createServerInterceptor(options: InterceptorOptions): ServerInterceptor {
  const { metrics, logger, shuttingDown = () => false } = options;
  return (descriptor, call) => {
    const { service, method } = splitMethodPath(descriptor.path);
    const labels: GrpcLabels = { grpc_service: service, grpc_method: method, grpc_type: grpcType(descriptor) };
    const start = performance.now();
    let sent = 0;
    // The request's metadata is the key of the CallRecord the service fills.
    let metadata: object | undefined;
    let finished = false;
    metrics?.started(labels);

    const finish = (code: number, details: string | undefined): void => {
      if (finished) return;
      finished = true;
      const seconds = (performance.now() - start) / 1000;
      const codeName = grpcCodeName(code);
      metrics?.handled(labels, codeName, seconds);
      if (!logger) return;
      const line: Record<string, unknown> = {
        method: descriptor.path,
        peer: call.getPeer(),
        code: codeName,
        grpc_code: code,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
      };
      const record = metadata === undefined ? undefined : peekCallRecord(metadata);
      if (record?.caller !== undefined) line.token = record.caller;
      // Cut by the server's shutdown (summary sent, then UNAVAILABLE), or cancelled while it shut down.
      const shutdown = record?.shutdown === true || details === CANCELLED_BY_SHUTDOWN;
      if (shutdown) line.shutdown = true;
      if (service === 'prober.v1.Prober') {
        line.attempts = record?.attempts ?? 0;
        if (record?.endpoint !== undefined)
          line.endpoint = boundText(redactEndpoint(record.endpoint), MAX_LOG_FIELD_CHARS);
        if (labels.grpc_type !== 'unary') line.msgs_sent = sent;
      }
      if (code !== Status.OK && details) line.details = boundText(details, MAX_LOG_FIELD_CHARS);
      const fault = SERVER_FAULTS.has(code) && !shutdown;
      const level = fault ? 'warn' : QUIET_SERVICES.has(service) ? 'debug' : 'info';
      logger[level](line, 'rpc');
    };

    const listener = new ServerListenerBuilder()
      .withOnReceiveMetadata((md, next) => {
        metadata = md;
        next(md);
      })
      .withOnReceiveMessage((message: unknown, next) => {
        metrics?.msgReceived(labels);
        next(message);
      })
      .withOnCancel(() => {
        // grpc-js ends expired calls itself, bypassing sendStatus below.
        const deadline = call.getDeadline();
        const ms = deadline instanceof Date ? deadline.getTime() : deadline;
        const expired = Number.isFinite(ms) && Date.now() >= ms;
        const byServer = !expired && shuttingDown();
        finish(
          expired ? Status.DEADLINE_EXCEEDED : Status.CANCELLED,
          expired ? 'Deadline exceeded' : byServer ? CANCELLED_BY_SHUTDOWN : 'Cancelled by client',
        );
      })
      .build();

    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMessage((message: unknown, next) => {
        sent++;
        metrics?.msgSent(labels);
        next(message);
      })
      .withSendStatus((status, next) => {
        finish(status.code, status.details);
        next(status);
      })
      .build();

    return new ServerInterceptingCall(call, responder);
  };
}
