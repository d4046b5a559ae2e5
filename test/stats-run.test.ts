import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DISPLAY_BOUNDS_MS,
  eventLoopVerdict,
  MAX_STANDINS,
  overloadWarning,
  RunStats,
  type Observation,
} from '../src/stats/index.js';

const ok = (latencyMs: number, status = 200): Observation => ({ latencyMs, status, phases: {} });

test('empty stats: counts zero, latency fields undefined', () => {
  const s = new RunStats().summary();
  assert.equal(s.attempts, 0);
  assert.equal(s.responses, 0);
  for (const k of ['averageMs', 'minMs', 'maxMs', 'p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'stddevMs'] as const) {
    assert.equal(s[k], undefined, k);
  }
  assert.deepEqual(s.histogram, []);
  assert.equal(s.histogramOverflow, 0);
  assert.equal(s.deadlineReached, false);
});

test('average equals the arithmetic mean of responses; failures without response excluded', () => {
  const st = new RunStats();
  const lat = [12.5, 7.25, 30, 1.125, 99];
  for (const l of lat) st.add(ok(l));
  st.add({ latencyMs: 5000, error: { reason: 'TIMEOUT' } });
  st.add({ latencyMs: 0.3, error: { reason: 'CONNECT_REFUSED' } });
  st.add({ latencyMs: 0.4, error: { reason: 'CONNECT_REFUSED' } });
  // A bad status is a failure but has a response: it counts in latency stats.
  st.add({ latencyMs: 20, status: 503, error: { reason: 'BAD_STATUS' } });
  const s = st.summary();
  const resp = [...lat, 20];
  assert.equal(s.attempts, 9);
  assert.equal(s.successes, 5);
  assert.equal(s.failures, 4);
  assert.equal(s.responses, 6);
  assert.ok(Math.abs(s.averageMs! - resp.reduce((a, b) => a + b, 0) / resp.length) < 1e-9);
  assert.equal(s.minMs, 1.125);
  assert.equal(s.maxMs, 99);
  assert.deepEqual(s.statuses, [
    { status: 200, count: 5 },
    { status: 503, count: 1 },
  ]);
  assert.deepEqual(s.errors, [
    { reason: 'CONNECT_REFUSED', count: 2 },
    { reason: 'BAD_STATUS', count: 1 },
    { reason: 'TIMEOUT', count: 1 },
  ]);
  const inHist = s.histogram.reduce((a, b) => a + b.count, 0) + s.histogramOverflow;
  assert.equal(inHist, s.responses);
});

test('ABORTED attempts (deadline or cancel) are counted apart, not as failures', () => {
  const st = new RunStats();
  st.add(ok(10));
  st.add({ latencyMs: 5, error: { reason: 'TIMEOUT' } });
  st.add({ latencyMs: 20, error: { reason: 'ABORTED' } });
  st.add({ latencyMs: 30, error: { reason: 'ABORTED' } });
  const s = st.summary({ deadlineReached: true });
  assert.equal(s.attempts, 4);
  assert.equal(s.successes, 1);
  assert.equal(s.failures, 1);
  assert.equal(s.aborted, 2);
  assert.equal(s.successes + s.failures + s.aborted, s.attempts);
  // The reasons still list every error, ABORTED included.
  assert.deepEqual(s.errors, [
    { reason: 'ABORTED', count: 2 },
    { reason: 'TIMEOUT', count: 1 },
  ]);
  st.reset();
  assert.equal(st.summary().aborted, 0);
});

test('display histogram: 1-2-5 bounds, trimmed, non-cumulative, overflow separate', () => {
  const st = new RunStats();
  st.add(ok(3)); // (2, 5]
  st.add(ok(5)); // (2, 5] inclusive
  st.add(ok(40)); // (20, 50]
  st.add(ok(150_000)); // overflow
  const s = st.summary();
  assert.deepEqual(
    s.histogram.map((b) => [b.upperBoundMs, b.count]),
    [
      [5, 2],
      [10, 0],
      [20, 0],
      [50, 1],
    ],
  );
  assert.equal(s.histogramOverflow, 1);
  assert.equal(DISPLAY_BOUNDS_MS[0], 0.1);
  assert.equal(DISPLAY_BOUNDS_MS[DISPLAY_BOUNDS_MS.length - 1], 100000);
});

test('histogram counts sum to responses on random data', () => {
  const st = new RunStats();
  let seed = 7;
  const next = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let i = 0; i < 3000; i++) {
    if (next() < 0.1) st.add({ latencyMs: 1, error: { reason: 'RESET' } });
    else st.add(ok(Math.exp(next() * 13) / 10));
  }
  const s = st.summary();
  assert.equal(s.histogram.reduce((a, b) => a + b.count, 0) + s.histogramOverflow, s.responses);
  const full = st.histogram([1, 10, 100]);
  assert.equal(full.buckets.length, 3);
  assert.equal(full.buckets.reduce((a, b) => a + b.count, 0) + full.overflow, s.responses);
});

test('schedule slips, phase medians, run facts and reset', () => {
  const st = new RunStats();
  st.add({ latencyMs: 10, status: 200, phases: { dnsMs: 1, connectMs: 2, ttfbMs: 5 } });
  st.add({ latencyMs: 12, status: 200, phases: { connectMs: 4, ttfbMs: 7 }, scheduleDelayMs: 3 });
  st.add({ latencyMs: 14, status: 200, phases: { connectMs: 3, ttfbMs: 6 } });
  const m = st.phaseMedians();
  assert.equal(m.dnsMs, 1);
  assert.equal(m.connectMs, 3);
  assert.equal(m.ttfbMs, 6);
  assert.equal(m.tlsMs, undefined);
  assert.equal('tlsMs' in m, false);
  const s = st.summary({ deadlineReached: true, backpressureWaitMs: 12, elapsedMs: 100, eventsSent: 3 });
  assert.equal(s.scheduleSlips, 1);
  assert.equal(s.deadlineReached, true);
  assert.equal(s.backpressureWaitMs, 12);
  assert.equal(s.elapsedMs, 100);
  assert.equal(s.eventsSent, 3);
  assert.equal(s.p50Ms, 12);
  assert.deepEqual(s.phases, { dnsMs: 1, connectMs: 3, ttfbMs: 6 });
  st.reset();
  const e = st.summary();
  assert.equal(e.attempts, 0);
  assert.equal(e.scheduleSlips, 0);
  assert.equal(e.averageMs, undefined);
  assert.deepEqual(st.phaseMedians(), {});
});

test('failed responses re-bin apart: failedHistogram counts responses that failed, reset clears them', () => {
  const st = new RunStats();
  for (let i = 0; i < 20; i++) st.add(ok(5));
  st.add({ latencyMs: 5, status: 503, error: { reason: 'BAD_STATUS' } });
  st.add({ latencyMs: 50, status: 200, error: { reason: 'BODY_TOO_LARGE' } });
  st.add({ latencyMs: 1, error: { reason: 'CONNECT_REFUSED' } }); // no response: in neither
  const bounds = [10, 100];
  assert.deepEqual(
    st.histogram(bounds).buckets.map((b) => b.count),
    [21, 1],
  );
  assert.deepEqual(
    st.failedHistogram(bounds).buckets.map((b) => b.count),
    [1, 1],
  );
  assert.equal(st.latencyPercentile(50), 5);
  st.reset();
  assert.deepEqual(
    st.failedHistogram(bounds).buckets.map((b) => b.count),
    [0, 0],
  );
});

test('interval mode: latency from the intended start adds the delay and stands in for skipped slots', () => {
  const st = new RunStats({ intervalMs: 10 });
  st.add({ latencyMs: 5, status: 200 });
  // Due at 10, started at 35: 25 ms late, so the slots due at 20 and 30 were skipped.
  st.add({ latencyMs: 5, status: 200, scheduleDelayMs: 25 });
  // No response: counted as a slip, not in either latency distribution.
  st.add({ latencyMs: 3, error: { reason: 'CONNECT_REFUSED' }, scheduleDelayMs: 50 });
  const s = st.summary();
  assert.equal(s.p50Ms, 5);
  assert.equal(s.p99Ms, 5);
  assert.equal(s.scheduleSlips, 2);
  assert.deepEqual(s.intendedLatency, {
    samples: 4, // 5, 30, and the stand-ins 20 and 10
    averageMs: 16.25,
    p50Ms: 10,
    p90Ms: 30,
    p95Ms: 30,
    p99Ms: 30,
    maxMs: 30,
  });
  st.reset();
  assert.equal(st.summary().intendedLatency, undefined);
});

test('interval mode without slips: the intended distribution is the service distribution', () => {
  const st = new RunStats({ intervalMs: 100 });
  for (const ms of [4, 8, 1]) st.add({ latencyMs: ms, status: 200 });
  const s = st.summary();
  const i = s.intendedLatency!;
  assert.deepEqual([i.samples, i.p50Ms, i.p99Ms, i.maxMs], [s.responses, s.p50Ms, s.p99Ms, s.maxMs]);
});

test('back to back (no interval): no intended-start latency', () => {
  const st = new RunStats();
  st.add({ latencyMs: 5, status: 200, scheduleDelayMs: 30 });
  assert.equal(st.summary().intendedLatency, undefined);
  assert.equal(new RunStats({ intervalMs: 0 }).summary().intendedLatency, undefined);
});

test('a long stall adds at most MAX_STANDINS stand-ins', () => {
  const st = new RunStats({ intervalMs: 1 });
  st.add({ latencyMs: 1, status: 200, scheduleDelayMs: 1e9 });
  assert.equal(st.summary().intendedLatency!.samples, 1 + MAX_STANDINS);
});

test('event-loop delay: overloaded above max(10 ms, 10% of the median); the one warning text', () => {
  const st = new RunStats();
  st.add({ latencyMs: 2, status: 200 });
  assert.equal(st.summary().eventLoopDelay, undefined);
  const calm = st.summary({ eventLoopDelay: { p99Ms: 9, maxMs: 30, samples: 10 } });
  assert.deepEqual(calm.eventLoopDelay, { p99Ms: 9, maxMs: 30, overloaded: false });
  assert.equal(overloadWarning(calm), undefined);
  const busy = st.summary({ eventLoopDelay: { p99Ms: 12, maxMs: 30.2, samples: 10 } });
  assert.equal(busy.eventLoopDelay?.overloaded, true);
  assert.equal(overloadWarning(busy), 'prober overloaded: readings may be inflated by up to 31 ms');
  // A 12 ms p99 is noise next to 1 s responses.
  assert.equal(eventLoopVerdict({ p99Ms: 12, maxMs: 30, samples: 10 }, 1000).overloaded, false);
  assert.equal(eventLoopVerdict({ p99Ms: 120, maxMs: 130, samples: 10 }, 1000).overloaded, true);
});
