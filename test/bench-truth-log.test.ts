// The ground-truth target's correlation logic (bench/truth-log.ts). No timing here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TruthLog, pairedOverheads, parseTargetPath, quantile, summarise } from '../bench/truth-log.js';

test('parseTargetPath reads the delay and the tag, and nothing else', () => {
  assert.deepEqual(parseTargetPath('/delay/20?tag=prober%20Probe%231'), { delayMs: 20, tag: 'prober Probe#1' });
  assert.deepEqual(parseTargetPath('/delay/0'), { delayMs: 0, tag: '' });
  assert.equal(parseTargetPath('/delay/x'), undefined);
  assert.equal(parseTargetPath('/other'), undefined);
});

test('TruthLog keeps records per tag in arrival order and hands them over once', () => {
  const log = new TruthLog();
  log.add('a', { arriveMs: 1, handleMs: 0.1 });
  log.add('b', { arriveMs: 2, handleMs: 0.2 });
  log.add('a', { arriveMs: 3, handleMs: 0.3 });
  assert.deepEqual(
    log.take('a').map((r) => r.arriveMs),
    [1, 3],
  );
  assert.deepEqual(log.take('a'), []);
  assert.equal(log.take('b').length, 1);
});

test('summarise: median handling and the rate over the span the target served', () => {
  const s = summarise([
    { arriveMs: 0, handleMs: 1 },
    { arriveMs: 1, handleMs: 3 },
    { arriveMs: 2, handleMs: 2 },
    { arriveMs: 5, handleMs: 5 },
  ]);
  assert.equal(s.n, 4);
  assert.equal(s.handleP50Ms, 2);
  assert.equal(s.perSec, 400); // 4 requests in 10 ms
  assert.ok(Number.isNaN(summarise([]).handleP50Ms));
});

test('pairedOverheads pairs the k-th attempt with the k-th arrival, and refuses a count mismatch', () => {
  const recs = [
    { arriveMs: 0, handleMs: 20 },
    { arriveMs: 30, handleMs: 21 },
  ];
  assert.deepEqual(pairedOverheads([21, 21.5], recs), [1, 0.5]);
  assert.throws(() => pairedOverheads([21], recs), /client saw 1 attempts, target 2/);
});

test('quantile is nearest rank', () => {
  assert.equal(quantile([5, 1, 4, 2, 3], 0.5), 3);
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99), 10);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2);
});
