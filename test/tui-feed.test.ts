// StreamFeed (stream -> stats, outcomes) and the pure helpers of the TUI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamFeed, RateMeter, RATE_SECONDS, type WatchEvent, type WatchSource } from '../src/tui/feed.js';
import { axisTopMs, bar, logBounds, rateSparkline, sparkline, splitBar } from '../src/tui/format.js';
import { formatMsCompact, formatMsFixed } from '../src/common/format.js';
import { themeFromEnv } from '../src/tui/theme.js';
import { RunStats } from '../src/stats/index.js';
import {
  endlessSource,
  failedAttempt,
  idleSource,
  okAttempt,
  scriptedSource,
  summaryEvent,
} from './helpers/tui-synthetic.js';
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
  assert.equal(snap.histogram.buckets.reduce((n, b) => n + b.count, 0) + snap.histogram.overflow, 200);
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
  const done = await new StreamFeed(scriptedSource('a', [...attempts([3]), summaryEvent(serverSummary)]), {
    repetitions: 1,
  }).start();
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

  const exceeded = Object.assign(new Error('x'), {
    code: 4,
    codeName: 'DEADLINE_EXCEEDED',
    details: 'Deadline exceeded',
  });
  const d = await new StreamFeed(throwing(exceeded), { repetitions: 5 }).start();
  assert.equal(d.status, 'deadline');
  assert.equal(d.summary.attempts, 1, 'partial statistics are kept');
});

test('feed: cancel ends a continuous stream as cancelled; reset clears only the view', async () => {
  const feed = new StreamFeed(
    endlessSource('e', 2, (s) => 1 + (s % 5)),
    { repetitions: 0 },
  );
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

test('histogram axis: a few far outliers go to one overflow row, the max stays in the stats', () => {
  const feed = new StreamFeed(idleSource('s'), { repetitions: 0 });
  // 160 responses between 2 and 10 ms, 4 at 400 ms (the 4 of 164).
  for (let i = 0; i < 160; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(i + 1, 2 + ((i * 7919) % 160) / 20) });
  for (let i = 0; i < 4; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(161 + i, 400) });
  const snap = feed.snapshot({ histogramRows: 29, recent: 10 });
  assert.equal(snap.summary.maxMs, 400);
  assert.equal(snap.histogram.overflow, 4);
  assert.equal(snap.histogram.maxMs, 400);
  const last = snap.histogram.buckets.at(-1)!.upperBoundMs;
  assert.ok(last >= 10 && last < 20, `the axis ends near the body's top: ${last}`);
  const empty = snap.histogram.buckets.filter((b) => b.count === 0).length;
  assert.ok(empty <= snap.histogram.buckets.length / 3, `${empty} of ${snap.histogram.buckets.length} rows empty`);
  assert.ok(snap.histogram.buckets.length + 1 <= 29, 'the overflow row fits the rows asked');

  // Log-normal-ish latencies without far outliers: the axis ends at the max.
  const plain = new StreamFeed(idleSource('p'), { repetitions: 0 });
  for (let i = 0; i < 500; i++)
    plain.fold({ kind: 'attempt', attempt: okAttempt(i + 1, Math.exp(1 + ((i * 7919) % 500) / 250)) });
  const ps = plain.snapshot({ histogramRows: 20, recent: 10 });
  assert.equal(ps.histogram.overflow, 0);
  assert.ok(ps.histogram.buckets.at(-1)!.upperBoundMs >= ps.summary.maxMs!);
});

test('histogram: each bucket says how many of its responses failed', () => {
  const feed = new StreamFeed(idleSource('s'), { repetitions: 0 });
  let seq = 0;
  for (let i = 0; i < 30; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 2) });
  for (let i = 0; i < 10; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 2, 503) });
  for (let i = 0; i < 20; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 20) });
  feed.fold({ kind: 'attempt', attempt: failedAttempt(++seq, 1) }); // no response: not in the histogram
  const h = feed.snapshot({ histogramRows: 4, recent: 10 }).histogram;
  const first = h.buckets.find((b) => b.count > 0)!;
  const lastB = h.buckets.findLast((b) => b.count > 0)!;
  assert.equal(first.count, 40);
  assert.equal(first.failed, 10);
  assert.equal(lastB.count, 20);
  assert.equal(lastB.failed ?? 0, 0);
  assert.equal(
    h.buckets.reduce((n, b) => n + (b.failed ?? 0), 0),
    10,
  );
});

test('rates: attempts and errors per whole second, a ring of the last minute', () => {
  let now = 10_000;
  const feed = new StreamFeed(idleSource('s'), { repetitions: 0, now: () => now });
  let seq = 0;
  const second = (ok: number, bad: number): void => {
    for (let i = 0; i < ok; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 3) });
    for (let i = 0; i < bad; i++) feed.fold({ kind: 'attempt', attempt: failedAttempt(++seq, 1) });
    now += 1000;
  };
  second(5, 0);
  second(3, 2);
  now += 2000; // two idle seconds
  second(1, 1);
  assert.deepEqual(feed.snapshot(snapOpts).rates, { attempts: [5, 5, 0, 0, 2], errors: [0, 2, 0, 0, 1] });
  // Bounded: after three minutes only the last 59 whole seconds remain.
  for (let s = 0; s < 180; s++) second(4, 0);
  const r = feed.snapshot(snapOpts).rates;
  assert.equal(r.attempts.length, RATE_SECONDS - 1);
  assert.ok(r.attempts.every((n) => n === 4));
  feed.reset();
  assert.deepEqual(feed.snapshot(snapOpts).rates, { attempts: [], errors: [] }, 'reset restarts the chart');
});

test('reset: the snapshot says how long ago the statistics restarted', () => {
  let now = 0;
  const feed = new StreamFeed(idleSource('s'), { repetitions: 0, now: () => now });
  feed.fold({ kind: 'attempt', attempt: okAttempt(1, 3) });
  assert.equal(feed.snapshot(snapOpts).sinceResetMs, undefined, 'no reset yet');
  now = 5_000;
  feed.reset();
  now = 17_000;
  assert.equal(feed.snapshot(snapOpts).sinceResetMs, 12_000);
});

test('axisTopMs: max unless the slowest are beyond the far-out fence, never below p95', () => {
  const pct = (xs: number[]) => (p: number) =>
    [...xs].sort((a, b) => a - b)[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
  const body = Array.from({ length: 96 }, (_, i) => 2 + (i % 9));
  assert.equal(axisTopMs(pct(body)), 10);
  assert.equal(axisTopMs(pct([...body, 400, 400, 400, 400])), 10);
  // Half the responses far out is no outlier: the axis covers them (p95 at least).
  assert.equal(axisTopMs(pct([...body, ...Array.from({ length: 96 }, () => 400)])), 400);
  assert.equal(
    axisTopMs(() => undefined),
    undefined,
  );
});

test('splitBar and rateSparkline', () => {
  assert.deepEqual(splitBar(0.5, 0, 10), ['█████', '']);
  assert.deepEqual(splitBar(1, 0.3, 10, { mark: '▒' }), ['███████', '▒▒▒']);
  assert.deepEqual(splitBar(1, 0.3, 10, { ascii: true }), ['#######', 'xxx']);
  assert.deepEqual(splitBar(1, 0.001, 10, { mark: '▒' }), ['█████████', '▒'], 'one failure always shows');
  const [good, bad] = splitBar(0.5, 0.25, 10);
  // The failed part starts on a cell boundary (its own colour): 2 cells + 3.
  assert.equal(good, '██');
  assert.equal(bad, '███');
  assert.equal(rateSparkline([0, 1, 4, 8]), ' ▁▄█');
  assert.equal(rateSparkline([1], false, 100), '▁', 'a small non-zero rate still shows');
});

/**
 * A source whose first `failures` opens fail (UNAVAILABLE; the first after one
 * attempt, the others at once, as a server that is gone); then it streams `n` attempts and ends.
 */
function flakySource(failures: number, n: number, code = 14, codeName = 'UNAVAILABLE') {
  const opens: number[] = [];
  const source: WatchSource = {
    label: 'eu',
    open(): AsyncIterable<WatchEvent> {
      opens.push(performance.now());
      const k = opens.length;
      return (async function* () {
        if (k <= failures) {
          if (k === 1) yield { kind: 'attempt', attempt: okAttempt(1, 5) } as const;
          throw Object.assign(new Error(`${codeName}: down`), { code, codeName, details: 'down' });
        }
        for (let i = 1; i <= n; i++) yield { kind: 'attempt', attempt: okAttempt(i, 7) } as const;
      })();
    },
  };
  return { source, opens };
}

test('feed: a failed stream reopens with exponential backoff; the counters continue', async () => {
  const { source, opens } = flakySource(2, 3);
  const feed = new StreamFeed(source, { repetitions: 0, reconnect: { initialMs: 40, maxMs: 1000 } });
  const done = feed.start();
  await until(() => feed.status === 'reconnecting', 2_000, 'reconnecting');
  const snap = feed.snapshot(snapOpts);
  assert.equal(snap.failure?.codeName, 'UNAVAILABLE', 'the error shows while reconnecting');
  assert.ok(snap.retryInMs !== undefined && snap.retryInMs <= 40, `retry in ${snap.retryInMs}`);
  assert.equal(snap.received, 1, 'keeps its last numbers');
  const o = await done;
  assert.equal(opens.length, 3);
  const gaps = [opens[1]! - opens[0]!, opens[2]! - opens[1]!];
  assert.ok(gaps[0]! >= 39 && gaps[1]! >= 79, `backoff doubles: ${gaps.map((g) => g.toFixed(0))}`);
  assert.equal(o.status, 'done');
  assert.equal(o.received, 4, '1 before the failures, 3 after');
  assert.equal(o.failure, undefined, 'the error goes once the stream works again');
  assert.equal(feed.snapshot(snapOpts).summary.attempts, 4);
});

test('feed: the backoff is capped; errors a retry cannot fix and cancel end the run', async () => {
  const capped = flakySource(4, 1);
  const feed = new StreamFeed(capped.source, { repetitions: 0, reconnect: { initialMs: 20, maxMs: 30 } });
  await feed.start();
  const gaps = capped.opens.slice(1).map((t, i) => t - capped.opens[i]!);
  assert.ok(gaps.every((g) => g < 200) && gaps.at(-1)! >= 29, `capped at 30 ms: ${gaps.map((g) => g.toFixed(0))}`);

  const bad = flakySource(5, 1, 3, 'INVALID_ARGUMENT');
  const o = await new StreamFeed(bad.source, { repetitions: 0, reconnect: { initialMs: 10 } }).start();
  assert.equal(bad.opens.length, 1, 'INVALID_ARGUMENT is not retried');
  assert.equal(o.status, 'error');

  const off = flakySource(5, 1);
  assert.equal((await new StreamFeed(off.source, { repetitions: 0 }).start()).status, 'error');
  assert.equal(off.opens.length, 1, 'no reconnect unless asked (one server: as before)');

  const down = flakySource(100, 1);
  const f = new StreamFeed(down.source, { repetitions: 0, reconnect: { initialMs: 5_000 } });
  const end = f.start();
  await until(() => f.status === 'reconnecting', 2_000, 'reconnecting');
  f.cancel();
  const c = await end;
  assert.equal(c.status, 'error', 'quit while the server is down: its failure is the outcome');
  assert.equal(c.failure?.codeName, 'UNAVAILABLE');
});
