// The Prober service over a real grpc-js server on 127.0.0.1:0 with the
// generated client; targets are local HTTP servers (test/helpers/target.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getDefaultHighWaterMark } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { google as gd } from '../src/generated/google/protobuf/duration.js';
import { attemptFromProto, msToDuration, summaryFromProto } from '../src/wire/index.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import type { ProbeObserver } from '../src/server/observer.js';
import type { AttemptResult } from '../src/probe/types.js';
import type { Summary } from '../src/stats/types.js';
import { freePort, startTarget, type Target } from './helpers/target.js';
import { sleep, until } from './helpers/wait.js';

import pb = prober.v1;
const Duration = gd.protobuf.Duration;

// Stream window of the slow-reader test's client: fixed, so the bound is computable.
const SMALL_WINDOW = 4096;

interface StreamResult {
  attempts: AttemptResult[];
  summary?: Summary;
  /** Index of the summary among the events (must be last). */
  summaryIndex: number;
  events: number;
  status: grpc.StatusObject;
}

function newClient(address: string, window?: number): pb.ProberClient {
  const options = window === undefined ? {} : { 'grpc-node.flow_control_window': window };
  return new pb.ProberClient(address, grpc.credentials.createInsecure(), options);
}

function deadlineIn(ms: number | undefined): grpc.CallOptions {
  return ms === undefined ? {} : { deadline: Date.now() + ms };
}

function probe(client: pb.ProberClient, req: pb.ProbeRequest, deadlineMs?: number): Promise<Summary> {
  return new Promise((resolve, reject) => {
    client.Probe(req, deadlineIn(deadlineMs), (err, reply) => {
      if (err) reject(err);
      else resolve(summaryFromProto(reply!.summary));
    });
  });
}

function probeErr(client: pb.ProberClient, req: pb.ProbeRequest): Promise<grpc.ServiceError> {
  return probe(client, req).then(
    () => assert.fail('expected an RPC error'),
    (err: grpc.ServiceError) => err,
  );
}

function stream(client: pb.ProberClient, req: pb.ProbeRequest, deadlineMs?: number): Promise<StreamResult> {
  return new Promise((resolve) => {
    const call = client.ProbeStream(req, deadlineIn(deadlineMs));
    const out: StreamResult = { attempts: [], summaryIndex: -1, events: 0, status: undefined as never };
    call.on('data', (ev: pb.ProbeEvent) => {
      if (ev.has_attempt) out.attempts.push(attemptFromProto(ev.attempt));
      if (ev.has_summary) {
        out.summary = summaryFromProto(ev.summary);
        out.summaryIndex = out.events;
      }
      out.events++;
    });
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => {
      out.status = s;
      resolve(out);
    });
  });
}

function req(fields: ConstructorParameters<typeof pb.ProbeRequest>[0]): pb.ProbeRequest {
  return new pb.ProbeRequest(fields);
}

const ms = msToDuration;

/** A continuous ProbeStream on /delay/20, read and discarded, already probing. */
async function continuousStream(client: pb.ProberClient, target: Target) {
  const call = client.ProbeStream(req({ endpoint: `${target.url}/delay/20`, repetitions: 0, interval: ms(0) }));
  call.on('data', () => {});
  call.on('error', () => {});
  const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  await until(() => target.requests() > 2, 5000, 'probing to start');
  return { call, status };
}

class RecordingObserver implements ProbeObserver {
  attempts = 0;
  opened = 0;
  closed = 0;
  sent = 0;
  waits = 0;
  waitMs = 0;
  attempt(): void {
    this.attempts++;
  }
  streamOpened(): void {
    this.opened++;
  }
  streamClosed(): void {
    this.closed++;
  }
  eventSent(): void {
    this.sent++;
  }
  backpressureStarted(): void {
    this.waits++;
  }
  backpressureWait(n: number): void {
    this.waits--;
    this.waitMs += n;
  }
  readonly summaries: Summary[] = [];
  summary(_rpc: string, s: Summary): void {
    this.summaries.push(s);
  }
}

describe('Prober over gRPC', () => {
  let target: Target;
  let server: RunningServer;
  let client: pb.ProberClient;
  const observer = new RecordingObserver();

  before(async () => {
    target = await startTarget();
    server = await startServer({ listen: '127.0.0.1:0', observer });
    client = newClient(server.address);
  });

  after(async () => {
    client.close();
    await server.close(1000);
    await target.close();
  });

  it('binds the real port', () => {
    assert.ok(server.port > 0);
    assert.equal(server.address, `127.0.0.1:${server.port}`);
  });

  it('Probe: N successes with latency statistics', async () => {
    const s = await probe(client, req({ endpoint: `${target.url}/ok`, repetitions: 5 }));
    assert.equal(s.attempts, 5);
    assert.equal(s.successes, 5);
    assert.equal(s.failures, 0);
    assert.equal(s.responses, 5);
    assert.ok(s.averageMs !== undefined && s.averageMs > 0);
    assert.ok(s.minMs! <= s.averageMs! && s.averageMs! <= s.maxMs!);
    assert.deepEqual(s.statuses, [{ status: 200, count: 5 }]);
    assert.equal(s.deadlineReached, false);
    assert.equal(s.eventsSent, 0);
  });

  it('ProbeStream: attempts then one summary; average equals the mean of the streamed latencies', async () => {
    const before = { ...observer };
    const r = await stream(client, req({ endpoint: `${target.url}/delay/20`, repetitions: 6, concurrency: 2 }));
    assert.equal(r.status.code, grpc.status.OK);
    assert.equal(r.attempts.length, 6);
    assert.equal(r.summaryIndex, r.events - 1, 'summary is the last event');
    const s = r.summary!;
    assert.equal(s.attempts, 6);
    assert.equal(s.eventsSent, 6);
    const responded = r.attempts.filter((a) => a.status !== undefined);
    assert.equal(responded.length, s.responses);
    const mean = responded.reduce((acc, a) => acc + a.latencyMs, 0) / responded.length;
    // Each latency and the average are rounded to the nanosecond on the wire.
    assert.ok(Math.abs(s.averageMs! - mean) < 1e-5, `average ${s.averageMs} vs mean ${mean}`);
    assert.deepEqual(
      [...r.attempts.map((a) => a.seq)].sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6],
    );
    for (const a of r.attempts) {
      const p = a.phases;
      const sum = (p.dnsMs ?? 0) + (p.connectMs ?? 0) + (p.tlsMs ?? 0) + (p.ttfbMs ?? 0) + (p.transferMs ?? 0);
      assert.equal(p.dnsMs, undefined, 'no DNS for an IP literal');
      assert.equal(p.tlsMs, undefined, 'no TLS for http://');
      assert.ok(sum <= a.latencyMs + 1e-3, `phases ${sum} exceed latency ${a.latencyMs}`);
      assert.ok(sum >= a.latencyMs * 0.5, `phases ${sum} far below latency ${a.latencyMs}`);
      assert.equal(a.remoteAddress, `127.0.0.1:${target.port}`);
    }
    assert.equal(observer.attempts - before.attempts, 6);
    assert.equal(observer.sent - before.sent, 7, '6 attempts + the summary');
    assert.equal(observer.opened - before.opened, 1);
    assert.equal(observer.closed - before.closed, 1);
  });

  it('interval mode behind a slow target: latency from the intended start, over the wire and to the observer', async () => {
    const n = observer.summaries.length;
    // 20 ms responses due every 5 ms at concurrency 1: every later start is late.
    const r = await stream(
      client,
      req({ endpoint: `${target.url}/delay/20`, repetitions: 5, interval: ms(5), concurrency: 1 }),
    );
    const s = r.summary!;
    assert.ok(s.scheduleSlips >= 3, `slips ${s.scheduleSlips}`);
    const i = s.intendedLatency!;
    assert.ok(i.samples > s.responses, 'skipped slots have stand-ins');
    assert.ok(i.p99Ms > s.p99Ms!, `intended p99 ${i.p99Ms} vs service ${s.p99Ms}`);
    assert.ok(i.maxMs > s.maxMs!);
    // ~100 ms of probing: the engine sampled its loop at least once.
    assert.ok(s.eventLoopDelay !== undefined && s.eventLoopDelay.maxMs >= s.eventLoopDelay.p99Ms);
    assert.equal(observer.summaries.length, n + 1);
    assert.ok(observer.summaries[n]!.intendedLatency !== undefined);
    // Back to back: nothing was intended, so the field stays unset.
    const b2b = await probe(client, req({ endpoint: `${target.url}/ok`, repetitions: 2 }));
    assert.equal(b2b.intendedLatency, undefined);
  });

  it('a 500 is data: BAD_STATUS, with its latency in the statistics', async () => {
    const s = await probe(client, req({ endpoint: `${target.url}/status/500`, repetitions: 3 }));
    assert.equal(s.attempts, 3);
    assert.equal(s.failures, 3);
    assert.equal(s.responses, 3);
    assert.deepEqual(s.errors, [{ reason: 'BAD_STATUS', count: 3 }]);
    assert.deepEqual(s.statuses, [{ status: 500, count: 3 }]);
    assert.ok(s.averageMs !== undefined && s.averageMs > 0);
    const r = await stream(client, req({ endpoint: `${target.url}/status/500`, repetitions: 1 }));
    assert.equal(r.attempts[0]?.error?.reason, 'BAD_STATUS');
    assert.equal(r.attempts[0]?.status, 500);
  });

  it('a refused connection is classified, without latency statistics', async () => {
    const port = await freePort();
    const s = await probe(client, req({ endpoint: `http://127.0.0.1:${port}/`, repetitions: 2 }));
    assert.equal(s.attempts, 2);
    assert.equal(s.responses, 0);
    assert.deepEqual(s.errors, [{ reason: 'CONNECT_REFUSED', count: 2 }]);
    assert.equal(s.averageMs, undefined);
    const r = await stream(client, req({ endpoint: `http://127.0.0.1:${port}/`, repetitions: 1 }));
    assert.equal(r.status.code, grpc.status.OK);
    assert.equal(r.attempts[0]?.error?.reason, 'CONNECT_REFUSED');
    assert.equal(r.attempts[0]?.error?.code, 'ECONNREFUSED');
    assert.equal(r.attempts[0]?.status, undefined);
  });

  it('Probe: a deadline shorter than the work returns OK with a partial summary', async () => {
    // 20 x 200 ms needs 4 s; the call allows 1.5 s (generous margins for loaded machines).
    const s = await probe(client, req({ endpoint: `${target.url}/delay/200`, repetitions: 20 }), 1500);
    assert.equal(s.deadlineReached, true);
    assert.ok(s.attempts < 20, `attempts ${s.attempts}`);
    assert.ok(s.successes >= 1, 'the first attempts fit in the budget');
  });

  it('ProbeStream: a deadline shorter than the work ends OK with deadline_reached', async () => {
    const r = await stream(client, req({ endpoint: `${target.url}/delay/200`, repetitions: 20 }), 1500);
    assert.equal(r.status.code, grpc.status.OK, r.status.details);
    const s = r.summary!;
    assert.equal(s.deadlineReached, true);
    assert.ok(s.attempts < 20);
    assert.equal(s.attempts, r.attempts.length);
    assert.equal(s.eventsSent, r.attempts.length);
    assert.ok(r.attempts.length >= 1);
  });

  it('client cancel aborts the in-flight target request', async () => {
    const aborts = target.clientAborts();
    const hangsBefore = target.hits.get('/hang') ?? 0;
    const call = client.ProbeStream(req({ endpoint: `${target.url}/hang`, repetitions: 0, timeout: ms(30_000) }));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => {});
    call.on('data', () => {});
    try {
      await until(() => (target.hits.get('/hang') ?? 0) > hangsBefore, 5000, 'the target request');
      call.cancel();
      await target.waitForClientAborts(aborts + 1, 5000);
      assert.equal((await status).code, grpc.status.CANCELLED);
      // Nothing keeps probing for a caller that left.
      const n = target.hits.get('/hang');
      await sleep(200);
      assert.equal(target.hits.get('/hang'), n);
    } finally {
      call.cancel();
    }
  });

  it('a slow reader pauses the prober (flow control), and the summary reports the wait', async () => {
    const before = { ...observer };
    // A small stream window fills quickly even on a loaded machine.
    const slow = newClient(server.address, SMALL_WINDOW);
    const call = slow.ProbeStream(
      req({ endpoint: `${target.url}/ok`, repetitions: 0, interval: ms(0) }),
      deadlineIn(8000),
    );
    try {
      const requestsBefore = target.requests();
      let read = 0;
      let minEventBytes = Infinity;
      let summary: Summary | undefined;
      const stalled = new Promise<void>((resolve) => {
        call.on('data', (ev: pb.ProbeEvent) => {
          read++;
          if (ev.has_attempt) minEventBytes = Math.min(minEventBytes, ev.serialize().length);
          if (ev.has_summary) summary = summaryFromProto(ev.summary);
          if (read === 5) {
            call.pause();
            resolve();
          }
        });
      });
      const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => {});
      await stalled;
      // Wait until probing stops (how long the buffers take to fill depends on
      // the machine's load), then require that it stays stopped.
      let r1 = -1;
      let r2 = target.requests() - requestsBefore;
      const giveUp = Date.now() + 5000;
      while (r1 !== r2 && Date.now() < giveUp) {
        r1 = r2;
        await sleep(300);
        r2 = target.requests() - requestsBefore;
      }
      assert.equal(r2, r1, `probing did not pause while the reader was stalled (${r1} -> ${r2})`);
      await sleep(300);
      assert.equal(target.requests() - requestsBefore, r1, 'no new target requests while the reader is stalled');

      // Upper bound on attempts beyond those read: messages (bytes + 5 framing
      // bytes each) fitting in the stream window plus the client's HTTP/2
      // read buffer (Node's default highWaterMark), grpc-js's object-mode
      // write buffer (16) and the one in _write, the engine's buffer and slot
      // (2), and a message or two held half-decoded by the client (2).
      const clientBuffer = getDefaultHighWaterMark(false);
      const bound = read + Math.ceil((SMALL_WINDOW + clientBuffer) / (minEventBytes + 5)) + 16 + 1 + 2 + 2;
      assert.ok(r1 <= bound, `target saw ${r1} requests, bound ${bound} (event >= ${minEventBytes} B)`);

      call.resume();
      const st = await status;
      assert.equal(st.code, grpc.status.OK, st.details);
      assert.ok(summary, 'summary arrived');
      assert.equal(summary.deadlineReached, true);
      assert.ok(summary.backpressureWaitMs > 0, 'backpressure_wait > 0');
      assert.equal(summary.eventsSent, read - 1);
      assert.equal(summary.attempts, read - 1);
      assert.ok(observer.waitMs - before.waitMs > 0);
      assert.equal(observer.waits, 0, 'every started wait was reported as ended');
    } finally {
      call.cancel();
      slow.close();
    }
  });

  it('invalid requests are INVALID_ARGUMENT naming the field', async () => {
    const url = `${target.url}/ok`;
    const cases: Array<[string, ConstructorParameters<typeof pb.ProbeRequest>[0], boolean]> = [
      ['endpoint', { endpoint: 'ftp://example.test/', repetitions: 1 }, true],
      ['endpoint', { endpoint: '', repetitions: 1 }, true],
      ['repetitions', { endpoint: url, repetitions: 0 }, false],
      ['repetitions', { endpoint: url, repetitions: 10_001 }, true],
      ['timeout', { endpoint: url, repetitions: 1, timeout: ms(61_000) }, true],
      ['concurrency', { endpoint: url, repetitions: 1, concurrency: 101 }, true],
      ['expected_status', { endpoint: url, repetitions: 1, expected_status: [new pb.StatusRange({ min: 600 })] }, true],
      [
        'expected_status',
        { endpoint: url, repetitions: 1, expected_status: [new pb.StatusRange({ min: 300, max: 200 })] },
        true,
      ],
      ['method', { endpoint: url, repetitions: 1, method: 9 as pb.HttpMethod }, true],
      // Not valid google.protobuf.Durations: nanos out of range, or signed unlike seconds.
      ['timeout', { endpoint: url, repetitions: 1, timeout: new Duration({ seconds: 1, nanos: 2_000_000_000 }) }, true],
      ['timeout', { endpoint: url, repetitions: 1, timeout: new Duration({ seconds: 2, nanos: -500_000_000 }) }, true],
      [
        'interval',
        { endpoint: url, repetitions: 1, interval: new Duration({ seconds: -1, nanos: 999_999_999 }) },
        true,
      ],
    ];
    const hits = target.requests();
    for (const [field, fields, alsoStream] of cases) {
      const err = await probeErr(client, req(fields));
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${field}: ${err.details}`);
      assert.match(err.details, new RegExp(`\\b${field}\\b`), `Probe message names ${field}: ${err.details}`);
      if (alsoStream) {
        const r = await stream(client, req(fields));
        assert.equal(r.status.code, grpc.status.INVALID_ARGUMENT);
        assert.match(r.status.details, new RegExp(`\\b${field}\\b`));
        assert.equal(r.events, 0);
      }
    }
    assert.equal(target.requests(), hits, 'invalid requests probe nothing');
  });
});

describe('configured limits', () => {
  it('apply to requests', async () => {
    const target = await startTarget();
    const server = await startServer({ listen: '127.0.0.1:0', limits: { maxRepetitions: 5, maxConcurrency: 2 } });
    const client = newClient(server.address);
    try {
      const err = await probeErr(client, req({ endpoint: `${target.url}/ok`, repetitions: 6 }));
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, /repetitions.*5/);
      const err2 = await probeErr(client, req({ endpoint: `${target.url}/ok`, repetitions: 1, concurrency: 3 }));
      assert.match(err2.details, /concurrency.*2/);
      const s = await probe(client, req({ endpoint: `${target.url}/ok`, repetitions: 5, concurrency: 2 }));
      assert.equal(s.successes, 5);
    } finally {
      client.close();
      await server.close(500);
      await target.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('lets a running call finish, then refuses new ones', async () => {
    const target = await startTarget();
    const server = await startServer({ listen: '127.0.0.1:0' });
    const client = newClient(server.address);
    try {
      const running = probe(client, req({ endpoint: `${target.url}/delay/300`, repetitions: 1 }));
      await until(() => target.requests() > 0, 5000, 'the probe to start');
      const closed = server.close(5000);
      const s = await running;
      assert.equal(s.successes, 1, 'in-flight call completed');
      await closed;
      const err = await probeErr(client, req({ endpoint: `${target.url}/ok`, repetitions: 1 }));
      assert.equal(err.code, grpc.status.UNAVAILABLE);
    } finally {
      client.close();
      await server.close(0);
      await target.close();
    }
  });

  it("a grace period past setTimeout's range (~24.8 days) still waits for running calls", async () => {
    const target = await startTarget();
    const server = await startServer({ listen: '127.0.0.1:0' });
    const client = newClient(server.address);
    try {
      const { call, status } = await continuousStream(client, target);
      let closed = false;
      const closing = server.close(30 * 24 * 3_600_000).then(() => (closed = true));
      // An overflowing timer would cancel the stream at once.
      await sleep(300);
      const n = target.requests();
      await until(() => target.requests() > n, 5000, 'probing to go on during the grace period');
      assert.equal(closed, false);
      call.cancel(); // the caller leaves: shutdown completes
      assert.equal((await status).code, grpc.status.CANCELLED);
      await closing;
    } finally {
      client.close();
      await server.close(0);
      await target.close();
    }
  });

  it('cancels a continuous stream after the grace period and stops probing', async () => {
    const target = await startTarget();
    const server = await startServer({ listen: '127.0.0.1:0' });
    const client = newClient(server.address);
    try {
      const { status } = await continuousStream(client, target);
      await server.close(200);
      const st = await status;
      assert.notEqual(st.code, grpc.status.OK);
      await sleep(50);
      const n = target.requests();
      await sleep(200);
      assert.equal(target.requests(), n, 'no probing after shutdown');
    } finally {
      client.close();
      await target.close();
    }
  });
});
