// The latency sketch and region survive the wire both ways.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prober } from '../src/generated/prober/v1/prober.js';
import { mergeSummaries, RunStats } from '../src/stats/index.js';
import { summaryFromProto, summaryToProto } from '../src/wire/codec.js';

test('latency sketch and region round-trip through the proto', () => {
  const stats = new RunStats();
  for (const ms of [0.0005, 1.5, 2.25, 7, 99.9, 1234.5]) stats.add({ latencyMs: ms, status: 200 });
  const s = stats.summary({ region: 'eu-west' });
  const bytes = summaryToProto(s).serializeBinary();
  const back = summaryFromProto(prober.v1.Summary.deserializeBinary(bytes));
  assert.equal(back.region, 'eu-west');
  assert.deepEqual(back.latencySketch, s.latencySketch);
  const m = mergeSummaries([back, back]);
  assert.equal(m.responses, 12);
  assert.equal(m.minMs, 0.0005);
  assert.equal(m.maxMs, 1234.5);
});

test('no region and no sketch stay absent', () => {
  const s = new RunStats().summary();
  const back = summaryFromProto(prober.v1.Summary.deserializeBinary(summaryToProto(s).serializeBinary()));
  assert.equal(back.region, undefined);
  assert.equal(back.latencySketch, undefined);
});
