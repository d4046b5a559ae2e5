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
  /** Time spent waiting for 'drain' after call.write() returned false. */
  backpressureWait(ms: number): void;
}

export const NOOP_OBSERVER: ProbeObserver = {
  attempt() {},
  streamOpened() {},
  streamClosed() {},
  eventSent() {},
  backpressureWait() {},
};
