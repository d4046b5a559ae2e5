// The typed client against a fake in-process Prober server (no real probing):
// decoding, error mapping, cancellation and pull-style backpressure.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { connect, probeOnce, probeStream, ProberRpcError, type StreamEvent } from '../src/client/index.js';
import { attemptEvent, summaryEvent, summaryToProto } from '../src/wire/index.js';
import { RunStats } from '../src/stats/index.js';
import type { AttemptResult } from '../src/probe/types.js';
import { sleep } from './helpers/wait.js';

import pb = prober.v1;

const attempt = (seq: number, latencyMs = 10 + seq): AttemptResult => ({
  seq,
  startedAt: Date.now(),
  latencyMs,
  phases: { connectMs: 1, ttfbMs: latencyMs - 1 },
  status: 200,
  bodyBytes: 3,
  httpVersion: '1.1',
  remoteAddress: '127.0.0.1:80',
  reused: false,
});

function summaryOf(attempts: AttemptResult[]) {
  const st = new RunStats();
  for (const a of attempts) st.add(a);
  return st.summary({ eventsSent: attempts.length });
}

/** Per-test behaviour of the fake server, keyed by endpoint path. */
type StreamHandler = (call: grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>) => void | Promise<void>;
const streamHandlers = new Map<string, StreamHandler>();

const server = new grpc.Server();
server.addService(pb.UnimplementedProberService.definition, {
  Probe(call: grpc.ServerUnaryCall<pb.ProbeRequest, pb.ProbeReply>, cb: grpc.sendUnaryData<pb.ProbeReply>) {
    const req = call.request;
    if (req.repetitions === 0) {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'repetitions must be 1..10000, got 0' });
      return;
    }
    const atts = Array.from({ length: req.repetitions }, (_, i) => attempt(i + 1));
    cb(null, new pb.ProbeReply({ summary: summaryToProto(summaryOf(atts)) }));
  },
  ProbeStream(call: grpc.ServerWritableStream<pb.ProbeRequest, pb.ProbeEvent>) {
    const path = new URL(call.request.endpoint).pathname;
    const h = streamHandlers.get(path);
    if (h === undefined) {
      call.emit('error', { code: grpc.status.NOT_FOUND, details: `no handler for ${path}` });
      return;
    }
    void h(call);
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
const conn = connect(`127.0.0.1:${port}`);
after(() => {
  conn.close();
  server.forceShutdown();
});

test('probeOnce decodes the summary', { timeout: 60_000 }, async () => {
  const s = await probeOnce(conn, { endpoint: 'http://x/ok', repetitions: 4 });
  assert.equal(s.attempts, 4);
  assert.equal(s.responses, 4);
  assert.ok(Math.abs(s.averageMs! - (11 + 12 + 13 + 14) / 4) < 1e-6);
  assert.deepEqual(s.statuses, [{ status: 200, count: 4 }]);
});

test('probeOnce maps a status to ProberRpcError', { timeout: 60_000 }, async () => {
  await assert.rejects(probeOnce(conn, { endpoint: 'http://x/ok', repetitions: 0 }), (err: unknown) => {
    assert.ok(err instanceof ProberRpcError);
    assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(err.codeName, 'INVALID_ARGUMENT');
    assert.match(err.details, /repetitions/);
    return true;
  });
});

test('input that cannot be encoded is INVALID_ARGUMENT without a call', { timeout: 60_000 }, async () => {
  await assert.rejects(
    probeOnce(conn, { endpoint: 'http://x/ok', repetitions: 1, timeoutMs: Number.NaN }),
    (err: unknown) => err instanceof ProberRpcError && err.codeName === 'INVALID_ARGUMENT',
  );
});

test('an unreachable server is UNAVAILABLE', { timeout: 60_000 }, async () => {
  const dead = new grpc.Server();
  const deadPort = await new Promise<number>((resolve, reject) =>
    dead.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  dead.forceShutdown(); // the port is now closed
  const c = connect(`127.0.0.1:${deadPort}`);
  try {
    await assert.rejects(
      probeOnce(c, { endpoint: 'http://x/ok', repetitions: 1 }, { deadlineMs: 10_000 }),
      (err: unknown) => err instanceof ProberRpcError && err.codeName === 'UNAVAILABLE',
    );
  } finally {
    c.close();
  }
});

test('probeOnce honours an already aborted signal', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    probeOnce(conn, { endpoint: 'http://x/ok', repetitions: 1 }, { signal: ac.signal }),
    (err: unknown) => err instanceof ProberRpcError && err.codeName === 'CANCELLED',
  );
});

test('probeStream yields attempts in order, then the summary', { timeout: 60_000 }, async () => {
  streamHandlers.set('/three', (call) => {
    const atts = [attempt(1), attempt(2), attempt(3)];
    for (const a of atts) call.write(attemptEvent(a));
    call.write(summaryEvent(summaryOf(atts)));
    call.end();
  });
  const events: StreamEvent[] = [];
  for await (const ev of probeStream(conn, { endpoint: 'http://x/three', repetitions: 3 })) events.push(ev);
  assert.deepEqual(
    events.map((e) => (e.kind === 'attempt' ? e.attempt.seq : 'summary')),
    [1, 2, 3, 'summary'],
  );
  const last = events[3]!;
  assert.equal(last.kind, 'summary');
  if (last.kind === 'summary') assert.equal(last.summary.attempts, 3);
});

test('a stream error after some events throws ProberRpcError after delivering them', { timeout: 60_000 }, async () => {
  streamHandlers.set('/fail', (call) => {
    call.write(attemptEvent(attempt(1)));
    call.write(attemptEvent(attempt(2)));
    call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'too many streams' });
  });
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const ev of probeStream(conn, { endpoint: 'http://x/fail', repetitions: 0 })) {
        if (ev.kind === 'attempt') seen.push(ev.attempt.seq);
      }
    })(),
    (err: unknown) =>
      err instanceof ProberRpcError && err.codeName === 'RESOURCE_EXHAUSTED' && /too many/.test(err.details),
  );
  assert.deepEqual(seen, [1, 2]);
});

test('a stream that ends without a summary is an error, not a silent success', { timeout: 60_000 }, async () => {
  streamHandlers.set('/nosummary', (call) => {
    call.write(attemptEvent(attempt(1)));
    call.end();
  });
  await assert.rejects(
    (async () => {
      for await (const _ of probeStream(conn, { endpoint: 'http://x/nosummary', repetitions: 1 })) void _;
    })(),
    (err: unknown) => err instanceof ProberRpcError && /without a summary/.test(err.details),
  );
});

interface EndlessState {
  written: number;
  blocked: number;
  cancelled: Promise<void> | undefined;
}

/** Writes attempts until cancelled, honouring write() backpressure. */
function endless(state: EndlessState): StreamHandler {
  return async (call) => {
    state.cancelled = once(call, 'cancelled').then(() => undefined);
    let stop = false;
    call.on('cancelled', () => (stop = true));
    for (let seq = 1; !stop && seq <= 1_000_000; seq++) {
      state.written++;
      if (!call.write(attemptEvent(attempt(seq)))) {
        state.blocked++;
        await Promise.race([once(call, 'drain'), state.cancelled]);
      }
    }
  };
}

test('leaving the loop early cancels the call', { timeout: 60_000 }, async () => {
  const state: EndlessState = { written: 0, blocked: 0, cancelled: undefined };
  streamHandlers.set('/endless-break', endless(state));
  let n = 0;
  for await (const ev of probeStream(conn, { endpoint: 'http://x/endless-break', repetitions: 0 })) {
    assert.equal(ev.kind, 'attempt');
    if (++n === 5) break;
  }
  await state.cancelled; // resolves only if the server saw the cancellation
  assert.ok(state.written >= 5);
});

test('a slow consumer pauses the server (pull-style reading), abort cancels', { timeout: 60_000 }, async () => {
  const state: EndlessState = { written: 0, blocked: 0, cancelled: undefined };
  streamHandlers.set('/endless-slow', endless(state));
  const ac = new AbortController();
  const stream = probeStream(conn, { endpoint: 'http://x/endless-slow', repetitions: 0 }, { signal: ac.signal });
  const it = stream[Symbol.asyncIterator]();
  const first = await it.next();
  assert.equal(first.done, false);
  // Hold off reading: once the client's Readable buffer and the HTTP/2 window
  // are full, the server's write() stays blocked (written stops growing).
  const deadline = Date.now() + 10_000;
  let last = -1;
  let stableFor = 0;
  while (stableFor < 3 && Date.now() < deadline) {
    await sleep(100);
    stableFor = state.written === last ? stableFor + 1 : 0;
    last = state.written;
  }
  assert.equal(stableFor, 3, `server kept writing while nobody read (${state.written} events)`);
  assert.ok(state.blocked > 0);
  assert.ok(state.written < 1_000_000);
  ac.abort();
  await assert.rejects(
    (async () => {
      for (;;) if ((await it.next()).done) break;
    })(),
    (err: unknown) => err instanceof ProberRpcError && err.codeName === 'CANCELLED',
  );
  await state.cancelled;
});
