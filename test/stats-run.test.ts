import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DISPLAY_BOUNDS_MS, RunStats, type Observation } from '../src/stats/index.js';

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
