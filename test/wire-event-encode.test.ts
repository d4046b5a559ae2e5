// encodeAttemptEvent against the google-protobuf path it replaces on the
// server (attemptEvent(...).serializeBinary()): byte for byte over seeded
// random attempts, including values the wire cannot carry (both must throw).
// Replay a failure with ENCODE_SEED=<n>.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prober } from '../src/generated/prober/v1/prober.js';
import {
  attemptEvent,
  attemptFromProto,
  encodeAttemptEvent,
  serializeProbeStreamMessage,
  summaryEvent,
} from '../src/wire/index.js';
import { ERROR_REASONS, type AttemptResult, type Hop, type Phases, type TlsInfo } from '../src/probe/types.js';

import pb = prober.v1;
import { prng } from './helpers/prng.js';

const SEED = Number(process.env.ENCODE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const N = 4000;

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;

const WORDS = ['a', 'connect ECONNREFUSED', 'é', 'ü', '中文', '😀', 'naïve', ' ', 'x'.repeat(130), '\u0000', 'Ω≈'];
function str(r: Rand, max = 6): string {
  let s = '';
  const n = Math.floor(r() * max);
  for (let i = 0; i < n; i++) s += pick(r, WORDS);
  // Now and then long enough for a 2- or 3-byte length.
  if (r() < 0.02) s += 'y'.repeat(Math.floor(r() * 20000));
  return s;
}

/** Durations in ms: zeros of both signs, sub-nanosecond, ordinary, huge, negative. */
function ms(r: Rand, bad: boolean): number {
  if (bad && r() < 0.05) return pick(r, [Number.NaN, Infinity, -Infinity, 1e300, -1e300]);
  return pick(r, [
    () => 0,
    () => -0,
    () => 1e-7,
    () => r() * 5,
    () => r() * 1000,
    () => Math.round(r() * 1e6),
    () => r() * 1e12,
    () => -r() * 10,
    () => 999.9999995,
    () => -1000,
  ])();
}

/** Integers for unsigned fields; when `bad`, sometimes one the field cannot hold. */
function uint(r: Rand, bad: boolean, max: number): number {
  if (bad && r() < 0.05) return pick(r, [-1, 1.5, Number.NaN, 2 ** 64, max * 2]);
  return pick(r, [0, -0, 1, 127, 128, 300, Math.floor(r() * 1000), Math.floor(r() * max)]);
}

function phases(r: Rand, bad: boolean): Phases {
  const p: Record<string, number> = {};
  for (const k of ['dnsMs', 'connectMs', 'proxyMs', 'tlsMs', 'ttfbMs', 'transferMs']) {
    if (r() < 0.5) p[k] = ms(r, bad);
  }
  return p;
}

function tls(r: Rand, bad: boolean): TlsInfo {
  const expiry = bad && r() < 0.05 ? pick(r, [2 ** 63, 1.5, Number.NaN]) : pick(r, [0, 1_900_000_000, -5, 2 ** 53]);
  return {
    version: pick(r, ['TLSv1.3', 'TLSv1.2', '']),
    cipher: pick(r, ['TLS_AES_256_GCM_SHA384', '', 'é']),
    ...(r() < 0.5 ? { alpnProtocol: pick(r, ['h2', 'http/1.1', '']) } : {}),
    sessionResumed: r() < 0.3,
    ...(r() < 0.7 ? { earliestCertExpiry: expiry } : {}),
    ...(r() < 0.2 ? { lastChainExpiry: 1_800_000_000 } : {}),
  };
}

function hop(r: Rand, bad: boolean): Hop {
  return {
    url: `http://h/${str(r)}`,
    status: pick(r, [301, 302, 307, 308, 0, uint(r, bad, 2 ** 32)]),
    location: str(r),
    phases: phases(r, bad),
    latencyMs: ms(r, bad),
    ...(r() < 0.5 ? { remoteAddress: pick(r, ['127.0.0.1:80', '[::1]:443', '']) } : {}),
  };
}

function attempt(r: Rand, bad: boolean): AttemptResult {
  const failed = r() < 0.4;
  return {
    seq: uint(r, bad, 2 ** 53),
    startedAt: pick(r, [Date.now() + r(), 0, -0, -86_400_000.5, 1.7e12 + r() * 1e9, ms(r, bad)]),
    latencyMs: ms(r, bad),
    phases: phases(r, bad),
    ...(r() < 0.7 ? { status: pick(r, [200, 204, 404, 503, 0, uint(r, bad, 2 ** 32)]) } : {}),
    bodyBytes: uint(r, bad, 2 ** 53),
    ...(r() < 0.7 ? { httpVersion: pick(r, ['1.1', '2', '1.0', '']) } : {}),
    ...(r() < 0.7 ? { remoteAddress: pick(r, ['127.0.0.1:8080', '[2001:db8::1]:443', '', str(r)]) } : {}),
    ...(r() < 0.7 ? { ipFamily: pick(r, [4, 6] as const) } : {}),
    ...(failed
      ? {
          error: {
            reason: pick(r, [...ERROR_REASONS, 'NOT_A_REASON' as 'OTHER']),
            message: str(r),
            temporary: r() < 0.5,
            ...(r() < 0.5 ? { code: pick(r, ['ECONNREFUSED', '', 'é']) } : {}),
          },
        }
      : {}),
    reused: r() < 0.5,
    ...(r() < 0.3 ? { scheduleDelayMs: ms(r, bad) } : {}),
    ...(r() < 0.3 ? { tls: tls(r, bad) } : {}),
    ...(r() < 0.2 ? { hops: Array.from({ length: Math.floor(r() * 4) }, () => hop(r, bad)) } : {}),
    ...(r() < 0.5 ? { proxied: r() < 0.5 } : {}),
  };
}

/** The old path's bytes, or the error it throws (building the message or serializing it). */
function generic(a: AttemptResult, region: string | undefined): Buffer | Error {
  try {
    return Buffer.from(attemptEvent(a, region).serializeBinary());
  } catch (err) {
    return err as Error;
  }
}

function encoded(a: AttemptResult, region: string | undefined): Buffer | Error {
  try {
    return encodeAttemptEvent(a, region);
  } catch (err) {
    return err as Error;
  }
}

const show = (a: AttemptResult): string =>
  JSON.stringify(a, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : Object.is(v, -0) ? '-0' : v));

describe(`encodeAttemptEvent (ENCODE_SEED=${SEED})`, () => {
  it('writes the bytes attemptEvent().serializeBinary() writes, and throws where it throws', () => {
    const r = prng(SEED);
    let threw = 0;
    for (let i = 0; i < N; i++) {
      const a = attempt(r, i % 4 === 0);
      const region = pick(r, [undefined, '', 'eu-west-1', 'région-東京']);
      const want = generic(a, region);
      const got = encoded(a, region);
      const where = `ENCODE_SEED=${SEED} #${i} region=${region} ${show(a).slice(0, 2000)}`;
      if (want instanceof Error) {
        threw++;
        assert.ok(got instanceof Error, `old path threw ${want.message}, encoder did not: ${where}`);
        // msToDuration's RangeError, thrown before serializing: same message (when only one value is bad).
        if (want instanceof RangeError) assert.ok(got instanceof RangeError, where);
        continue;
      }
      assert.ok(!(got instanceof Error), `encoder threw ${(got as Error).message}: ${where}`);
      assert.equal(got.toString('hex'), want.toString('hex'), where);
    }
    // The generator must reach both outcomes, or the test proves little.
    assert.ok(threw > 20 && threw < N / 4, `threw ${threw}/${N} (ENCODE_SEED=${SEED})`);
  });

  it('a non-finite duration or time fails with msToDuration/epochMsToTimestamp error', () => {
    const base: AttemptResult = { seq: 1, startedAt: 1.7e12, latencyMs: 5, phases: {}, bodyBytes: 0, reused: false };
    const cases: AttemptResult[] = [
      { ...base, latencyMs: Number.NaN },
      { ...base, startedAt: Infinity },
      { ...base, phases: { ttfbMs: -Infinity } },
      { ...base, scheduleDelayMs: Number.NaN },
      {
        ...base,
        hops: [{ url: 'http://a/', status: 301, location: 'http://b/', phases: {}, latencyMs: Infinity }],
      },
    ];
    for (const a of cases) {
      const want = generic(a, undefined);
      assert.ok(want instanceof RangeError, show(a));
      assert.throws(() => encodeAttemptEvent(a), { name: 'RangeError', message: want.message });
    }
  });

  it('an integer a field cannot hold throws (google-protobuf failed an assertion when serializing)', () => {
    const base: AttemptResult = { seq: 1, startedAt: 1.7e12, latencyMs: 5, phases: {}, bodyBytes: 0, reused: false };
    const cases: AttemptResult[] = [
      { ...base, seq: -1 },
      { ...base, seq: 2 ** 64 },
      { ...base, bodyBytes: 1.5 },
      { ...base, status: 2 ** 32 },
      { ...base, ipFamily: -4 as 4 },
      { ...base, latencyMs: 1e300 }, // seconds beyond int64
      { ...base, tls: { version: 'v', cipher: 'c', sessionResumed: false, earliestCertExpiry: 2 ** 63 } },
    ];
    for (const a of cases) {
      assert.ok(generic(a, undefined) instanceof Error, `old path accepts ${show(a)}`);
      assert.throws(() => encodeAttemptEvent(a), RangeError, show(a));
    }
  });

  it('never writes over bytes it returned (grpc-js holds them until written)', () => {
    const a: AttemptResult = { seq: 1, startedAt: 1.7e12, latencyMs: 5, phases: {}, bodyBytes: 7, reused: false };
    const kept: [Buffer, Buffer][] = [];
    for (let i = 0; i < 3000; i++) {
      const remoteAddress = i % 500 === 0 ? 'x'.repeat(100_000) : `10.0.0.${i % 256}:80`;
      const b = encodeAttemptEvent({ ...a, seq: i + 1, remoteAddress }, i === 0 ? 'r' : undefined);
      kept.push([b, Buffer.from(b)]);
      if (i % 7 === 0) assert.throws(() => encodeAttemptEvent({ ...a, remoteAddress: 'y'.repeat(50), seq: -1 }));
    }
    for (const [b, copy] of kept) assert.deepEqual(b, copy);
  });

  it('a lone surrogate becomes U+FFFD (google-protobuf would write invalid UTF-8)', () => {
    const a: AttemptResult = {
      seq: 1,
      startedAt: 0,
      latencyMs: 1,
      phases: {},
      bodyBytes: 0,
      reused: false,
      error: { reason: 'OTHER', message: 'a\udc00b', temporary: false },
    };
    const back = attemptFromProto(pb.ProbeEvent.deserializeBinary(encodeAttemptEvent(a)).attempt);
    assert.equal(back.error?.message, 'a\ufffdb');
  });
});

describe('serializeProbeStreamMessage', () => {
  it('passes encoded bytes through and serializes a ProbeEvent as the generated serializer does', () => {
    const bytes = encodeAttemptEvent({ seq: 3, startedAt: 1, latencyMs: 2, phases: {}, bodyBytes: 0, reused: true });
    assert.equal(serializeProbeStreamMessage(bytes), bytes);
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.deepEqual(serializeProbeStreamMessage(view), bytes);
    const ev = summaryEvent(
      {
        attempts: 0,
        successes: 0,
        failures: 0,
        aborted: 0,
        responses: 0,
        histogram: [],
        histogramOverflow: 0,
        statuses: [],
        errors: [],
        deadlineReached: false,
        shutdown: false,
        scheduleSlips: 0,
        backpressureWaitMs: 0,
        elapsedMs: 1,
        eventsSent: 0,
        phases: {},
      },
      'r',
    );
    assert.deepEqual(
      serializeProbeStreamMessage(ev),
      pb.UnimplementedProberService.definition.ProbeStream.responseSerialize(ev),
    );
  });
});
