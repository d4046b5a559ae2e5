import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { sleep } from './helpers/wait.js';
import {
  slipToleranceMs,
  DEFAULT_LIMITS,
  DEFAULT_TARGET_POLICY,
  runProbes,
  validateProbeInput,
  type AttemptResult,
  type ProbeInput,
  type ProbeSpec,
} from '../src/probe/index.js';
import { startTarget, type Target } from './helpers/target.js';
import { overloadWarning, RunStats } from '../src/stats/index.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

const STREAMING = { ...DEFAULT_LIMITS, allowContinuous: true };

function spec(path: string, extra: Partial<ProbeInput> = {}, base = target.url): ProbeSpec {
  return validateProbeInput({ endpoint: `${base}${path}`, repetitions: 1, ...extra }, STREAMING);
}

async function collect(run: AsyncIterable<AttemptResult>): Promise<AttemptResult[]> {
  const out: AttemptResult[] = [];
  for await (const r of run) out.push(r);
  return out;
}

/** A server that counts requests in flight; `respond(n)` decides per request (1-based). */
async function countingServer(respond: (n: number, res: http.ServerResponse) => void): Promise<{
  url: string;
  inFlight: () => number;
  maxInFlight: () => number;
  aborted: () => number;
  close: () => Promise<void>;
}> {
  let n = 0;
  let current = 0;
  let max = 0;
  let aborted = 0;
  const server = http.createServer((_req, res) => {
    current++;
    max = Math.max(max, current);
    res.on('close', () => {
      current--;
      if (!res.writableFinished) aborted++;
    });
    respond(++n, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    inFlight: () => current,
    maxInFlight: () => max,
    aborted: () => aborted,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close').catch(() => undefined);
    },
  };
}

test('N results with seq 1..N, all successful', async () => {
  const run = runProbes(spec('/ok', { repetitions: 12, concurrency: 3 }));
  const results = await collect(run);
  assert.equal(results.length, 12);
  assert.deepEqual(
    results.map((r) => r.seq).sort((a, b) => a - b),
    Array.from({ length: 12 }, (_, i) => i + 1),
  );
  assert.ok(results.every((r) => r.error === undefined));
  assert.equal(run.launched, 12);
  assert.equal(run.deadlineReached, false);
});

test('concurrency is respected and used', async () => {
  const srv = await countingServer((_n, res) => setTimeout(() => res.end('x'), 30));
  try {
    const results = await collect(runProbes(spec('/', { repetitions: 12, concurrency: 3 }, srv.url)));
    assert.equal(results.length, 12);
    assert.ok(results.every((r) => r.error === undefined));
    assert.ok(srv.maxInFlight() <= 3, `max in flight ${srv.maxInFlight()}`);
    assert.ok(srv.maxInFlight() >= 2, `expected overlap, max in flight ${srv.maxInFlight()}`);
  } finally {
    await srv.close();
  }
});

test('results come in completion order', async () => {
  // Request 1 is slow, the rest fast: seq 1 is not first out.
  const srv = await countingServer((n, res) => setTimeout(() => res.end('x'), n === 1 ? 300 : 5));
  try {
    const results = await collect(runProbes(spec('/', { repetitions: 4, concurrency: 2 }, srv.url)));
    assert.equal(results.length, 4);
    assert.notEqual(results[0]?.seq, 1);
    assert.ok(results.some((r) => r.seq === 1));
  } finally {
    await srv.close();
  }
});

test('a consumer that stops pulling pauses probing', async () => {
  const concurrency = 2;
  const maxBuffered = 2;
  const run = runProbes(spec('/ok', { repetitions: 0, intervalMs: 0, concurrency }), { maxBuffered });
  const it = run[Symbol.asyncIterator]();
  let consumed = 0;
  for (let i = 0; i < 3; i++) {
    const r = await it.next();
    assert.equal(r.done, false);
    consumed++;
  }
  await sleep(300);
  const launched = run.launched;
  assert.ok(launched <= consumed + maxBuffered + concurrency, `launched ${launched}, consumed ${consumed}`);
  // Stricter, as implemented: a slot is held until its result is consumed.
  assert.ok(launched - consumed <= maxBuffered, `launched ${launched}, consumed ${consumed}`);
  assert.ok(launched - consumed >= 1, 'probing went ahead of the consumer a little');
  await sleep(100);
  assert.equal(run.launched, launched, 'nothing launched while the buffer is full');
  // Pulling again resumes.
  const more = await it.next();
  assert.equal(more.done, false);
  await it.return?.();
  assert.equal((await it.next()).done, true);
});

test('repetitions 0 runs until return()', async () => {
  const run = runProbes(spec('/ok', { repetitions: 0, intervalMs: 0 }));
  let n = 0;
  for await (const r of run) {
    assert.equal(r.error, undefined);
    if (++n === 25) break;
  }
  assert.equal(n, 25);
  assert.ok(run.launched >= 25 && run.launched <= 26, `launched ${run.launched}`);
});

test('deadline: no attempt starts too late, deadlineReached set, early end', async () => {
  const start = performance.now();
  const deadline = start + 300;
  const run = runProbes(spec('/delay/40', { repetitions: 1000, concurrency: 2 }), { deadline });
  const results = await collect(run);
  const ended = performance.now();
  assert.equal(run.deadlineReached, true);
  assert.ok(results.length > 0 && results.length < 1000, `results ${results.length}`);
  assert.equal(results.length, run.launched);
  // Every attempt's timeout was bounded by the deadline.
  assert.ok(ended < deadline + 200, `ended ${ended - deadline} ms after the deadline`);
  for (const r of results) {
    assert.ok(r.error === undefined || r.error.reason === 'ABORTED', JSON.stringify(r.error));
  }
});

test('deadline shortens a hanging attempt and reports it as ABORTED', async () => {
  const deadline = performance.now() + 150;
  const run = runProbes(spec('/hang', { repetitions: 1, timeoutMs: 10000 }), { deadline });
  const results = await collect(run);
  assert.equal(results.length, 1);
  assert.equal(results[0]?.error?.reason, 'ABORTED');
  assert.ok((results[0]?.latencyMs ?? Infinity) < 2000);
});

test('interval mode ends at once when the next start would miss the deadline', async () => {
  const start = performance.now();
  const run = runProbes(spec('/ok', { repetitions: 10, intervalMs: 5000 }), { deadline: start + 300 });
  const results = await collect(run);
  assert.equal(results.length, 1);
  assert.equal(run.deadlineReached, true);
  assert.ok(performance.now() - start < 3000, 'did not wait for the next interval');
});

test('maxBuffered 1 with concurrency 3 keeps a single slot', async () => {
  const srv = await countingServer((_n, res) => setTimeout(() => res.end('x'), 20));
  try {
    const results = await collect(
      runProbes(spec('/', { repetitions: 5, concurrency: 3 }, srv.url), { maxBuffered: 1 }),
    );
    assert.equal(results.length, 5);
    assert.equal(srv.maxInFlight(), 1);
  } finally {
    await srv.close();
  }
});

test('a deadline already too close launches nothing', async () => {
  const before = target.requests();
  const run = runProbes(spec('/ok', { repetitions: 5 }), { deadline: performance.now() + 2 });
  const results = await collect(run);
  assert.equal(results.length, 0);
  assert.equal(run.deadlineReached, true);
  assert.equal(run.launched, 0);
  assert.equal(target.requests(), before);
});

/** Start times as the engine stamped them (wall clock, ms), in start order. */
function startGaps(results: readonly AttemptResult[]): number[] {
  const starts = [...results].sort((a, b) => a.seq - b.seq).map((r) => r.startedAt);
  return starts.slice(1).map((t, i) => t - (starts[i] ?? 0));
}

test('interval spaces attempt starts, even with concurrency > 1', async () => {
  const intervalMs = 60;
  const srv = await countingServer((_n, res) => res.end('x'));
  try {
    const results = await collect(runProbes(spec('/', { repetitions: 5, intervalMs, concurrency: 3 }, srv.url)));
    assert.equal(results.length, 5);
    // Starts may run a few ms late (within the slip tolerance) but never early
    // by more than that; the server's arrival times would add network jitter.
    for (const [i, gap] of startGaps(results).entries()) {
      assert.ok(gap >= intervalMs - 6, `gap ${i + 1}: ${gap} ms`);
    }
  } finally {
    await srv.close();
  }
});

test('a slow consumer makes starts slip: recorded, and no burst afterwards', async () => {
  const intervalMs = 40;
  const srv = await countingServer((_n, res) => res.end('x'));
  try {
    const run = runProbes(spec('/', { repetitions: 6, intervalMs }, srv.url));
    const results: AttemptResult[] = [];
    for await (const r of run) {
      results.push(r);
      if (results.length === 2) await sleep(200); // hold the only slot
    }
    assert.equal(results.length, 6);
    const slipped = results.filter((r) => r.scheduleDelayMs !== undefined);
    assert.ok(slipped.length >= 1, 'a late start is recorded');
    assert.ok(slipped.every((r) => (r.scheduleDelayMs ?? 0) > 0));
    assert.equal(results[0]?.scheduleDelayMs, undefined);
    // The attempt after the pause started ~160 ms late and says so.
    assert.ok((results[3]?.scheduleDelayMs ?? 0) >= 100, JSON.stringify(results.map((r) => r.scheduleDelayMs)));
    for (const [i, gap] of startGaps(results).entries()) {
      assert.ok(gap >= intervalMs - 4, `no catch-up burst: gap ${i + 1} was ${gap} ms`);
    }
  } finally {
    await srv.close();
  }
});

test('breaking out of for-await aborts in-flight requests', async () => {
  // First request answers; the others hang until the client goes away.
  const srv = await countingServer((n, res) => {
    if (n === 1) res.end('x');
  });
  try {
    const run = runProbes(spec('/', { repetitions: 10, concurrency: 3, timeoutMs: 30000 }, srv.url));
    for await (const r of run) {
      assert.equal(r.seq, 1);
      // Give the other slots time to reach the server.
      for (let i = 0; i < 100 && srv.inFlight() < 2; i++) await sleep(10);
      break;
    }
    for (let i = 0; i < 200 && srv.aborted() < 2; i++) await sleep(10);
    assert.ok(srv.aborted() >= 2, `server saw ${srv.aborted()} aborts`);
    assert.equal(srv.inFlight(), 0);
  } finally {
    await srv.close();
  }
});

test('return() while a pull is pending ends it and aborts /hang', async () => {
  const abortsBefore = target.clientAborts();
  const run = runProbes(spec('/hang', { repetitions: 2, concurrency: 2, timeoutMs: 30000 }));
  const it = run[Symbol.asyncIterator]();
  const pending = it.next();
  await sleep(100);
  await it.return?.();
  assert.equal((await pending).done, true);
  await target.waitForClientAborts(abortsBefore + 2);
});

test('aborting the signal ends iteration and aborts in-flight requests', async () => {
  const abortsBefore = target.clientAborts();
  const ac = new AbortController();
  const run = runProbes(spec('/hang', { repetitions: 0, intervalMs: 0, concurrency: 2, timeoutMs: 30000 }), {
    signal: ac.signal,
  });
  setTimeout(() => ac.abort(), 100);
  const results = await collect(run);
  assert.equal(results.length, 0);
  assert.equal(run.launched, 2);
  await target.waitForClientAborts(abortsBefore + 2);
});

test('an aborted signal launches nothing', async () => {
  const run = runProbes(spec('/ok', { repetitions: 3 }), { signal: AbortSignal.abort() });
  assert.deepEqual(await collect(run), []);
  assert.equal(run.launched, 0);
});

test('attempts that fail before sending (a denied IP literal) come once each, within maxBuffered', async () => {
  // Such an attempt settles inside its own launch: the slot accounting must
  // still hold (no result twice, none lost, no more than maxBuffered ahead).
  const s: ProbeSpec = {
    ...spec('/ok', { repetitions: 40, concurrency: 4 }),
    targetPolicy: { ...DEFAULT_TARGET_POLICY, denyPrivate: true },
  };
  const run = runProbes(s, { maxBuffered: 2 });
  const seqs: number[] = [];
  for await (const r of run) {
    assert.equal(r.error?.reason, 'POLICY_DENIED');
    seqs.push(r.seq);
    assert.ok(run.launched - seqs.length <= 2, `launched ${run.launched} with ${seqs.length} consumed`);
    if (seqs.length % 10 === 0) await sleep(5);
  }
  assert.deepEqual(
    seqs,
    Array.from({ length: 40 }, (_, i) => i + 1),
  );
});

test('reuse_connections: one connection serves sequential attempts', async () => {
  const before = target.connections().opened;
  const results = await collect(runProbes(spec('/ok', { repetitions: 5, reuseConnections: true })));
  assert.equal(results.length, 5);
  assert.ok(results.every((r) => r.error === undefined));
  assert.equal(results[0]?.reused, false);
  assert.ok(
    results.slice(1).every((r) => r.reused),
    JSON.stringify(results.map((r) => r.reused)),
  );
  assert.ok(results.slice(1).every((r) => r.phases.connectMs === undefined));
  assert.equal(target.connections().opened - before, 1);
});

test('without reuse every attempt opens its own connection', async () => {
  const before = target.connections().opened;
  const results = await collect(runProbes(spec('/ok', { repetitions: 4 })));
  assert.ok(results.every((r) => !r.reused && r.phases.connectMs !== undefined));
  assert.equal(target.connections().opened - before, 4);
});

test('timer jitter is not a slip: the tolerance covers Node timers firing ~1.2 ms late', () => {
  // Measured on an idle loop: every "late" start at a 20 ms interval was 1.0–1.2 ms late.
  assert.ok(slipToleranceMs(20) > 1.5);
  assert.equal(slipToleranceMs(1000), 50);
});

/** Holds the event loop, as an overloaded prober thread would. */
function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

test('a consumer that blocks the loop: starts slip, latency from the intended start exceeds service time, and the loop delay is reported', async () => {
  const intervalMs = 10;
  const run = runProbes(spec('/ok', { repetitions: 6, intervalMs }));
  const stats = new RunStats({ intervalMs });
  for await (const r of run) {
    stats.add(r);
    busyWait(60); // every later start is due during this
  }
  const s = stats.summary({ eventLoopDelay: run.eventLoopDelay });
  assert.ok(s.scheduleSlips >= 3, `slips ${s.scheduleSlips}`);
  const i = s.intendedLatency!;
  assert.ok(i.samples > s.responses, 'skipped slots have stand-ins');
  assert.ok(i.p50Ms > s.p50Ms!, `intended p50 ${i.p50Ms} vs ${s.p50Ms}`);
  assert.ok(i.p99Ms > s.p99Ms!, `intended p99 ${i.p99Ms} vs ${s.p99Ms}`);
  assert.ok(i.maxMs > s.maxMs!);
  // Each 60 ms spin holds a 10 ms sampling tick well past its time.
  const loop = run.eventLoopDelay!;
  assert.ok(loop.samples >= 1);
  assert.ok(loop.maxMs >= 20, `loop delay max ${loop.maxMs}`);
  assert.ok(loop.p99Ms <= loop.maxMs);
  assert.equal(s.eventLoopDelay?.overloaded, true);
  assert.match(overloadWarning(s) ?? '', /^prober overloaded: readings may be inflated by up to \d+ ms$/);
});

test('the loop-delay reading stops with the run and is absent before it starts', async () => {
  const run = runProbes(spec('/ok', { repetitions: 2 }));
  assert.equal(run.eventLoopDelay, undefined);
  await collect(run);
  const after = run.eventLoopDelay;
  await sleep(40);
  assert.deepEqual(run.eventLoopDelay, after, 'frozen once iteration ended');
});

test('the next attempt is not launched inside the consumer turn that takes a result', async (t) => {
  // Ordering, not timing: a launch logged between a result's hand-over and the
  // end of the consumer's synchronous work would be timed as part of it.
  const log: string[] = [];
  const realRequest = http.request;
  t.mock.method(http, 'request', (...args: Parameters<typeof http.request>) => {
    log.push('launch');
    return realRequest(...args);
  });
  for (const reuseConnections of [false, true]) {
    log.length = 0;
    for await (const r of runProbes(spec('/ok', { repetitions: 5, reuseConnections }))) {
      log.push(`take ${r.seq}`);
      const until = performance.now() + 5;
      while (performance.now() < until) {
        // The consumer's synchronous work (stats, encoding, call.write).
      }
      await Promise.resolve(); // and its microtasks
      log.push(`done ${r.seq}`);
    }
    const expected = ['launch', 'take 1', 'done 1'];
    for (let k = 2; k <= 5; k++) expected.push('launch', `take ${k}`, `done ${k}`);
    assert.deepEqual(log, expected);
  }
});

test('launchOnPullBelowMs: the next attempt waits until the consumer is back for more', async () => {
  for (const launchOnPull of [false, true]) {
    const run = runProbes(spec('/ok', { repetitions: 3 }), launchOnPull ? { launchOnPullBelowMs: Infinity } : {});
    const it = run[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false);
    // Hold result 1 for a while: without the option the scheduler launches #2 meanwhile.
    await sleep(100);
    assert.equal(run.launched, launchOnPull ? 1 : 2, `launchOnPull ${launchOnPull}`);
    const rest: AttemptResult[] = [];
    for (let r = await it.next(); r.done !== true; r = await it.next()) rest.push(r.value);
    assert.deepEqual(
      rest.map((r) => r.seq),
      [2, 3],
    );
    assert.equal(run.launched, 3);
  }
});

test('launchOnPullBelowMs: after a longer attempt the next one starts without waiting for the consumer', async () => {
  for (const belowMs of [10, 1e9]) {
    const run = runProbes(spec('/delay/30', { repetitions: 2 }), { launchOnPullBelowMs: belowMs });
    const it = run[Symbol.asyncIterator]();
    const first = await it.next();
    assert.ok(first.done === false && first.value.latencyMs >= 30);
    await sleep(100);
    assert.equal(run.launched, belowMs === 10 ? 2 : 1, `launchOnPullBelowMs ${belowMs}`);
    while ((await it.next()).done !== true);
    assert.equal(run.launched, 2);
  }
});
