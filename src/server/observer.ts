// What the service reports as it works. Metrics implement it; tests and the
// embedded server use NOOP_OBSERVER. Keeps the service free of prom-client.
import type { AttemptResult } from '../probe/types.js';
import type { Summary } from '../stats/types.js';

export type Rpc = 'Probe' | 'ProbeStream';

export interface ProbeObserver {
  /** Every finished attempt, for both RPCs. `endpoint` is the request URL. */
  attempt(endpoint: string, attempt: AttemptResult): void;
  /** A ProbeStream call started / ended (any outcome). */
  streamOpened(): void;
  streamClosed(): void;
  /** One event (attempt or summary) handed to call.write(). */
  eventSent(): void;
  /** call.write() returned false: the stream starts waiting for 'drain'. */
  backpressureStarted(): void;
  /** The wait that backpressureStarted() began is over, after `ms`. */
  backpressureWait(ms: number): void;
  /** A call's summary, just before it is sent (per-call facts such as the engine's event-loop delay). */
  summary(rpc: Rpc, summary: Summary): void;
}

export const NOOP_OBSERVER: ProbeObserver = {
  attempt() {},
  streamOpened() {},
  streamClosed() {},
  eventSent() {},
  backpressureStarted() {},
  backpressureWait() {},
  summary() {},
};

/**
 * What the service knows about one Prober call, for the per-RPC log line:
 * the service fills it, the interceptor reads it when the status goes out.
 * Keyed by the call's request Metadata, the one object grpc-js hands both
 * the interceptor (onReceiveMetadata) and the handler (call.metadata).
 */
export interface CallRecord {
  /** The request's endpoint as sent; whoever logs it redacts it. */
  endpoint?: string;
  /** Attempts delivered to the caller: the summary's count once there is one. */
  attempts: number;
  /** The server's shutdown cut the call (it stopped launching and sent its summary). */
  shutdown?: boolean;
  /** Which token the call presented (its name or fingerprint, never the token), when tokens are required. */
  caller?: string;
}

const records = new WeakMap<object, CallRecord>();

/** The call's record, opened on first use (a detached one for a call without metadata, e.g. a test double). */
export function callRecord(metadata: object | undefined): CallRecord {
  if (metadata === null || typeof metadata !== 'object') return { attempts: 0 };
  const known = records.get(metadata);
  if (known !== undefined) return known;
  const r: CallRecord = { attempts: 0 };
  records.set(metadata, r);
  return r;
}

/** The call's record if the handler opened one. */
export function peekCallRecord(metadata: object): CallRecord | undefined {
  return records.get(metadata);
}
