import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prober } from '../src/generated/prober/v1/prober.js';
import {
  attemptFromProto,
  attemptToProto,
  durationToMs,
  epochMsToTimestamp,
  methodFromProto,
  msToDuration,
  reasonFromProto,
  reasonToProto,
  requestFromProto,
  requestToProto,
  summaryFromProto,
  summaryToProto,
  timestampToEpochMs,
} from '../src/wire/index.js';
import { ERROR_REASONS, type AttemptResult, type ProbeInput } from '../src/probe/types.js';
import { InvalidArgumentError } from '../src/probe/errors.js';
import { validateProbeInput } from '../src/probe/validate.js';
import type { Summary } from '../src/stats/types.js';

import pb = prober.v1;

/** Through the real wire bytes, as gRPC does. */
function wire<T extends { serialize(): Uint8Array }>(msg: T, cls: { deserialize(b: Uint8Array): T }): T {
  return cls.deserialize(msg.serialize());
}

describe('durations', () => {
  it('converts ms to seconds+nanos exactly, rounding to the nanosecond', () => {
    const d = msToDuration(1234.5678901);
    assert.equal(d.seconds, 1);
    assert.equal(d.nanos, 234_567_890);
    const z = msToDuration(0.0000004); // below half a nanosecond
    assert.equal(z.seconds, 0);
    assert.equal(z.nanos, 0);
    const big = msToDuration(3_600_000.000001);
    assert.equal(big.seconds, 3600);
    assert.equal(big.nanos, 1);
  });

  it('keeps sign consistent for negative durations', () => {
    const d = msToDuration(-1500.25);
    assert.equal(d.seconds, -1);
    assert.equal(d.nanos, -500_250_000);
    assert.equal(durationToMs(d), -1500.25);
  });

  it('round-trips through the wire', () => {
    for (const ms of [0, 0.001, 0.1, 1, 12.345678, 999.999999, 1000, 86_400_000.5]) {
      const back = durationToMs(wire(msToDuration(ms), msToDuration(0).constructor as never));
      assert.ok(Math.abs(back - ms) < 1e-9, `${ms} -> ${back}`);
    }
  });

  it('rejects non-finite values', () => {
    assert.throws(() => msToDuration(Number.NaN), RangeError);
    assert.throws(() => msToDuration(Number.POSITIVE_INFINITY), RangeError);
  });

  it('timestamps keep non-negative nanos', () => {
    const t = epochMsToTimestamp(1_700_000_000_123.456);
    assert.equal(t.seconds, 1_700_000_000);
    assert.equal(t.nanos, 123_456_000);
    assert.ok(Math.abs(timestampToEpochMs(t) - 1_700_000_000_123.456) < 1e-3);
    const before = epochMsToTimestamp(-1.5);
    assert.equal(before.seconds, -1);
    assert.equal(before.nanos, 998_500_000);
    assert.equal(timestampToEpochMs(before), -1.5);
  });
});

describe('reasons', () => {
  it('maps every domain reason to its own enum value and back', () => {
    const seen = new Set<number>();
    for (const r of ERROR_REASONS) {
      const v = reasonToProto(r);
      assert.equal(pb.ErrorReason[v], `ERROR_REASON_${r}`);
      assert.ok(!seen.has(v));
      seen.add(v);
      assert.equal(reasonFromProto(v), r);
    }
    // Every non-UNSPECIFIED wire value is covered by the domain.
    const wireValues = Object.values(pb.ErrorReason).filter((v) => typeof v === 'number' && v !== 0);
    assert.equal(seen.size, wireValues.length);
  });

  it('unknown and UNSPECIFIED become OTHER', () => {
    assert.equal(reasonFromProto(0), 'OTHER');
    assert.equal(reasonFromProto(99), 'OTHER');
    assert.equal(reasonToProto('NOT_A_REASON'), pb.ErrorReason.ERROR_REASON_OTHER);
  });
});

describe('request', () => {
  it('round-trips a full input', () => {
    const input: ProbeInput = {
      endpoint: 'http://127.0.0.1:8080/x?y=1',
      repetitions: 7,
      timeoutMs: 1500.5,
      intervalMs: 250,
      concurrency: 3,
      reuseConnections: true,
      expectedStatus: [
        { min: 200, max: 204 },
        { min: 301, max: 301 },
      ],
      method: 'HEAD',
    };
    assert.deepEqual(requestFromProto(wire(requestToProto(input), pb.ProbeRequest)), input);
  });

  it('keeps unset durations unset and maps proto defaults to undefined', () => {
    const got = requestFromProto(wire(requestToProto({ endpoint: 'http://a', repetitions: 0 }), pb.ProbeRequest));
    assert.equal(got.timeoutMs, undefined);
    assert.equal(got.intervalMs, undefined);
    assert.equal(got.concurrency, undefined);
    assert.equal(got.expectedStatus, undefined);
    assert.equal(got.method, undefined);
    assert.equal(got.reuseConnections, false);
    assert.equal(got.repetitions, 0);
  });

  it('distinguishes a zero duration from an unset one', () => {
    const got = requestFromProto(
      wire(requestToProto({ endpoint: 'http://a', repetitions: 1, intervalMs: 0, timeoutMs: 0 }), pb.ProbeRequest),
    );
    assert.equal(got.intervalMs, 0);
    assert.equal(got.timeoutMs, 0);
  });

  it('status range max 0 means same as min (the codec keeps the shape; validation decides)', () => {
    const req = new pb.ProbeRequest({
      endpoint: 'http://a',
      repetitions: 1,
      expected_status: [new pb.StatusRange({ min: 204 })],
    });
    const input = requestFromProto(wire(req, pb.ProbeRequest));
    assert.deepEqual(input.expectedStatus, [{ min: 204, max: 0 }]);
    assert.deepEqual(validateProbeInput(input).expectedStatus, [{ min: 204, max: 204 }]);
  });

  it('an unencodable duration names its field', () => {
    assert.throws(
      () => requestToProto({ endpoint: 'http://a', repetitions: 1, timeoutMs: Number.NaN }),
      (err: unknown) => err instanceof InvalidArgumentError && err.field === 'timeout',
    );
  });

  it('maps methods; an unknown enum number does not become GET', () => {
    assert.equal(methodFromProto(pb.HttpMethod.HTTP_METHOD_UNSPECIFIED), undefined);
    assert.equal(methodFromProto(pb.HttpMethod.HTTP_METHOD_GET), 'GET');
    assert.equal(methodFromProto(pb.HttpMethod.HTTP_METHOD_HEAD), 'HEAD');
    const req = new pb.ProbeRequest({ endpoint: 'http://a', repetitions: 1, method: 7 as pb.HttpMethod });
    const m = requestFromProto(wire(req, pb.ProbeRequest)).method;
    assert.notEqual(m, 'GET');
    assert.notEqual(m, 'HEAD');
    assert.notEqual(m, undefined);
  });
});

describe('attempt', () => {
  const ok: AttemptResult = {
    seq: 3,
    startedAt: 1_700_000_000_123.5,
    latencyMs: 12.345678,
    phases: { dnsMs: 1.5, connectMs: 0.25, ttfbMs: 9.5, transferMs: 1.095678 },
    status: 200,
    bodyBytes: 1234,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1:8080',
    reused: false,
    scheduleDelayMs: 4.2,
  };

  it('round-trips a success', () => {
    assert.deepEqual(attemptFromProto(wire(attemptToProto(ok), pb.Attempt)), ok);
  });

  it('keeps absent phases absent (not zero)', () => {
    const reused: AttemptResult = { ...ok, phases: { ttfbMs: 2, transferMs: 0 }, reused: true };
    const back = attemptFromProto(wire(attemptToProto(reused), pb.Attempt));
    assert.deepEqual(back.phases, { ttfbMs: 2, transferMs: 0 });
    assert.ok(!('dnsMs' in back.phases));
    assert.equal(back.reused, true);
  });

  it('round-trips a failure without a response', () => {
    const failed: AttemptResult = {
      seq: 1,
      startedAt: 1_700_000_000_000,
      latencyMs: 0.8,
      phases: { dnsMs: 0.1 },
      bodyBytes: 0,
      error: {
        reason: 'CONNECT_REFUSED',
        message: 'connect ECONNREFUSED 127.0.0.1:1',
        temporary: true,
        code: 'ECONNREFUSED',
      },
      reused: false,
    };
    const back = attemptFromProto(wire(attemptToProto(failed), pb.Attempt));
    assert.deepEqual(back, failed);
    assert.ok(!('status' in back) && !('httpVersion' in back) && !('scheduleDelayMs' in back));
  });

  it('round-trips a BAD_STATUS failure without a code', () => {
    const { scheduleDelayMs: _omit, ...rest } = ok;
    const bad: AttemptResult = {
      ...rest,
      status: 500,
      error: { reason: 'BAD_STATUS', message: 'status 500', temporary: true },
    };
    const back = attemptFromProto(wire(attemptToProto(bad), pb.Attempt));
    assert.deepEqual(back, bad);
    assert.equal(attemptToProto(bad).error.reason, pb.ErrorReason.ERROR_REASON_BAD_STATUS);
  });
});

describe('summary', () => {
  const full: Summary = {
    attempts: 10,
    successes: 6,
    failures: 4,
    aborted: 0,
    responses: 8,
    averageMs: 12.5,
    minMs: 1.000001,
    maxMs: 40,
    p50Ms: 10,
    p90Ms: 30,
    p95Ms: 40,
    p99Ms: 40,
    stddevMs: 3.25,
    histogram: [
      { upperBoundMs: 2, count: 1 },
      { upperBoundMs: 5, count: 0 },
      { upperBoundMs: 10, count: 4 },
      { upperBoundMs: 50, count: 3 },
    ],
    histogramOverflow: 0,
    statuses: [
      { status: 200, count: 6 },
      { status: 500, count: 2 },
    ],
    errors: [
      { reason: 'BAD_STATUS', count: 2 },
      { reason: 'CONNECT_REFUSED', count: 1 },
      { reason: 'TIMEOUT', count: 1 },
    ],
    scheduleSlips: 2,
    deadlineReached: true,
    shutdown: true,
    backpressureWaitMs: 120.5,
    elapsedMs: 1000.25,
    eventsSent: 10,
    phases: { dnsMs: 0.5, connectMs: 1.25, ttfbMs: 8 }, // tls and transfer never happened
  };

  it('round-trips a full summary', () => {
    assert.deepEqual(summaryFromProto(wire(summaryToProto(full), pb.Summary)), full);
  });

  it('round-trips the intended-start latency and the event-loop delay (fields 24, 25)', () => {
    const late: Summary = {
      ...full,
      intendedLatency: { samples: 14, averageMs: 30.5, p50Ms: 20, p90Ms: 60, p95Ms: 70.25, p99Ms: 80, maxMs: 81.5 },
      eventLoopDelay: { p99Ms: 12.5, maxMs: 40.75, overloaded: true },
    };
    const msg = wire(summaryToProto(late), pb.Summary);
    assert.equal(msg.has_intended_latency, true);
    assert.equal(msg.event_loop_delay.overloaded, true);
    assert.deepEqual(summaryFromProto(msg), late);
    // Absent stays absent: a back-to-back run from an older server reads the same.
    const plain = wire(summaryToProto(full), pb.Summary);
    assert.equal(plain.has_intended_latency, false);
    assert.equal(plain.has_event_loop_delay, false);
    assert.equal(summaryFromProto(plain).intendedLatency, undefined);
    assert.equal(summaryFromProto(plain).eventLoopDelay, undefined);
  });

  it('carries aborted apart from failures (field 23), both ways', () => {
    const cut: Summary = {
      ...full,
      attempts: 12,
      aborted: 2,
      errors: [...full.errors, { reason: 'ABORTED', count: 2 }].sort(
        (a, b) => b.count - a.count || (a.reason < b.reason ? -1 : 1),
      ),
    };
    const msg = wire(summaryToProto(cut), pb.Summary);
    assert.equal(msg.aborted, 2);
    assert.equal(msg.failures, 4);
    const back = summaryFromProto(msg);
    assert.deepEqual(back, cut);
    assert.equal(back.successes + back.failures + back.aborted, back.attempts);
    // Tag 23 varint (key 0xb8 0x01): what a reader of the published proto decodes.
    assert.ok(Buffer.from(msg.serialize()).includes(Buffer.from([0xb8, 0x01, 2])));
  });

  it('puts errors on the wire ascending by enum, domain side by count desc', () => {
    const msg = summaryToProto(full);
    assert.deepEqual(
      msg.errors.map((e) => e.reason),
      [
        pb.ErrorReason.ERROR_REASON_CONNECT_REFUSED,
        pb.ErrorReason.ERROR_REASON_TIMEOUT,
        pb.ErrorReason.ERROR_REASON_BAD_STATUS,
      ],
    );
    const wireSorted = new pb.Summary({
      errors: [
        new pb.ReasonCount({ reason: pb.ErrorReason.ERROR_REASON_DNS, count: 1 }),
        new pb.ReasonCount({ reason: pb.ErrorReason.ERROR_REASON_TIMEOUT, count: 5 }),
        new pb.ReasonCount({ reason: pb.ErrorReason.ERROR_REASON_RESET, count: 5 }),
      ],
    });
    assert.deepEqual(summaryFromProto(wireSorted).errors, [
      { reason: 'RESET', count: 5 },
      { reason: 'TIMEOUT', count: 5 },
      { reason: 'DNS', count: 1 },
    ]);
  });

  it('leaves latency fields unset when there were no responses', () => {
    const empty: Summary = {
      attempts: 2,
      successes: 0,
      failures: 2,
      aborted: 0,
      responses: 0,
      histogram: [],
      histogramOverflow: 0,
      statuses: [],
      errors: [{ reason: 'CONNECT_REFUSED', count: 2 }],
      scheduleSlips: 0,
      deadlineReached: false,
      shutdown: false,
      backpressureWaitMs: 0,
      elapsedMs: 3,
      eventsSent: 0,
      phases: { dnsMs: 2 },
    };
    const msg = wire(summaryToProto(empty), pb.Summary);
    assert.equal(msg.has_average_latency, false);
    assert.equal(msg.has_p99, false);
    assert.equal(msg.has_stddev, false);
    const back = summaryFromProto(msg);
    assert.deepEqual(back, empty);
    assert.ok(!('averageMs' in back));
  });

  it('merges reasons that fold into OTHER', () => {
    const msg = new pb.Summary({
      errors: [
        new pb.ReasonCount({ reason: pb.ErrorReason.ERROR_REASON_OTHER, count: 1 }),
        new pb.ReasonCount({ reason: 42 as pb.ErrorReason, count: 2 }),
      ],
    });
    assert.deepEqual(summaryFromProto(wire(msg, pb.Summary)).errors, [{ reason: 'OTHER', count: 3 }]);
  });
});
