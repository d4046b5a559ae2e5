import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EXACT_LIMIT, LatencyDigest, nearestRankIndex } from '../src/stats/index.js';
import { prng as rng } from './helpers/prng.js';

/** Brute force nearest rank: smallest value with at least p% of values <= it. */
function bruteNearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[i]) j++;
    const atOrBelow = j + 1; // values <= sorted[i]
    if (atOrBelow / sorted.length >= p / 100 - 1e-12) return sorted[i]!;
    i = j;
  }
  return sorted[sorted.length - 1]!;
}

test('nearestRankIndex follows the textbook definition', () => {
  assert.equal(nearestRankIndex(50, 1), 0);
  assert.equal(nearestRankIndex(50, 4), 1);
  assert.equal(nearestRankIndex(50, 5), 2);
  assert.equal(nearestRankIndex(90, 10), 8);
  assert.equal(nearestRankIndex(99, 100), 98);
  assert.equal(nearestRankIndex(100, 7), 6);
});

test('empty digest has undefined latency fields', () => {
  const d = new LatencyDigest();
  assert.equal(d.count, 0);
  assert.equal(d.mean, undefined);
  assert.equal(d.min, undefined);
  assert.equal(d.max, undefined);
  assert.equal(d.stddev, undefined);
  assert.equal(d.percentile(50), undefined);
});

test('mean, variance, min, max match brute force', () => {
  const r = rng(1);
  const d = new LatencyDigest();
  const xs: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const v = 1000 + r() * 50 + (r() < 0.01 ? 3000 : 0);
    xs.push(v);
    d.add(v);
  }
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(d.mean! - mean) < 1e-9 * mean);
  assert.ok(Math.abs(d.stddev! - Math.sqrt(variance)) < 1e-9 * Math.sqrt(variance));
  assert.equal(d.min, Math.min(...xs));
  assert.equal(d.max, Math.max(...xs));
  assert.ok(Math.abs(d.sum - xs.reduce((a, b) => a + b, 0)) < 1e-6);
});

test('percentiles equal brute-force nearest rank on random data, across lazy re-sorts', () => {
  const r = rng(2);
  const d = new LatencyDigest();
  const xs: number[] = [];
  for (const batch of [1, 2, 7, 50, 333, 600]) {
    for (let i = 0; i < batch; i++) {
      // Log-normal-ish with ties (rounded to 0.1 ms).
      const v = Math.round(Math.exp(r() * 6) * 10) / 10;
      xs.push(v);
      d.add(v);
    }
    for (const p of [1, 25, 50, 90, 95, 99, 100]) {
      assert.equal(d.percentile(p), bruteNearestRank(xs, p), `p${p} after ${xs.length} samples`);
    }
  }
  assert.ok(d.exact);
});

test('small batches merged into a large sorted prefix keep percentiles and histogram exact', () => {
  const r = rng(4);
  const d = new LatencyDigest();
  const xs: number[] = [];
  const add = (v: number): void => {
    xs.push(v);
    d.add(v);
  };
  for (let i = 0; i < 2000; i++) add(Math.round(r() * 5000) / 10);
  assert.equal(d.percentile(50), bruteNearestRank(xs, 50));
  for (let round = 0; round < 20; round++) {
    // Values below, inside and above the current range, with ties.
    for (const v of [r() * 1000 - 100, r() * 600, 700 + r() * 100, 250, 250]) add(Math.round(v * 10) / 10);
    for (const p of [1, 50, 99, 100]) assert.equal(d.percentile(p), bruteNearestRank(xs, p), `round ${round} p${p}`);
  }
  const bounds = [0, 100, 250, 500, 800];
  const h = d.histogram(bounds);
  const want = bounds.map((b, k) => xs.filter((x) => x <= b && (k === 0 || x > bounds[k - 1]!)).length);
  assert.deepEqual(
    h.buckets.map((b) => b.count),
    want,
  );
  assert.equal(h.overflow, xs.filter((x) => x > 800).length);
});

test('beyond the exact limit percentiles stay within 1%', () => {
  const r = rng(3);
  const d = new LatencyDigest();
  const n = EXACT_LIMIT + 50_000;
  const xs = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = 0.05 + Math.exp(r() * 10); // 1 ms .. ~22 s
    xs[i] = v;
    d.add(v);
  }
  assert.equal(d.exact, false);
  xs.sort();
  for (const p of [1, 10, 50, 90, 95, 99, 99.9, 100]) {
    const want = xs[nearestRankIndex(p, n)]!;
    const got = d.percentile(p)!;
    assert.ok(Math.abs(got - want) / want <= 0.01, `p${p}: got ${got}, want ${want}`);
  }
  // Re-binning still accounts for every sample.
  const h = d.histogram([1, 10, 100, 1000, 10000]);
  assert.equal(h.buckets.reduce((a, b) => a + b.count, 0) + h.overflow, n);
});

test('histogram re-bins exactly with inclusive upper bounds', () => {
  const d = new LatencyDigest();
  for (const v of [0.5, 1, 1.0001, 2, 3, 10, 11]) d.add(v);
  const h = d.histogram([1, 2, 10]);
  assert.deepEqual(
    h.buckets.map((b) => b.count),
    [2, 2, 2],
  );
  assert.equal(h.overflow, 1);
});

test('reset empties the digest', () => {
  const d = new LatencyDigest();
  for (let i = 0; i < 10; i++) d.add(i);
  d.reset();
  assert.equal(d.count, 0);
  assert.equal(d.percentile(50), undefined);
  d.add(5);
  assert.equal(d.percentile(50), 5);
  assert.equal(d.mean, 5);
});

test('the sketch of an exact digest (buckets derived from its samples) equals the one its fine histogram gives', () => {
  const r = rng(7);
  const exact = new LatencyDigest();
  for (let i = 0; i < 5000; i++) exact.add(r() < 0.5 ? r() * 3 : 10 + r() * 500);
  // Merging a sketch builds the fine histogram; the sketch read back must match.
  const built = new LatencyDigest();
  built.mergeSketch(exact.sketch());
  assert.deepEqual(built.sketch().buckets, exact.sketch().buckets);
  assert.equal(built.sketch().count, 5000);
  // And one that crossed the exact limit with the same values first keeps counting them all.
  const crossed = new LatencyDigest();
  for (let i = 0; i <= EXACT_LIMIT; i++) crossed.add(1 + (i % 100));
  const total = crossed.sketch().buckets.reduce((s, b) => s + b.count, 0);
  assert.equal(total, EXACT_LIMIT + 1);
  assert.equal(crossed.exact, false);
});
