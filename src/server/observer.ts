// What the service reports as it works. Metrics implement it; tests and the
// embedded server use NOOP_OBSERVER. Keeps the service free of prom-client.
import type { AttemptResult } from '../probe/types.js';

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
}

export const NOOP_OBSERVER: ProbeObserver = {
  attempt() {},
  streamOpened() {},
  streamClosed() {},
  eventSent() {},
  backpressureStarted() {},
  backpressureWait() {},
};
