// The probe engine on its own worker thread, behind the service's RunProbesFn
// seam: results, backpressure credit, cancel, deadline, a dying worker, and a
// warm-up that never touches the user's target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, validateProbeInput, type AttemptResult, type ProbeInput } from '../src/probe/index.js';
import { startEngineThread, type EngineThread } from '../src/server/engine-thread.js';
import { startServer } from '../src/server/server.js';
import { connect, probeOnce } from '../src/client/index.js';
import { startTarget, type Target } from './helpers/target.js';
import { sleep } from './helpers/wait.js';

let target: Target;
let engine: EngineThread;
const logged: unknown[] = [];
const logger = { error: (obj: unknown) => void logged.push(obj) };

before(async () => {
  target = await startTarget();
  engine = await startEngineThread({ warmUpAttempts: 0, logger });
});
after(async () => {
  await engine.close();
  await target.close();
});

function spec(path: string, extra: Partial<ProbeInput> = {}) {
  return validateProbeInput({ endpoint: `${target.url}${path}`, repetitions: 1, ...extra }, DEFAULT_LIMITS);
}

test('results come back as plain AttemptResults, all of them', async () => {
  const run = engine.runProbes(spec('/ok', { repetitions: 5, concurrency: 2 }), {});
  const out: AttemptResult[] = [];
  for await (const r of run) out.push(r);
  assert.deepEqual(
    out.map((r) => r.seq).sort((a, b) => a - b),
    [1, 2, 3, 4, 5],
  );
  assert.ok(out.every((r) => r.status === 200 && r.error === undefined && r.latencyMs > 0));
  assert.equal(run.deadlineReached, false);
});

test('a consumer that stops pulling pauses probing on the thread (credit)', async () => {
  const before = target.hits.get('/ok') ?? 0;
  const run = engine.runProbes(spec('/ok', { repetitions: 1000 }), {});
  const it = run[Symbol.asyncIterator]();
  await it.next(); // take one, then stall
  await sleep(300);
  const sent = (target.hits.get('/ok') ?? 0) - before;
  // One result held, one window (1) waiting here, one in the engine's slot.
  assert.ok(sent <= 4, `stalled consumer, yet ${sent} attempts ran`);
  await it.next();
  await it.return?.();
});

test('aborting the signal ends iteration at once and aborts the attempt on the thread', async () => {
  const aborts = target.clientAborts();
  const ac = new AbortController();
  const run = engine.runProbes(spec('/hang', { timeoutMs: 30_000 }), { signal: ac.signal });
  const pending = run[Symbol.asyncIterator]().next();
  await sleep(100);
  ac.abort();
  assert.equal((await pending).done, true);
  await target.waitForClientAborts(aborts + 1, 10_000);
});

test('the deadline crosses as a budget: a hanging attempt ends ABORTED, deadlineReached', async () => {
  const run = engine.runProbes(spec('/hang', { repetitions: 3, timeoutMs: 30_000 }), {
    deadline: performance.now() + 300,
  });
  const out: AttemptResult[] = [];
  for await (const r of run) out.push(r);
  assert.equal(out.length, 1);
  assert.equal(out[0]?.error?.reason, 'ABORTED');
  assert.equal(run.deadlineReached, true);
});

test('a worker that dies fails its calls (no hang), is logged, and the next call gets a new one', async () => {
  const run = engine.runProbes(spec('/hang', { timeoutMs: 30_000 }), {});
  const pending = run[Symbol.asyncIterator]().next();
  await sleep(100);
  await engine.terminate();
  await assert.rejects(pending, /engine thread exited/);
  assert.ok(logged.length >= 1);
  const out: AttemptResult[] = [];
  for await (const r of engine.runProbes(spec('/ok', { repetitions: 2 }), {})) out.push(r);
  assert.equal(out.length, 2);
});

test('a server warms its engine against its own loopback server, never the target', async () => {
  const before = target.requests();
  const server = await startServer({
    listen: '127.0.0.1:0',
    observability: { health: false, reflection: false },
    warmUp: true,
  });
  const conn = connect(server.address);
  try {
    const s = await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 3 });
    assert.equal(s.successes, 3);
    assert.equal(target.requests() - before, 3);
  } finally {
    conn.close();
    await server.close(0);
  }
});

test("the summary carries the engine thread's loop delay and the intended-start latency", async () => {
  const server = await startServer({
    listen: '127.0.0.1:0',
    observability: { health: false, reflection: false },
    warmUp: false,
  });
  const conn = connect(server.address);
  try {
    // Long enough for several 10 ms loop-delay samples on the worker.
    const s = await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 6, intervalMs: 25 });
    assert.equal(s.successes, 6);
    assert.ok(s.eventLoopDelay !== undefined, 'the loop delay crossed the thread boundary');
    assert.ok(s.eventLoopDelay.maxMs >= s.eventLoopDelay.p99Ms);
    assert.ok(s.intendedLatency !== undefined, 'interval mode reports latency from the intended start');
  } finally {
    conn.close();
    await server.close(0);
  }
});
