// Server pieces without a network where possible: deadline plan, listen
// parsing, limits, status mapping, handlers over fake calls and a fake engine.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { decodeProbeEvent, summaryFromProto } from '../src/wire/index.js';
import { InvalidArgumentError } from '../src/probe/errors.js';
import type { AttemptResult } from '../src/probe/types.js';
import { DEFAULT_LIMITS } from '../src/probe/validate.js';
import {
  ProberService,
  deadlinePlan,
  defaultDeadlineMargin,
  streamWriteBound,
  type RunProbesFn,
} from '../src/server/service.js';
import { installSignalHandlers, parseListen, resolveLimits, startServer } from '../src/server/server.js';
import { isServerSettings, resolveServerConfig, type ServerInput } from '../src/server/config.js';
import { isConfigError } from '../src/common/errors.js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { testIo } from './helpers/cli-io.js';
import { INTERNAL_DETAILS, toServiceError, type ErrorLogger } from '../src/server/status.js';
import { NOOP_OBSERVER } from '../src/server/observer.js';

import pb = prober.v1;

function recordingLogger(): ErrorLogger & { lines: Array<{ obj: object; msg?: string }> } {
  const lines: Array<{ obj: object; msg?: string }> = [];
  return { lines, error: (obj, msg) => lines.push({ obj, msg }) };
}

function attempt(seq: number, latencyMs: number, status = 200): AttemptResult {
  return {
    seq,
    startedAt: Date.now(),
    latencyMs,
    phases: { connectMs: latencyMs / 2, ttfbMs: latencyMs / 2 },
    status,
    bodyBytes: 3,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1:1',
    reused: false,
  };
}

/** A fake engine yielding `results`, then (if `hang`) waiting until aborted. */
function fakeEngine(
  results: AttemptResult[],
  hang = false,
): RunProbesFn & { signals: AbortSignal[]; deadlines: Array<number | undefined> } {
  const signals: AbortSignal[] = [];
  const deadlines: Array<number | undefined> = [];
  const fn = (_spec: unknown, opts: { signal?: AbortSignal; deadline?: number }) => {
    signals.push(opts.signal!);
    deadlines.push(opts.deadline);
    async function* gen(): AsyncGenerator<AttemptResult> {
      for (const r of results) yield r;
      if (hang) {
        const s = opts.signal!;
        if (!s.aborted) await new Promise((r) => s.addEventListener('abort', r, { once: true }));
      }
    }
    return Object.assign(gen(), { deadlineReached: false });
  };
  return Object.assign(fn, { signals, deadlines });
}

/** Just enough of a ServerUnaryCall for the handler. */
function fakeUnaryCall(request: pb.ProbeRequest, deadline: grpc.Deadline = Infinity) {
  const call = Object.assign(new EventEmitter(), { request, cancelled: false, getDeadline: () => deadline });
  return call as unknown as grpc.ServerUnaryCall<pb.ProbeRequest, pb.ProbeReply> & EventEmitter;
}

function runUnary(service: ProberService, call: grpc.ServerUnaryCall<pb.ProbeRequest, pb.ProbeReply>) {
  return new Promise<{ err: grpc.ServiceError | null; reply?: pb.ProbeReply }>((resolve) => {
    void service.probe(call, (err, reply) =>
      resolve({ err: err as grpc.ServiceError | null, reply: reply ?? undefined }),
    );
  });
}

describe('deadline plan', () => {
  it('margin is 10% of the budget within 50..250 ms', () => {
    assert.equal(defaultDeadlineMargin(100), 50);
    assert.equal(defaultDeadlineMargin(1000), 100);
    assert.equal(defaultDeadlineMargin(60_000), 250);
  });

  it('no deadline -> no plan; otherwise engine deadline before the guard before the call deadline', () => {
    assert.equal(deadlinePlan(Infinity, defaultDeadlineMargin), undefined);
    const plan = deadlinePlan(10_000 + 1000, defaultDeadlineMargin, 10_000, 500);
    assert.deepEqual(plan, { engine: 500 + 1000 - 100, guard: 500 + 1000 - 50 });
    const fromDate = deadlinePlan(new Date(20_000), () => 30, 19_000, 0);
    assert.deepEqual(fromDate, { engine: 970, guard: 985 });
    // An already expired deadline plans in the past: nothing will start.
    const late = deadlinePlan(1000, defaultDeadlineMargin, 2000, 100);
    assert.ok(late!.engine < 100);
  });
});

describe('listen and limits', () => {
  it('parses host:port forms', () => {
    assert.deepEqual(parseListen('0.0.0.0:50051'), { host: '0.0.0.0', port: 50051 });
    assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListen('[::1]:8080'), { host: '::1', port: 8080 });
    assert.deepEqual(parseListen(':9000'), { host: '0.0.0.0', port: 9000 });
    assert.deepEqual(parseListen('localhost:1'), { host: 'localhost', port: 1 });
  });

  it('rejects bad listen addresses naming listen', () => {
    for (const bad of ['', '50051', 'host:', 'host:70000', '::1:80', 'host:-1', 'host:8x']) {
      assert.throws(
        () => parseListen(bad),
        (e: Error) => isConfigError(e) && e.option === 'listen' && /listen/.test(e.message),
        bad,
      );
    }
  });

  it('fills limits from DEFAULT_LIMITS and rejects nonsense', () => {
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
    assert.equal(resolveLimits({ maxRepetitions: 5 }).maxRepetitions, 5);
    assert.throws(() => resolveLimits({ maxConcurrency: 0 }), /maxConcurrency/);
    assert.throws(() => resolveLimits({ maxTimeoutMs: Number.NaN }), /maxTimeoutMs/);
    assert.throws(() => resolveLimits({ maxRepetitions: 2.5 }), /maxRepetitions/);
    assert.throws(() => resolveLimits({ maxTimeoutMs: 1000, defaultTimeoutMs: 5000 }), /defaultTimeoutMs/);
  });
});

describe('resolveServerConfig', () => {
  it('fills every default into one frozen object', () => {
    const s = resolveServerConfig();
    assert.deepEqual(s.listen, { host: '0.0.0.0', port: 50051, text: '0.0.0.0:50051' });
    assert.deepEqual(s.limits, DEFAULT_LIMITS);
    assert.equal(s.graceMs, 5_000);
    assert.equal(s.deadlineMarginMs, undefined);
    assert.equal(s.metrics, undefined, 'metrics are off unless asked for');
    assert.equal(s.health, true);
    assert.equal(s.reflection, 'if-available');
    assert.equal(s.grpc.options['grpc.keepalive_time_ms'], 60_000);
    assert.equal(typeof s.errorLogger.error, 'function');
    assert.ok(isServerSettings(s));
    assert.ok(!isServerSettings({ ...s }), 'a copy is not vouched for');
    for (const part of [s, s.listen, s.limits, s.grpc, s.grpc.options, s.grpc.services])
      assert.ok(Object.isFrozen(part));
  });

  it('resolves the metrics port and /probe, sharing the checked limits', () => {
    const s = resolveServerConfig({
      limits: { maxConcurrency: 3 },
      observability: { metrics: { listen: ':0' }, reflection: false },
    });
    assert.equal(s.reflection, 'off');
    assert.equal(s.metrics?.maxEndpoints, 100);
    assert.deepEqual(s.metrics?.http?.listen, { host: '0.0.0.0', port: 0, text: ':0' });
    const probe = s.metrics?.http?.probe;
    assert.ok(probe);
    assert.equal(probe.limits, s.limits, 'one limits object for gRPC and /probe');
    assert.equal(probe.limits.maxConcurrency, 3);
    assert.equal(probe.maxConcurrent, 100);
    assert.equal(probe.timeoutOffsetMs, 500);
    assert.equal(
      resolveServerConfig({ observability: { metrics: {} } }).metrics?.http,
      undefined,
      'no listen: recorded only',
    );
    assert.equal(
      resolveServerConfig({ observability: { metrics: { listen: ':0', probe: false } } }).metrics?.http?.probe,
      undefined,
    );
    assert.equal(resolveServerConfig({ observability: { metrics: false } }).metrics, undefined);
  });

  it('rejects bad values with a ConfigError naming the setting', () => {
    const cases: Array<[ServerInput, string, RegExp]> = [
      [{ listen: 'nope' }, 'listen', /^listen must be host:port/],
      [{ listen: 50051 as unknown as string }, 'listen', /listen must be host:port/],
      [{ limits: { maxConcurrency: 0 } }, 'limits.maxConcurrency', /limit maxConcurrency must be a positive number/],
      [{ limits: { maxRepetitions: 2.5 } }, 'limits.maxRepetitions', /whole number/],
      [
        { limits: { maxTimeoutMs: 1000 } },
        'limits.maxTimeoutMs',
        /defaultTimeoutMs \(5000\) must not exceed maxTimeoutMs \(1000\)/,
      ],
      [{ limits: { defaultTimeoutMs: 90_000 } }, 'limits.defaultTimeoutMs', /must not exceed maxTimeoutMs/],
      [{ graceMs: Number.NaN }, 'graceMs', /graceMs/],
      [{ graceMs: -1 }, 'graceMs', /graceMs/],
      [{ deadlineMarginMs: -5 }, 'deadlineMarginMs', /deadlineMarginMs/],
      [
        { observability: { metrics: { listen: '9464' } } },
        'observability.metrics.listen',
        /^metrics address must be \[host\]:port/,
      ],
      [
        { observability: { metrics: { maxEndpoints: 0 } } },
        'observability.metrics.maxEndpoints',
        /maxEndpoints must be an integer >= 1/,
      ],
      [
        { observability: { metrics: { listen: ':0', maxConcurrentProbes: 1.5 } } },
        'observability.metrics.maxConcurrentProbes',
        /maxConcurrentProbes/,
      ],
      [
        { observability: { metrics: { listen: ':0', blackbox: { timeoutOffsetMs: -1 } } } },
        'observability.metrics.blackbox.timeoutOffsetMs',
        /timeoutOffsetMs/,
      ],
    ];
    for (const [input, option, message] of cases) {
      assert.throws(
        () => resolveServerConfig(input),
        (e: unknown) =>
          isConfigError(e) && e.code === 'PROBER_ERR_CONFIG' && e.option === option && message.test(e.message),
        option,
      );
    }
  });

  it('names settings as the caller spells them, keeping the message', () => {
    assert.throws(
      () =>
        resolveServerConfig({ limits: { maxTimeoutMs: 1000 } }, { names: { 'limits.maxTimeoutMs': '--max-timeout' } }),
      (e: unknown) =>
        isConfigError(e) && e.option === '--max-timeout' && /^limit defaultTimeoutMs \(5000\)/.test(e.message),
    );
  });

  it('startServer takes resolved settings as they are, or resolves an input itself', async () => {
    const settings = resolveServerConfig({
      listen: '127.0.0.1:0',
      limits: { maxRepetitions: 5 },
      observability: { health: false, reflection: false },
    });
    const running = await startServer(settings);
    try {
      assert.deepEqual(running.service.limits, settings.limits);
    } finally {
      await running.close(0);
    }
    await assert.rejects(startServer({ listen: '127.0.0.1:0', limits: { maxConcurrency: -1 } }), isConfigError);
  });

  it('serve exits 2 when a setting is rejected, naming the problem, before binding anything', async () => {
    const ac = new AbortController();
    ac.abort(); // had it started, it would stop at once (exit 0) rather than hang the test
    const io = testIo({ signal: ac.signal, env: { PROBER_LOG_LEVEL: 'silent' } });
    const code = await run(['serve', '--listen', '127.0.0.1:0', '--no-metrics', '--max-timeout', '1s'], io);
    assert.equal(code, EXIT.USAGE, io.stderr.text());
    assert.match(
      io.stderr.text(),
      /cannot start: limit defaultTimeoutMs \(5000\) must not exceed maxTimeoutMs \(1000\)/,
    );
  });
});

describe('status mapping', () => {
  it('InvalidArgumentError -> INVALID_ARGUMENT with its message, not logged', () => {
    const log = recordingLogger();
    const e = toServiceError(new InvalidArgumentError('timeout', 'timeout must be at most 60000 ms'), log);
    assert.equal(e.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(e.details, 'timeout must be at most 60000 ms');
    assert.equal(log.lines.length, 0);
  });

  it('anything else -> INTERNAL with a safe message, logged', () => {
    const log = recordingLogger();
    const boom = new Error('secret /etc/path exploded');
    const e = toServiceError(boom, log, 'Probe');
    assert.equal(e.code, grpc.status.INTERNAL);
    assert.equal(e.details, INTERNAL_DETAILS);
    assert.doesNotMatch(e.details, /secret/);
    assert.equal(log.lines.length, 1);
    assert.equal((log.lines[0]!.obj as { err: unknown }).err, boom);
  });
});

describe('ProberService handlers (fake call, fake engine)', () => {
  const request = new pb.ProbeRequest({ endpoint: 'http://127.0.0.1:1/x', repetitions: 3 });

  it('Probe folds the engine results into the summary', async () => {
    const engine = fakeEngine([attempt(1, 10), attempt(2, 20), attempt(3, 30, 503)]);
    const service = new ProberService({ runProbes: engine });
    const { err, reply } = await runUnary(service, fakeUnaryCall(request));
    assert.equal(err, null);
    const s = summaryFromProto(reply!.summary);
    assert.equal(s.attempts, 3);
    assert.equal(s.responses, 3);
    assert.equal(s.averageMs, 20);
    assert.equal(engine.deadlines[0], undefined, 'no call deadline -> no engine deadline');
    assert.equal(engine.signals[0]!.aborted, true, 'signal aborted once the call is done');
  });

  it('passes an engine deadline derived from the call deadline', async () => {
    const engine = fakeEngine([attempt(1, 1)]);
    const service = new ProberService({ runProbes: engine, deadlineMarginMs: 100 });
    const before = performance.now();
    await runUnary(service, fakeUnaryCall(request, Date.now() + 2000));
    const d = engine.deadlines[0]!;
    assert.ok(d > before + 1800 && d < performance.now() + 1900 + 1, `engine deadline ${d - before} ms ahead`);
  });

  it('the deadline guard answers with deadline_reached even if the engine hangs', async () => {
    const engine = fakeEngine([attempt(1, 5)], true);
    const service = new ProberService({ runProbes: engine });
    const { err, reply } = await runUnary(service, fakeUnaryCall(request, Date.now() + 300));
    assert.equal(err, null);
    const s = summaryFromProto(reply!.summary);
    assert.equal(s.deadlineReached, true);
    assert.equal(s.attempts, 1);
  });

  it('cancellation aborts the engine at once and sends no reply', async () => {
    const engine = fakeEngine([], true);
    const service = new ProberService({ runProbes: engine });
    const call = fakeUnaryCall(request);
    let replied = false;
    const done = service.probe(call, () => {
      replied = true;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(engine.signals[0]!.aborted, false);
    (call as { cancelled: boolean }).cancelled = true;
    call.emit('cancelled', 'cancelled');
    assert.equal(engine.signals[0]!.aborted, true);
    await done;
    assert.equal(replied, false);
    call.emit('cancelled', 'cancelled'); // again, harmless
  });

  it('an engine failure is INTERNAL with a safe message and is logged', async () => {
    const log = recordingLogger();
    const service = new ProberService({
      logger: log,
      runProbes: () => {
        throw new Error('engine bug');
      },
    });
    const { err } = await runUnary(service, fakeUnaryCall(request));
    assert.equal(err?.code, grpc.status.INTERNAL);
    assert.equal(err?.details, INTERNAL_DETAILS);
    assert.equal(log.lines.length, 1);
  });

  it('an observer that throws does not fail the probe', async () => {
    const log = recordingLogger();
    const service = new ProberService({
      logger: log,
      runProbes: fakeEngine([attempt(1, 1), attempt(2, 2)]),
      observer: {
        ...NOOP_OBSERVER,
        attempt() {
          throw new Error('metrics bug');
        },
      },
    });
    const { err, reply } = await runUnary(service, fakeUnaryCall(request));
    assert.equal(err, null);
    assert.equal(reply!.summary.attempts, 2);
    assert.equal(log.lines.length, 1, 'reported once');
  });

  it('ProbeStream waits for drain only once 2 x concurrency events are queued, and pulls nothing meanwhile', async () => {
    // A transport that never sends: every write says "wait" (as grpc-js past 16).
    const results = Array.from({ length: 200 }, (_, i) => attempt(i + 1, 1));
    let pulled = 0;
    const engine: RunProbesFn = () => {
      async function* gen(): AsyncGenerator<AttemptResult> {
        for (const r of results) {
          pulled++;
          yield r;
        }
      }
      return Object.assign(gen(), { deadlineReached: false });
    };
    const written: unknown[] = [];
    const call = Object.assign(new EventEmitter(), {
      request: new pb.ProbeRequest({ endpoint: 'http://127.0.0.1:1/x', repetitions: 200, concurrency: 32 }),
      cancelled: false,
      getDeadline: () => Infinity,
      writableLength: 0,
      write(m: unknown) {
        written.push(m);
        this.writableLength++;
        return false;
      },
      end() {},
    });
    const done = new ProberService({ runProbes: engine }).probeStream(
      call as unknown as grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>,
    );
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const bound = streamWriteBound(32);
    assert.equal(bound, 64);
    assert.equal(written.length, bound, 'writes past grpc-js mark until our bound, then a wait');
    assert.equal(pulled, bound, 'nothing more pulled from the engine while waiting');
    // The transport catches up: the run goes on to the end.
    const flush = (): void => {
      call.writableLength = 0;
      call.emit('drain');
    };
    for (let i = 0; i < 1000 && written.length < 201; i++) {
      flush();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    assert.equal(pulled, 200);
    assert.equal(streamWriteBound(1), 16, 'never below grpc-js own mark');
  });

  /** A c=1 stream over a fake transport; `flush` decides when (if ever) a write's callback runs. */
  async function c1Stream(flush: (cb: () => void) => void): Promise<string[]> {
    const log: string[] = [];
    const engine: RunProbesFn = () => {
      async function* gen(): AsyncGenerator<AttemptResult> {
        for (let i = 1; i <= 3; i++) {
          log.push(`pull ${i}`);
          yield attempt(i, 1);
        }
      }
      return Object.assign(gen(), { deadlineReached: false });
    };
    let n = 0;
    const call = Object.assign(new EventEmitter(), {
      request: new pb.ProbeRequest({ endpoint: 'http://127.0.0.1:1/x', repetitions: 3, concurrency: 1 }),
      cancelled: false,
      getDeadline: () => Infinity,
      writableLength: 0,
      write(_m: unknown, cb?: () => void) {
        const k = ++n;
        log.push(`write ${k}`);
        if (cb !== undefined)
          flush(() => {
            log.push(`flushed ${k}`);
            cb();
          });
        return true;
      },
      end() {},
    });
    await new ProberService({ runProbes: engine }).probeStream(
      call as unknown as grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>,
    );
    return log;
  }

  it('ProbeStream at c=1 pulls the next result only once the last event reached the socket', async () => {
    const log = await c1Stream((cb) => setImmediate(cb));
    // The last write is the summary (no callback awaited).
    assert.deepEqual(log, [
      'pull 1',
      'write 1',
      'flushed 1',
      'pull 2',
      'write 2',
      'flushed 2',
      'pull 3',
      'write 3',
      'flushed 3',
      'write 4',
    ]);
  });

  it('ProbeStream at c=1 does not wait forever for a flush that never comes', async () => {
    const log = await c1Stream(() => {});
    assert.deepEqual(log, ['pull 1', 'write 1', 'pull 2', 'write 2', 'pull 3', 'write 3', 'write 4']);
  });

  /** A ProbeStream of `n` results that reach the service in one turn, over a transport that records each message. */
  async function burstStream(request: pb.ProbeRequest, n: number): Promise<unknown[]> {
    const engine: RunProbesFn = () => {
      async function* gen(): AsyncGenerator<AttemptResult> {
        for (let i = 1; i <= n; i++) yield attempt(i, i);
      }
      return Object.assign(gen(), { deadlineReached: false });
    };
    const written: unknown[] = [];
    const call = Object.assign(new EventEmitter(), {
      request,
      cancelled: false,
      getDeadline: () => Infinity,
      writableLength: 0,
      write(m: unknown, cb?: () => void) {
        written.push(m);
        if (cb !== undefined) setImmediate(cb);
        return true;
      },
      end() {},
    });
    await new ProberService({ runProbes: engine }).probeStream(
      call as unknown as grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>,
    );
    return written;
  }

  const seqs = (m: unknown): number[] => {
    const ev = decodeProbeEvent(m as Uint8Array);
    if (ev.kind === 'attempts') return ev.attempts.map((a) => a.seq);
    return ev.kind === 'attempt' ? [ev.attempt.seq] : [];
  };

  it('ProbeStream with batch_attempts sends the attempts of one turn as one message, then the summary', async () => {
    const req = (batch: boolean, concurrency: number) =>
      new pb.ProbeRequest({ endpoint: 'http://127.0.0.1:1/x', repetitions: 8, concurrency, batch_attempts: batch });
    const batched = await burstStream(req(true, 4), 8);
    assert.equal(batched.length, 2, 'one batch and the summary');
    assert.deepEqual(seqs(batched[0]), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.ok(batched[1] instanceof pb.ProbeEvent && batched[1].has_summary && batched[1].summary.attempts === 8);
    // A client that did not ask, and c=1, get one message per attempt.
    for (const single of [await burstStream(req(false, 4), 8), await burstStream(req(true, 1), 8)]) {
      assert.equal(single.length, 9);
      assert.deepEqual(single.slice(0, 8).flatMap(seqs), [1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });

  it('ProbeStream with batch_attempts: an attempt that cannot be encoded ends the call INTERNAL, not the process', async () => {
    const engine: RunProbesFn = () => {
      async function* gen(): AsyncGenerator<AttemptResult> {
        yield attempt(1, 1);
        yield { ...attempt(2, 1), seq: -2 }; // uint64 on the wire: unrepresentable
        await new Promise((r) => setTimeout(r, 20)); // the batch is written at the end of this turn
        yield attempt(3, 1);
      }
      return Object.assign(gen(), { deadlineReached: false });
    };
    const errors: grpc.ServiceError[] = [];
    const call = Object.assign(new EventEmitter(), {
      request: new pb.ProbeRequest({
        endpoint: 'http://127.0.0.1:1/x',
        repetitions: 3,
        concurrency: 2,
        batch_attempts: true,
      }),
      cancelled: false,
      getDeadline: () => Infinity,
      writableLength: 0,
      write: () => true,
      end() {},
    });
    call.on('error', (e: grpc.ServiceError) => errors.push(e));
    await new ProberService({ runProbes: engine, logger: recordingLogger() }).probeStream(
      call as unknown as grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>,
    );
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.code, grpc.status.INTERNAL);
  });

  it('ProbeStream over a real server: engine failure -> INTERNAL', async () => {
    const log = recordingLogger();
    const service = new ProberService({
      logger: log,
      runProbes: () => {
        throw new Error('engine bug');
      },
    });
    const server = new grpc.Server();
    service.addToServer(server);
    const port = await new Promise<number>((res, rej) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
    );
    const client = new pb.ProberClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    try {
      const call = client.ProbeStream(new pb.ProbeRequest({ endpoint: 'http://127.0.0.1:1/', repetitions: 1 }));
      call.on('data', () => {});
      call.on('error', () => {});
      const st = await new Promise<grpc.StatusObject>((r) => call.on('status', r));
      assert.equal(st.code, grpc.status.INTERNAL);
      assert.equal(st.details, INTERNAL_DETAILS);
      assert.equal(log.lines.length, 1);
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});

describe('signal handlers', () => {
  it('close gracefully on SIGTERM and uninstall', async () => {
    const calls: number[] = [];
    const logs: string[] = [];
    const before = process.listenerCount('SIGTERM');
    let resolveClosed!: () => void;
    const closed = new Promise<void>((r) => (resolveClosed = r));
    const uninstall = installSignalHandlers(
      {
        close: async (grace?: number) => {
          calls.push(grace ?? -1);
          resolveClosed();
        },
      },
      (m) => logs.push(m),
      1234,
    );
    try {
      assert.equal(process.listenerCount('SIGTERM'), before + 1);
      process.emit('SIGTERM', 'SIGTERM');
      await closed;
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(calls, [1234]);
      assert.ok(logs.some((l) => /SIGTERM/.test(l)));
      assert.equal(process.listenerCount('SIGTERM'), before, 'uninstalled after close');
    } finally {
      uninstall();
    }
  });
});
