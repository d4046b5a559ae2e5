// Typed client over the Prober service: domain types in, domain types out, one
// error type for every RPC failure. Replies are decoded by src/wire's checked
// decoders (event-decode.ts), never by google-protobuf unchecked: a hostile or
// broken server ends the call INTERNAL naming the field, instead of stalling us.
import * as grpc from '@grpc/grpc-js';
import { prober } from '../generated/prober/v1/prober.js';
import type { AttemptResult, ProbeInput } from '../probe/types.js';
import { RunStats } from '../stats/index.js';
import type { Summary } from '../stats/types.js';
import { type DecodedEvent, proberClientDefinition, requestToProto, summaryFromProto } from '../wire/index.js';
import { InvalidArgumentError } from '../probe/errors.js';
import { ProberRpcError, toRpcError } from './errors.js';
import { channelSecurity, type Security } from './transport.js';

import pb = prober.v1;

/** The gRPC stub: the service's methods with the checked reply decoders. */
export interface ProberStub extends grpc.Client {
  Probe(req: pb.ProbeRequest, options: grpc.CallOptions, cb: grpc.requestCallback<pb.ProbeReply>): grpc.ClientUnaryCall;
  ProbeStream(req: pb.ProbeRequest, options: grpc.CallOptions): grpc.ClientReadableStream<DecodedEvent>;
}

const ProberStubClass = grpc.makeGenericClientConstructor(proberClientDefinition(), 'prober.v1.Prober');

export interface ProberConnection {
  readonly address: string;
  /** The gRPC stub, for callers that need raw access (tests, health). */
  readonly client: ProberStub;
  /** Close the channel, cancelling the calls still running on it. */
  close(): void;
}

export interface CallOpts {
  /** Call deadline, milliseconds from now. The server stops launching attempts before it. */
  readonly deadlineMs?: number;
  /** Aborting cancels the call (CANCELLED). */
  readonly signal?: AbortSignal;
}

export type StreamEvent =
  | { readonly kind: 'attempt'; readonly attempt: AttemptResult }
  | { readonly kind: 'summary'; readonly summary: Summary };

/** Bad input that cannot even be encoded (e.g. a non-finite timeout) is INVALID_ARGUMENT, as the server would say. */
function encode(input: ProbeInput, stream = false): pb.ProbeRequest {
  try {
    // Our stream reader takes batched attempts (decodeProbeEvent): half the CPU per attempt at high rates.
    return requestToProto(input, { batchAttempts: stream });
  } catch (err) {
    throw new ProberRpcError(grpc.status.INVALID_ARGUMENT, err instanceof Error ? err.message : String(err), {
      cause: err,
      field: err instanceof InvalidArgumentError ? err.field : undefined,
    });
  }
}

function callOptions(opts: CallOpts): grpc.CallOptions {
  const o: grpc.CallOptions = {};
  if (opts.deadlineMs !== undefined) o.deadline = new Date(Date.now() + opts.deadlineMs);
  return o;
}

function cancelledBeforeStart(): ProberRpcError {
  return new ProberRpcError(grpc.status.CANCELLED, 'cancelled before the call started');
}

/** grpc-js throws when a call is started on a closed channel; UNAVAILABLE, as for calls queued on it. */
function startFailed(err: unknown): ProberRpcError {
  return new ProberRpcError(grpc.status.UNAVAILABLE, err instanceof Error ? err.message : String(err), { cause: err });
}

/**
 * Calls running per connection. grpc-js's close() lets started calls go on,
 * so a caller that closes without cancelling would leave a continuous stream
 * probing on the server (paused, once its window fills) for nobody.
 */
const runningCalls = new WeakMap<ProberConnection, Set<grpc.Call>>();

/** Remember `call` until it ends, so closing its connection cancels it. */
function track(conn: ProberConnection, call: grpc.Call): () => void {
  const calls = runningCalls.get(conn);
  calls?.add(call);
  return () => calls?.delete(call);
}

/**
 * The HTTP/2 stream window our channels advertise (grpc-js's
 * 'grpc-node.flow_control_window'; grpc-js never grows it, it has no BDP
 * probing). A reader that stops leaves at most this much, plus Node's 16 KiB
 * http2 read buffer and grpc-js's 16 decoded messages, between the server and
 * itself: ~340 attempt events of ~75 B, against ~870 with the 64 KiB default
 * (docs/clients.md). Larger windows add lag for a slow reader; smaller ones
 * barely help (the 16 KiB buffer stays) and cap a long link's throughput at
 * about window / RTT.
 */
export const STREAM_WINDOW_BYTES = 8 * 1024;

/** Tries of a unary Probe, the first included (grpc-js caps any policy at 5). */
export const PROBE_MAX_ATTEMPTS = 4;

/**
 * The service config every channel gets (docs/clients.md#replicas):
 * `round_robin` over every address the target resolves to (`dns:///name:port`
 * re-resolved by grpc-js, or a fixed list `ipv4:a:p,b:p`), so one name can
 * front several replicas and a replica that goes away stops getting calls;
 * and a retry of a unary Probe that ended UNAVAILABLE before the server sent
 * any response metadata (grpc-js commits an attempt, never retrying it, once
 * metadata arrives; ours arrives with the reply), with exponential backoff
 * 0.1 s, x2, at most 1 s, PROBE_MAX_ATTEMPTS tries, all within the call's one
 * deadline. ProbeStream is not retried here: probeStream's `resume` does that
 * knowing which attempts already arrived.
 */
export const SERVICE_CONFIG = {
  loadBalancingConfig: [{ round_robin: {} }],
  methodConfig: [
    {
      name: [{ service: 'prober.v1.Prober', method: 'Probe' }],
      retryPolicy: {
        maxAttempts: PROBE_MAX_ATTEMPTS,
        initialBackoff: '0.1s',
        maxBackoff: '1s',
        backoffMultiplier: 2,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
} as const;

/** grpc-js channel options, plus how to secure the channel (transport.ts). */
export type ConnectOptions = Partial<grpc.ChannelOptions> & Security;

/**
 * A lazily connecting channel to a prober at `host:port`, or any gRPC target
 * (`dns:///name:port`, `ipv4:a:p,b:p`), plaintext unless `tls`, with the
 * STREAM_WINDOW_BYTES window and SERVICE_CONFIG unless `options` says
 * otherwise. A service config published in DNS TXT records is ignored: the
 * client's own retry and balancing policy is the one documented.
 */
export function connect(address: string, options?: ConnectOptions): ProberConnection {
  const { tls, token, ...channelOptions } = options ?? {};
  const secured = channelSecurity(address, { ...(tls ? { tls } : {}), ...(token !== undefined ? { token } : {}) });
  const interceptors = [...(channelOptions.interceptors ?? []), ...(secured.options.interceptors ?? [])];
  const client = new ProberStubClass(address, secured.credentials, {
    'grpc-node.flow_control_window': STREAM_WINDOW_BYTES,
    'grpc.service_config': JSON.stringify(SERVICE_CONFIG),
    'grpc.service_config_disable_resolution': 1,
    ...channelOptions,
    ...secured.options,
    ...(interceptors.length > 0 ? { interceptors } : {}),
  }) as unknown as ProberStub;
  const calls = new Set<grpc.Call>();
  const conn: ProberConnection = {
    address,
    client,
    close: () => {
      for (const call of calls) call.cancel();
      calls.clear();
      client.close();
    },
  };
  runningCalls.set(conn, calls);
  return conn;
}

/** Unary Probe: resolves with the Summary, rejects with ProberRpcError. */
export function probeOnce(conn: ProberConnection, input: ProbeInput, opts: CallOpts = {}): Promise<Summary> {
  return new Promise<Summary>((resolve, reject) => {
    const { signal } = opts;
    if (signal?.aborted) return reject(cancelledBeforeStart());
    let req: pb.ProbeRequest;
    try {
      req = encode(input);
    } catch (err) {
      return reject(err);
    }
    const onAbort = (): void => call.cancel();
    let untrack = (): void => {};
    let call: grpc.ClientUnaryCall;
    try {
      call = conn.client.Probe(req, callOptions(opts), (err, reply) => {
        signal?.removeEventListener('abort', onAbort);
        untrack();
        if (err) return reject(toRpcError(err));
        if (reply === undefined || !reply.has_summary) {
          return reject(new ProberRpcError(grpc.status.INTERNAL, 'reply has no summary'));
        }
        resolve(summaryFromProto(reply.summary));
      });
    } catch (err) {
      return reject(startFailed(err));
    }
    untrack = track(conn, call);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How probeStream reconnects a stream that broke (`resume: true` takes these defaults). */
export interface ResumeOptions {
  /** Reconnections at most (default 5); the next UNAVAILABLE is thrown. */
  readonly maxResumes?: number;
  /** Wait before the first reconnection, doubled each time up to 2 s (default 100 ms). */
  readonly backoffMs?: number;
}

export interface StreamOpts extends CallOpts {
  /**
   * Reconnect a stream that ends UNAVAILABLE (server gone, connection lost,
   * server shutting down) and ask for the repetitions not yet received (or
   * continuous again). Off by default.
   */
  readonly resume?: boolean | ResumeOptions;
}

const DEFAULT_MAX_RESUMES = 5;
const DEFAULT_RESUME_BACKOFF_MS = 100;
const MAX_RESUME_BACKOFF_MS = 2000;

/** A running ProbeStream call: iterate it once; `cancel()` ends it early. */
export interface ProbeStreamCall extends AsyncIterable<StreamEvent> {
  cancel(): void;
}

/**
 * ProbeStream. The call starts at once; events are pulled from the gRPC
 * Readable only as the consumer asks, so a slow consumer leaves messages in
 * the HTTP/2 window and the server pauses probing. Leaving the loop early,
 * `cancel()` or aborting `signal` cancels the call. A non-OK status, or a
 * stream that ends without its summary, throws ProberRpcError.
 */
export function probeStream(conn: ProberConnection, input: ProbeInput, opts: StreamOpts = {}): ProbeStreamCall {
  const { resume, ...callOpts } = opts;
  if (resume === undefined || resume === false) return openStream(conn, input, callOpts);
  const r = resume === true ? {} : resume;
  return resumingStream(conn, input, callOpts, {
    maxResumes: r.maxResumes ?? DEFAULT_MAX_RESUMES,
    backoffMs: r.backoffMs ?? DEFAULT_RESUME_BACKOFF_MS,
  });
}

/** One ProbeStream call, no resuming. */
function openStream(conn: ProberConnection, input: ProbeInput, opts: CallOpts): ProbeStreamCall {
  const { signal } = opts;
  let early: ProberRpcError | undefined;
  let call: grpc.ClientReadableStream<DecodedEvent> | undefined;
  if (signal?.aborted) early = cancelledBeforeStart();
  else {
    let req: pb.ProbeRequest | undefined;
    try {
      req = encode(input, true);
    } catch (err) {
      early = toRpcError(err);
    }
    try {
      if (req !== undefined) call = conn.client.ProbeStream(req, callOptions(opts));
    } catch (err) {
      early = startFailed(err);
    }
  }

  // grpc-js emits 'error' on the Readable itself; without a listener from the
  // start an error before iteration would be an uncaught exception. Recorded
  // here and rethrown after the buffered events are consumed.
  let failure: unknown;
  let done = false;
  const onAbort = (): void => call?.cancel();
  const cleanup = (): void => {
    signal?.removeEventListener('abort', onAbort);
    if (!done) {
      done = true;
      call?.cancel();
    }
  };
  if (call !== undefined) {
    call.on('error', (err) => {
      failure ??= err;
    });
    const untrack = track(conn, call);
    call.on('status', () => {
      done = true; // the call is over; nothing left to cancel
      untrack();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  }

  async function* events(c: grpc.ClientReadableStream<DecodedEvent>): AsyncGenerator<StreamEvent> {
    let sawSummary = false;
    try {
      // Decoded by decodeProbeEvent; its `region` (the summary has it too) is not passed on.
      for await (const ev of c as AsyncIterable<DecodedEvent>) {
        if (ev.kind === 'attempt') yield { kind: 'attempt', attempt: ev.attempt };
        else if (ev.kind === 'attempts') for (const attempt of ev.attempts) yield { kind: 'attempt', attempt };
        else if (ev.kind === 'summary') {
          sawSummary = true;
          yield { kind: 'summary', summary: ev.summary };
        }
      }
    } catch (err) {
      throw toRpcError(failure ?? err);
    } finally {
      cleanup();
    }
    if (failure !== undefined) throw toRpcError(failure);
    if (signal?.aborted) throw new ProberRpcError(grpc.status.CANCELLED, 'Cancelled on client');
    if (!sawSummary) throw new ProberRpcError(grpc.status.INTERNAL, 'stream ended without a summary');
  }

  let iterated = false;
  return {
    cancel: cleanup,
    [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
      if (iterated) throw new Error('probeStream: iterate the call only once');
      iterated = true;
      if (early !== undefined || call === undefined) {
        const err = early ?? new ProberRpcError(grpc.status.INTERNAL, 'call not started');
        // An iterator whose first next() rejects: the caller's for-await throws there.
        return { next: () => Promise.reject(err) };
      }
      const gen = events(call);
      return {
        next: () => gen.next(),
        // A generator not yet started skips its finally on return(): cancel here too.
        return: async (value?: unknown) => {
          cleanup();
          return gen.return(value as never);
        },
        throw: async (err?: unknown) => {
          cleanup();
          return gen.throw(err);
        },
      };
    },
  };
}

/** Resolves after `ms`, or rejects CANCELLED when `signal` aborts first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProberRpcError(grpc.status.CANCELLED, 'Cancelled on client'));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new ProberRpcError(grpc.status.CANCELLED, 'Cancelled on client'));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Run-level facts summed over the segments of a resumed stream. */
interface Segments {
  received: number;
  resumed: number;
  backpressureWaitMs: number;
  eventsSent: number;
}

/**
 * The summary of a resumed stream: every received attempt folded by the same
 * RunStats the server uses, run-level facts summed (backpressure, events) or
 * taken from the last segment (deadline, shutdown, event-loop delay).
 */
function resumedSummary(stats: RunStats, seg: Segments, last: Summary, startedAt: number): Summary {
  const s = stats.summary({
    deadlineReached: last.deadlineReached,
    shutdown: last.shutdown,
    backpressureWaitMs: seg.backpressureWaitMs + last.backpressureWaitMs,
    elapsedMs: performance.now() - startedAt,
    eventsSent: seg.eventsSent + last.eventsSent,
  });
  return { ...s, ...(last.eventLoopDelay ? { eventLoopDelay: last.eventLoopDelay } : {}), resumed: seg.resumed };
}

/**
 * probeStream with `resume`: a stream that ends UNAVAILABLE is opened again
 * (after a backoff, within the original deadline) for the repetitions not yet
 * received; attempts keep rising seq numbers across segments. Attempts the
 * broken server ran but never delivered are lost, so a resumed run may probe
 * the target more often than asked. Segment summaries are not passed on; the
 * last event is one summary over every received attempt, with `resumed`.
 */
function resumingStream(
  conn: ProberConnection,
  input: ProbeInput,
  opts: CallOpts,
  resume: Required<ResumeOptions>,
): ProbeStreamCall {
  const { signal } = opts;
  const startedAt = performance.now();
  const deadlineAt = opts.deadlineMs === undefined ? undefined : startedAt + opts.deadlineMs;
  let current: ProbeStreamCall | undefined;
  let cancelled = false;
  const cancel = (): void => {
    cancelled = true;
    current?.cancel();
  };

  const canResume = (err: unknown, seg: Segments): boolean =>
    err instanceof ProberRpcError &&
    err.code === grpc.status.UNAVAILABLE &&
    !cancelled &&
    !signal?.aborted &&
    seg.resumed < resume.maxResumes &&
    (input.repetitions === 0 || seg.received < input.repetitions) &&
    (deadlineAt === undefined || performance.now() < deadlineAt);

  async function* run(): AsyncGenerator<StreamEvent> {
    const stats = new RunStats({ intervalMs: input.intervalMs ?? 0 });
    const seg: Segments = { received: 0, resumed: 0, backpressureWaitMs: 0, eventsSent: 0 };
    let backoff = resume.backoffMs;
    for (;;) {
      const repetitions = input.repetitions === 0 ? 0 : input.repetitions - seg.received;
      const left = deadlineAt === undefined ? undefined : Math.max(1, deadlineAt - performance.now());
      current = openStream(
        conn,
        { ...input, repetitions },
        { ...opts, ...(left !== undefined ? { deadlineMs: left } : {}) },
      );
      if (cancelled) current.cancel();
      const offset = seg.received;
      let last: Summary | undefined;
      try {
        for await (const ev of current) {
          if (ev.kind === 'summary') {
            last = ev.summary;
            continue;
          }
          seg.received++;
          stats.add(ev.attempt);
          yield offset === 0 ? ev : { kind: 'attempt', attempt: { ...ev.attempt, seq: ev.attempt.seq + offset } };
        }
      } catch (err) {
        if (!canResume(err, seg)) throw err;
        seg.backpressureWaitMs += last?.backpressureWaitMs ?? 0;
        seg.eventsSent += last?.eventsSent ?? 0;
        seg.resumed++;
        await pause(backoff, signal);
        backoff = Math.min(backoff * 2, MAX_RESUME_BACKOFF_MS);
        continue;
      }
      // openStream throws when the stream ends without a summary.
      if (last === undefined) throw new ProberRpcError(grpc.status.INTERNAL, 'stream ended without a summary');
      yield { kind: 'summary', summary: seg.resumed === 0 ? last : resumedSummary(stats, seg, last, startedAt) };
      return;
    }
  }

  let iterated = false;
  return {
    cancel,
    [Symbol.asyncIterator](): AsyncIterator<StreamEvent> {
      if (iterated) throw new Error('probeStream: iterate the call only once');
      iterated = true;
      const gen = run();
      return {
        next: () => gen.next(),
        return: async (value?: unknown) => {
          cancel();
          return gen.return(value as never);
        },
        throw: async (err?: unknown) => {
          cancel();
          return gen.throw(err);
        },
      };
    },
  };
}
