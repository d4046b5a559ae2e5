// ProbeStream's writes for a client that set ProbeRequest.batch_attempts:
// the attempts that reach the service in one turn (the engine thread sends
// its results in batches) go out as one message at the end of that turn
// instead of one message each. One gRPC message costs the server ~25 µs and
// the client ~20 µs of CPU whatever it carries (docs/performance.md).
import type * as grpc from '@grpc/grpc-js';
import type { AttemptResult } from '../probe/types.js';
import { encodeAttemptBatch, encodeAttemptEvent, type ProbeStreamMessage } from '../wire/index.js';

type Writable = Pick<grpc.ServerWritableStream<unknown, ProbeStreamMessage>, 'write'>;

export class BatchWriter {
  private pending: AttemptResult[] = [];
  private flushing: NodeJS.Immediate | undefined;
  /** What the last write() said; reset once the stream drained. */
  private more = true;
  /** Attempts written but not yet handed to the socket (their write callbacks). */
  private unsent = 0;
  private error: unknown;

  constructor(
    private readonly call: Writable,
    /** The server's region for the first message of the stream, then undefined. */
    private readonly first: () => string | undefined,
  ) {}

  /** Queues `a` for the end of this turn; false while the transport asks to wait. */
  attempt(a: AttemptResult): boolean {
    if (this.error !== undefined) throw this.error;
    this.pending.push(a);
    this.flushing ??= setImmediate(this.flushSoon);
    return this.more;
  }

  /** Attempts not yet on the socket: queued here or in grpc-js. */
  queued(): number {
    return this.unsent + this.pending.length;
  }

  drained(): void {
    this.more = true;
  }

  /** Writes what is queued now (before the summary, which must come last); throws what a write threw. */
  flush(): void {
    if (this.flushing !== undefined) clearImmediate(this.flushing);
    this.flushing = undefined;
    if (this.error !== undefined) throw this.error;
    this.write();
  }

  /**
   * The end-of-turn write. An encoding error must not escape a setImmediate
   * (it would end the process): it is kept, and the next attempt() or flush(),
   * inside the service's loop, throws it (INTERNAL, logged).
   */
  private readonly flushSoon = (): void => {
    this.flushing = undefined;
    try {
      this.write();
    } catch (err) {
      this.error = err;
    }
  };

  private write(): void {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    const bytes =
      batch.length === 1
        ? encodeAttemptEvent(batch[0] as AttemptResult, this.first())
        : encodeAttemptBatch(batch, this.first());
    this.unsent += batch.length;
    this.more = this.call.write(bytes, () => {
      this.unsent -= batch.length;
    });
  }

  /** Drops what is queued (the call failed or was cancelled). */
  dispose(): void {
    if (this.flushing !== undefined) clearImmediate(this.flushing);
    this.flushing = undefined;
    this.pending = [];
  }
}
