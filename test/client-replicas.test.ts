// A region of several replicas behind one target: round robin spreads the
// calls, the service config's retry hides a replica killed mid-call from a
// unary Probe, and probeStream's `resume` carries a stream over to the
// replica left. Real `prober serve` processes, killed with SIGKILL.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, ProberRpcError, probeOnce, probeStream, type StreamEvent } from '../src/client/index.js';
import { targetHosts } from '../src/client/transport.js';
import { ensureDist, metric, type ServeProcess, startServe } from './helpers/fleet.js';
import { startTarget, type Target } from './helpers/target.js';
import { until } from './helpers/wait.js';

let target: Target;
const servers: ServeProcess[] = [];
before(async () => {
  await ensureDist();
  target = await startTarget();
});
after(async () => {
  await Promise.all(servers.map((s) => s.kill()));
  await target?.close();
});

async function replicas(n: number): Promise<ServeProcess[]> {
  const started = await Promise.all(
    Array.from({ length: n }, () => startServe(['--listen', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0'])),
  );
  servers.push(...started);
  return started;
}

/** Probe calls a server has started (grpc_server_started_total{grpc_method="Probe"}). */
async function probeCalls(s: ServeProcess): Promise<number> {
  const text = await (await fetch(`${s.metrics}/metrics`)).text();
  const m = /^grpc_server_started_total\{[^}]*grpc_method="Probe"[^}]*\} (\d+)/m.exec(text);
  return Number(m?.[1] ?? 0);
}

test('targetHosts reads every host of a gRPC target', () => {
  assert.deepEqual(targetHosts('127.0.0.1:5'), ['127.0.0.1']);
  assert.deepEqual(targetHosts('dns:///prober.eu.example:50051'), ['prober.eu.example']);
  assert.deepEqual(targetHosts('dns://8.8.8.8/prober.eu.example:50051'), ['prober.eu.example']);
  assert.deepEqual(targetHosts('ipv4:127.0.0.1:1,127.0.0.2:2'), ['127.0.0.1', '127.0.0.2']);
  assert.deepEqual(targetHosts('ipv6:[::1]:1,[::1]:2'), ['::1', '::1']);
  // A token in clear goes to loopback only: every listed address must be loopback.
  assert.doesNotThrow(() => connect('ipv4:127.0.0.1:1,127.0.0.1:2', { token: 't' }).close());
  assert.throws(() => connect('ipv4:127.0.0.1:1,10.0.0.1:2', { token: 't' }), /only over TLS/);
});

test('unary calls on two replicas behind one target all succeed while one is killed', { timeout: 60_000 }, async () => {
  const [a, b] = await replicas(2);
  assert.ok(a && b);
  const conn = connect(`ipv4:${a.address},${b.address}`);
  try {
    const ok = { endpoint: `${target.url}/ok`, repetitions: 1 };
    for (let i = 0; i < 6; i++) assert.equal((await probeOnce(conn, ok, { deadlineMs: 10_000 })).successes, 1);
    // round_robin: both replicas took calls.
    assert.ok((await probeCalls(a)) >= 2, 'replica a took calls');
    assert.ok((await probeCalls(b)) >= 2, 'replica b took calls');

    // Calls in flight on `a` when it dies end UNAVAILABLE before any reply
    // metadata, and are retried on `b`.
    const slow = { endpoint: `${target.url}/delay/400`, repetitions: 1 };
    const inFlight = Array.from({ length: 8 }, () => probeOnce(conn, slow, { deadlineMs: 15_000 }));
    await until(async () => (await probeCalls(a)) >= 6, 5000, 'a busy');
    await new Promise((r) => setTimeout(r, 100));
    await a.kill();
    const results = await Promise.allSettled(inFlight);
    for (const r of results) {
      assert.equal(r.status, 'fulfilled', r.status === 'rejected' ? String(r.reason) : '');
      if (r.status === 'fulfilled') assert.equal(r.value.successes, 1);
    }
    for (let i = 0; i < 10; i++) assert.equal((await probeOnce(conn, ok, { deadlineMs: 10_000 })).successes, 1);
  } finally {
    conn.close();
  }
});

test('a stream whose replica dies resumes on the other, keeping what it received', { timeout: 60_000 }, async () => {
  const [a, b] = await replicas(2);
  assert.ok(a && b);
  const conn = connect(`ipv4:${a.address},${b.address}`);
  try {
    const input = { endpoint: `${target.url}/ok`, repetitions: 40, intervalMs: 50 };
    const events: StreamEvent[] = [];
    let killed = false;
    for await (const ev of probeStream(conn, input, { deadlineMs: 30_000, resume: { backoffMs: 50 } })) {
      events.push(ev);
      if (!killed && events.length === 10) {
        killed = true;
        const onA = (await metric(a, 'prober_streams_open')) === 1;
        await (onA ? a : b).kill();
      }
    }
    const attempts = events.flatMap((e) => (e.kind === 'attempt' ? [e.attempt] : []));
    const summary = events.at(-1);
    assert.equal(summary?.kind, 'summary');
    if (summary?.kind !== 'summary') return;
    assert.equal(summary.summary.resumed, 1);
    assert.equal(attempts.length, 40, 'the attempts received before the break are kept, the rest asked again');
    assert.equal(summary.summary.attempts, 40);
    assert.equal(summary.summary.successes, 40);
    assert.deepEqual(
      attempts.map((x) => x.seq),
      Array.from({ length: 40 }, (_, i) => i + 1),
      'seq keeps rising across the resume',
    );
  } finally {
    conn.close();
  }
});

test('without resume the broken stream throws UNAVAILABLE', { timeout: 60_000 }, async () => {
  const [a] = await replicas(1);
  assert.ok(a);
  const conn = connect(a.address);
  try {
    let n = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of probeStream(conn, { endpoint: `${target.url}/ok`, repetitions: 40, intervalMs: 50 })) {
          if (++n === 5) await a.kill();
        }
      })(),
      (err) => err instanceof ProberRpcError && err.code === 14,
    );
  } finally {
    conn.close();
  }
});
