// StreamFeed (stream -> stats, outcomes) and the pure helpers of the TUI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamFeed, RateMeter, type WatchEvent, type WatchSource } from '../src/tui/feed.js';
import { bar, logBounds, sparkline } from '../src/tui/format.js';
import { formatMsCompact, formatMsFixed } from '../src/common/format.js';
import { themeFromEnv } from '../src/tui/theme.js';
import { RunStats } from '../src/stats/index.js';
import { endlessSource, failedAttempt, okAttempt, scriptedSource, summaryEvent } from './helpers/tui-synthetic.js';
import { until } from './helpers/wait.js';

const snapOpts = { histogramRows: 10, recent: 20 };

function attempts(latencies: readonly number[]): WatchEvent[] {
  return latencies.map((ms, i) => ({ kind: 'attempt', attempt: okAttempt(i + 1, ms) }) as const);
}

test('logBounds: ascending, at most the rows asked, last bound covers the max', () => {
  for (const [lo, hi, n] of [
    [1, 100, 10],
    [0.05, 30_000, 25],
    [3.2, 3.3, 8],
    [5, 5, 4],
    [0, 12, 6],
  ] as const) {
    const b = logBounds(lo, hi, n);
    assert.ok(b.length >= 1 && b.length <= n + 1, `${lo}..${hi}/${n}: ${b.length} bounds`);
    for (let i = 1; i < b.length; i++) assert.ok(b[i]! > b[i - 1]!, `ascending: ${b}`);
    assert.ok(b[b.length - 1]! >= hi, `last ${b.at(-1)} >= ${hi}`);
  }
  // Log spacing: the ratio between neighbours is about constant.
  const b = logBounds(1, 1000, 6);
  const ratios = b.slice(1).map((x, i) => x / b[i]!);
  for (const r of ratios) assert.ok(r > 2 && r < 5, `ratio ${r} in ${b}`);
});

test('bar and sparkline helpers', () => {
  assert.equal(bar(1, 10), '█'.repeat(10));
  assert.equal(bar(0.5, 10), '█'.repeat(5));
  assert.equal(bar(0, 10), '');
  assert.equal(bar(0.001, 10).length, 1, 'a non-zero count is always visible');
  assert.equal(bar(0.5, 10, true), '#####');
  const s = sparkline([1, 10, 100, undefined, 1000]);
  assert.equal([...s].length, 5);
  assert.equal([...s][0], '▁');
  assert.equal([...s][4], '█');
  assert.equal([...s][3], '×');
  assert.equal(formatMsCompact(0.5), '500µs');
  assert.equal(formatMsCompact(12.34), '12.3ms');
  assert.equal(formatMsCompact(1234), '1.23s');
  assert.equal(formatMsCompact(undefined), '–');
  // The CLI's fixed rendering, for aligned columns.
  assert.equal(formatMsFixed(0.1234), '0.123 ms');
  assert.equal(formatMsFixed(12.345), '12.35 ms');
  assert.equal(formatMsFixed(1234), '1.234 s');
  assert.equal(formatMsFixed(undefined), '-');
});

test('themeFromEnv honours NO_COLOR and TERM=dumb', () => {
  assert.equal(themeFromEnv({}).color, true);
  assert.equal(themeFromEnv({ NO_COLOR: '1' }).color, false);
  assert.equal(themeFromEnv({ NO_COLOR: '' }).color, true, 'empty NO_COLOR does not count (no-color.org)');
  assert.deepEqual(themeFromEnv({ TERM: 'dumb' }), { color: false, unicode: false });
});

test('feed folds attempts into the same numbers RunStats computes', async () => {
  const lat = Array.from({ length: 200 }, (_, i) => 1 + ((i * 37) % 200) / 4);
  const feed = new StreamFeed(scriptedSource('s', attempts(lat)), { repetitions: 200 });
  const out = await feed.start();
  const ref = new RunStats();
  for (const [i, ms] of lat.entries()) ref.add(okAttempt(i + 1, ms));
  const want = ref.summary();
  const snap = feed.snapshot(snapOpts);
  assert.equal(snap.received, 200);
  for (const k of ['p50Ms', 'p90Ms', 'p95Ms', 'p99Ms', 'minMs', 'maxMs', 'averageMs'] as const) {
    assert.equal(snap.summary[k], want[k], k);
  }
  // The histogram re-bins every response into at most the rows asked.
  assert.ok(snap.histogram.buckets.length <= snapOpts.histogramRows + 1);
  assert.equal(
    snap.histogram.buckets.reduce((n, b) => n + b.count, 0) + snap.histogram.overflow,
    200,
  );
  assert.equal(snap.histogram.overflow, 0);
  assert.equal(snap.recent.length, 20);
  assert.equal(snap.recent[19], lat[199]);
  // No server summary in this script: the stream "ended" without one.
  assert.equal(out.status, 'done');
  assert.equal(out.summary.attempts, 200);
});

test('feed outcome: server summary, deadline, RPC error, DEADLINE_EXCEEDED', async () => {
  const ref = new RunStats();
  ref.add(okAttempt(1, 3));
  const serverSummary = { ...ref.summary({ eventsSent: 1, backpressureWaitMs: 7 }) };
  const done = await new StreamFeed(
    scriptedSource('a', [...attempts([3]), summaryEvent(serverSummary)]),
    { repetitions: 1 },
  ).start();
  assert.equal(done.status, 'done');
  assert.equal(done.serverSummary?.eventsSent, 1);
  assert.equal(done.summary, done.serverSummary, 'the server summary is the one reported');

  const dl = await new StreamFeed(
    scriptedSource('b', [...attempts([3]), summaryEvent({ ...serverSummary, deadlineReached: true })]),
    { repetitions: 5 },
  ).start();
  assert.equal(dl.status, 'deadline');

  const throwing = (err: unknown): WatchSource => ({
    label: 'c',
    open: () =>
      (async function* (): AsyncGenerator<WatchEvent> {
        yield { kind: 'attempt', attempt: okAttempt(1, 2) };
        throw err;
      })(),
  });
  const unavailable = Object.assign(new Error('UNAVAILABLE: no connection'), {
    code: 14,
    codeName: 'UNAVAILABLE',
    details: 'no connection',
  });
  const e = await new StreamFeed(throwing(unavailable), { repetitions: 5 }).start();
  assert.equal(e.status, 'error');
  assert.equal(e.failure?.codeName, 'UNAVAILABLE');
  assert.equal(e.failure?.message, 'no connection');
  assert.equal(e.failure?.cause, unavailable);
  assert.equal(e.received, 1, 'what arrived before the failure is kept');

  const exceeded = Object.assign(new Error('x'), { code: 4, codeName: 'DEADLINE_EXCEEDED', details: 'Deadline exceeded' });
  const d = await new StreamFeed(throwing(exceeded), { repetitions: 5 }).start();
  assert.equal(d.status, 'deadline');
  assert.equal(d.summary.attempts, 1, 'partial statistics are kept');
});

test('feed: cancel ends a continuous stream as cancelled; reset clears only the view', async () => {
  const feed = new StreamFeed(endlessSource('e', 2, (s) => 1 + (s % 5)), { repetitions: 0 });
  const running = feed.start();
  await until(() => feed.received >= 10, 10_000, '10 attempts received', 5);
  feed.reset();
  assert.equal(feed.snapshot(snapOpts).summary.attempts, 0, 'view cleared');
  assert.ok(feed.snapshot(snapOpts).received >= 10, 'progress counter kept');
  feed.cancel();
  const out = await running;
  assert.equal(out.status, 'cancelled');
  assert.equal(out.summary.attempts, out.received, 'final summary covers the whole run despite the reset');
});

test('feed: --slow-consumer delays each pull of the stream', async () => {
  const pulls: number[] = [];
  const src: WatchSource = {
    label: 'slow',
    open: () => ({
      [Symbol.asyncIterator]() {
        let seq = 0;
        return {
          async next(): Promise<IteratorResult<WatchEvent>> {
            pulls.push(performance.now());
            seq++;
            if (seq > 5) return { done: true, value: undefined };
            return { done: false, value: { kind: 'attempt', attempt: okAttempt(seq, 1) } };
          },
        };
      },
    }),
  };
  await new StreamFeed(src, { repetitions: 5, slowConsumerMs: 40 }).start();
  assert.equal(pulls.length, 6);
  for (let i = 1; i < pulls.length; i++) {
    // setTimeout may fire a hair early relative to performance.now().
    assert.ok(pulls[i]! - pulls[i - 1]! >= 38, `pull ${i} came ${pulls[i]! - pulls[i - 1]!} ms after the previous`);
  }
});

test('feed: failed attempts without a response count as failures and as gaps in recent', async () => {
  const evs: WatchEvent[] = [
    { kind: 'attempt', attempt: okAttempt(1, 5) },
    { kind: 'attempt', attempt: failedAttempt(2, 1) },
    { kind: 'attempt', attempt: okAttempt(3, 7, 503) },
  ];
  const feed = new StreamFeed(scriptedSource('f', evs), { repetitions: 3 });
  await feed.start();
  const s = feed.snapshot(snapOpts);
  assert.deepEqual(s.recent, [5, undefined, 7]);
  assert.equal(s.summary.failures, 2);
  assert.equal(s.summary.responses, 2);
  assert.deepEqual(s.lastError, { seq: 3, reason: 'BAD_STATUS', message: 'unexpected status 503' });
});

test('RateMeter: events per second over recent samples', () => {
  const m = new RateMeter();
  assert.equal(m.sample(0, 0), 0);
  assert.equal(m.sample(1000, 100), 100);
  m.sample(2000, 300);
  const r = m.sample(3000, 600);
  assert.ok(r > 150 && r <= 300, `rate ${r}`);
});
