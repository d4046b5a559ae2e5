// Merging regions: RunStats.merge and mergeSummaries against the union of all attempts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeSummaries, nearestRankIndex, RunStats } from '../src/stats/index.js';
import { prng as rng } from './helpers/prng.js';

// Log-normal-ish latencies around `medianMs`, some failures.
function region(rand: () => number, n: number, medianMs: number) {
  const stats = new RunStats();
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = Math.max(1e-9, rand());
    const v = Math.max(1e-9, rand());
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    const ms = medianMs * Math.exp(0.6 * z);
    const fail = rand() < 0.05;
    if (rand() < 0.02) {
      stats.add({ latencyMs: ms, error: { reason: 'TIMEOUT' } });
      continue;
    }
    values.push(ms);
    stats.add({ latencyMs: ms, status: fail ? 503 : 200, ...(fail ? { error: { reason: 'BAD_STATUS' } } : {}) });
  }
  return { stats, values };
}

const REL = 0.005; // the digest's documented fine-bucket error

function near(actual: number | undefined, expected: number, what: string): void {
  assert.ok(actual !== undefined, what);
  assert.ok(Math.abs(actual - expected) <= expected * REL + 1e-9, `${what}: ${actual} vs ${expected}`);
}

for (const seed of [1, 7, 42]) {
  test(`mergeSummaries of three regions matches the union (seed ${seed})`, () => {
    const rand = rng(seed);
    const regions = [region(rand, 3000, 5), region(rand, 2000, 40), region(rand, 500, 120)];
    const merged = mergeSummaries(regions.map((r) => r.stats.summary()));
    const all = regions.flatMap((r) => r.values).sort((a, b) => a - b);
    for (const p of [50, 90, 99]) {
      near(merged[`p${p}Ms` as 'p50Ms'], all[nearestRankIndex(p, all.length)]!, `p${p}`);
    }
    assert.equal(merged.responses, all.length);
    near(merged.averageMs, all.reduce((a, b) => a + b, 0) / all.length, 'mean');
    assert.equal(merged.minMs, all[0]);
    assert.equal(merged.maxMs, all.at(-1));
    const union = new RunStats();
    for (const r of regions) union.merge(r.stats);
    const u = union.summary();
    assert.equal(merged.attempts, u.attempts);
    assert.equal(merged.failures, u.failures);
    assert.deepEqual(merged.statuses, u.statuses);
    assert.deepEqual(merged.errors, u.errors);
    near(merged.stddevMs, u.stddevMs!, 'stddev');
    // RunStats.merge keeps samples while they fit: exact.
    for (const p of [50, 90, 99]) assert.equal(union.latencyPercentile(p), all[nearestRankIndex(p, all.length)]);
  });
}

test('mergeSummaries of nothing and of a region with no responses', () => {
  const empty = mergeSummaries([]);
  assert.equal(empty.attempts, 0);
  assert.equal(empty.p50Ms, undefined);
  const down = new RunStats();
  down.add({ latencyMs: 3, error: { reason: 'CONNECT_REFUSED' } });
  const up = new RunStats();
  up.add({ latencyMs: 10, status: 200 });
  const m = mergeSummaries([down.summary(), up.summary()]);
  assert.equal(m.attempts, 2);
  assert.equal(m.responses, 1);
  assert.equal(m.p50Ms, 10);
  assert.deepEqual(m.errors, [{ reason: 'CONNECT_REFUSED', count: 1 }]);
});
