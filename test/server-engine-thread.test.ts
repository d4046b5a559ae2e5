// The probe engine on its own worker thread, behind the service's RunProbesFn
// seam: results, backpressure credit, cancel, deadline, a dying worker, and a
// warm-up that never touches the user's target.
import { test, before, after } from 'node:test';
import net from 'node:net';
import { Registry } from 'prom-client';
import assert from 'node:assert/strict';
import { DEFAULT_LIMITS, validateProbeInput, warmUp, type AttemptResult, type ProbeInput } from '../src/probe/index.js';
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

/** The lines of a /metrics text that describe probes (not process or Node metrics, nor comments). */
function probeSeries(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('prober_') && /endpoint="|rpc="|attempts|latency/.test(l));
}

test('warmUp() connects only to its own loopback server', async () => {
  const seen: string[] = [];
  const listened: number[] = [];
  const connect0 = net.Socket.prototype.connect;
  const listen0 = net.Server.prototype.listen;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const o = args[0] as { host?: string; port?: number } | unknown[];
    const opts = (Array.isArray(o) ? o[0] : o) as { host?: string; port?: number };
    seen.push(`${opts.host}:${opts.port}`);
    return (connect0 as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof connect0;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    this.once('listening', () => listened.push((this.address() as net.AddressInfo).port));
    return (listen0 as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof listen0;
  try {
    const report = await warmUp(2);
    assert.equal(report.attempts, 2 + 2 + 2);
  } finally {
    net.Socket.prototype.connect = connect0;
    net.Server.prototype.listen = listen0;
  }
  assert.equal(listened.length, 1, 'one loopback server of its own');
  assert.ok(seen.length >= 3, `connections seen: ${seen.join(', ')}`);
  for (const s of seen) assert.equal(s, `127.0.0.1:${listened[0]}`);
});

test('a server warms its engine against its own loopback server, never the target, and /metrics shows none of it', async () => {
  const before = target.requests();
  const registry = new Registry();
  const server = await startServer({
    listen: '127.0.0.1:0',
    observability: { health: false, reflection: false, metrics: { registry, defaultMetrics: false } },
    warmUp: true,
  });
  const conn = connect(server.address);
  try {
    assert.equal(target.requests(), before, 'the start-up touched no target');
    const fresh = await registry.metrics();
    assert.deepEqual(probeSeries(fresh), [], 'no series from the warm-up');
    assert.doesNotMatch(fresh, /127\.0\.0\.1/, 'no loopback endpoint label');
    const s = await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 3 });
    assert.equal(s.successes, 3);
    assert.equal(target.requests() - before, 3);
    // The check above can fail: a real call does leave series.
    const after = await registry.metrics();
    assert.ok(probeSeries(after).length > 0, 'a real call is on /metrics');
    assert.match(after, new RegExp(`prober_attempts_total\\{[^}]*endpoint="${target.url}/ok"[^}]*\\} 3`));
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
