// decodeProbeEvent (the client's hand-written ProbeEvent decoder) against the
// google-protobuf path it replaces (ProbeEvent.deserialize + attemptFromProto /
// summaryFromProto) on seeded generated events, and against bytes a hostile
// server might send. SEED=<n> reproduces a run.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { google as gd } from '../src/generated/google/protobuf/duration.js';
import { ERROR_REASONS, type AttemptResult, type Hop } from '../src/probe/types.js';
import {
  attemptEvent,
  encodeAttemptBatch,
  attemptFromProto,
  type DecodedEvent,
  decodeProbeEvent,
  decodeProbeReply,
  summaryFromProto,
} from '../src/wire/index.js';
import { PROBE_EVENT } from '../src/wire/shapes.js';
import { checkWireFormat, WireFormatError } from '../src/wire/wire-check.js';
import { connect, probeOnce, probeStream, ProberRpcError } from '../src/client/index.js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { testIo } from './helpers/cli-io.js';
import { prng } from './helpers/prng.js';

import pb = prober.v1;
import { ld, tag, varint } from './helpers/wire-bytes.js';

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
const seeded = `(SEED=${SEED})`;

/** The google-protobuf path: what the client yielded before decodeProbeEvent. */
function reference(bytes: Uint8Array): DecodedEvent {
  const ev = pb.ProbeEvent.deserialize(bytes);
  const region = ev.region === '' ? {} : { region: ev.region };
  if (ev.has_attempt) return { kind: 'attempt', attempt: attemptFromProto(ev.attempt), ...region };
  if (ev.has_summary) return { kind: 'summary', summary: summaryFromProto(ev.summary), ...region };
  if (ev.has_attempts) return { kind: 'attempts', attempts: ev.attempts.attempts.map(attemptFromProto), ...region };
  return { kind: 'none', ...region };
}

function same(bytes: Uint8Array, why: string): void {
  const want = reference(bytes);
  const got = decodeProbeEvent(bytes);
  assert.deepStrictEqual(got, want, why);
  // Key order too: --json prints attempts as decoded.
  assert.equal(JSON.stringify(got), JSON.stringify(want), why);
}

// ---------------------------------------------------------------- generators

type Rand = () => number;
const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)] as T;
const maybe = <T>(r: Rand, f: () => T, p = 0.5): T | undefined => (r() < p ? f() : undefined);

const CHARS = [
  'a',
  'Z',
  '0',
  ':',
  '.',
  ' ',
  'é',
  'ß',
  '€',
  '中',
  '😀',
  '\u0000',
  '\u007f',
  '\u0080',
  '\uDFFF',
  '\uD800',
];
const text = (r: Rand, max = 12): string =>
  Array.from({ length: int(r, max) }, () => (r() < 0.7 ? String.fromCharCode(32 + int(r, 95)) : pick(r, CHARS))).join(
    '',
  );

function ms(r: Rand): number {
  switch (int(r, 6)) {
    case 0:
      return 0;
    case 1:
      return -r() * 5000; // negative durations: seconds and nanos both negative
    case 2:
      return int(r, 10) * 1000; // whole seconds: nanos 0
    case 3:
      return r() * 1e-3; // sub-microsecond: seconds 0
    default:
      return r() * 10 ** int(r, 9);
  }
}

function phases(r: Rand): AttemptResult['phases'] {
  const p: Record<string, number> = {};
  for (const k of ['dnsMs', 'connectMs', 'proxyMs', 'tlsMs', 'ttfbMs', 'transferMs']) if (r() < 0.6) p[k] = ms(r);
  return p;
}

function hop(r: Rand): Hop {
  return {
    url: text(r, 40),
    status: pick(r, [301, 302, 303, 307, 308, 0, 999]),
    location: text(r, 40),
    phases: phases(r),
    latencyMs: ms(r),
    ...(r() < 0.7 ? { remoteAddress: text(r) } : {}),
  };
}

const BIG = [0, 1, 127, 128, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];

function attempt(r: Rand): AttemptResult {
  const a: Record<string, unknown> = {
    seq: r() < 0.2 ? pick(r, BIG) : int(r, 100000),
    startedAt: r() < 0.1 ? pick(r, [0, -1.5, 1e15]) : 1.7e12 + r() * 1e9,
    latencyMs: ms(r),
    phases: phases(r),
    status: maybe(r, () => pick(r, [200, 404, 500, 101, 599])),
    bodyBytes: r() < 0.2 ? pick(r, BIG) : int(r, 1e6),
    httpVersion: maybe(r, () => pick(r, ['1.0', '1.1', '2', text(r)])),
    remoteAddress: maybe(r, () => text(r, 30)),
    error: maybe(r, () => ({
      reason: pick(r, ERROR_REASONS),
      message: text(r, 60),
      temporary: r() < 0.5,
      ...(r() < 0.5 ? { code: text(r) } : {}),
    })),
    ipFamily: maybe(r, () => pick(r, [4, 6] as const)),
    reused: r() < 0.5,
    scheduleDelayMs: maybe(r, () => ms(r), 0.3),
    tls: maybe(r, () => ({
      version: text(r),
      cipher: text(r),
      ...(r() < 0.5 ? { alpnProtocol: text(r) } : {}),
      sessionResumed: r() < 0.5,
      ...(r() < 0.5 ? { earliestCertExpiry: pick(r, [1, -86400, 1.9e9, 2 ** 40]) } : {}),
    })),
    hops: maybe(r, () => Array.from({ length: 1 + int(r, 3) }, () => hop(r)), 0.2),
    proxied: maybe(r, () => true, 0.2),
  };
  for (const k of Object.keys(a)) if (a[k] === undefined) delete a[k];
  return a as unknown as AttemptResult;
}

/** What the domain cannot say but a peer can send: unknown enum numbers, 64-bit extremes, odd Durations. */
function wireOddities(r: Rand, p: pb.Attempt): void {
  if (r() < 0.1) p.http_status = pick(r, [2 ** 32 - 1, 2 ** 31, 70000]);
  if (r() < 0.1) p.ip_family = pick(r, [5, 41, 2 ** 31]);
  if (r() < 0.1 && p.has_error) p.error.reason = pick(r, [-1, 18, 19, 21, 99, 2 ** 31 - 1]);
  if (r() < 0.1) p.seq = pick(r, [2 ** 63, 2 ** 64 - 2048, 2 ** 60 + 3]);
  if (r() < 0.1) p.latency = new gd.protobuf.Duration({ seconds: pick(r, [5, -5, 0]), nanos: pick(r, [-1, 1, 0]) });
  if (r() < 0.05) p.latency = new gd.protobuf.Duration({ seconds: pick(r, [-(2 ** 40), 2 ** 40]), nanos: 999999999 });
  if (r() < 0.1 && p.has_tls) p.tls.earliest_cert_expiry = pick(r, [-1, -(2 ** 53), 2 ** 62]);
}

/** An unknown field of any wire type a newer server could add. */
function unknownField(r: Rand): number[] {
  const n = pick(r, [12, 49, 51, 71, 131, 999, 536870911]);
  switch (int(r, 4)) {
    case 0:
      return [...tag(n, 0), ...varint(pick(r, BIG))];
    case 1:
      return [...tag(n, 1), 1, 2, 3, 4, 5, 6, 7, 8];
    case 2:
      return [...tag(n, 5), 1, 2, 3, 4];
    default:
      return ld(n, Buffer.from(text(r, 20)));
  }
}

function summaryProto(r: Rand): pb.Summary {
  const d = (): gd.protobuf.Duration =>
    new gd.protobuf.Duration({ seconds: int(r, 10) - (r() < 0.1 ? 20 : 0), nanos: int(r, 1e9) });
  const s = new pb.Summary({
    attempts: int(r, 1e6),
    successes: int(r, 1e6),
    failures: pick(r, BIG),
    responses: int(r, 1e6),
    histogram: Array.from({ length: int(r, 5) }, () => new pb.HistogramBucket({ upper_bound: d(), count: int(r, 99) })),
    histogram_overflow: int(r, 9),
    statuses: Array.from({ length: int(r, 4) }, () => new pb.StatusCount({ status: pick(r, [200, 500, 0]), count: 3 })),
    errors: Array.from(
      { length: int(r, 4) },
      () => new pb.ReasonCount({ reason: pick(r, [1, 5, 12, 99]) as pb.ErrorReason, count: 2 }),
    ),
    deadline_reached: r() < 0.5,
    shutdown: r() < 0.2,
    schedule_slips: int(r, 9),
    events_sent: int(r, 1e6),
    aborted: int(r, 9),
    region: r() < 0.5 ? text(r) : '',
  });
  for (const f of [
    'average_latency',
    'min',
    'max',
    'p50',
    'p90',
    'p95',
    'p99',
    'stddev',
    'backpressure_wait',
    'elapsed',
  ])
    if (r() < 0.7) (s as unknown as Record<string, unknown>)[f] = d();
  if (r() < 0.5) s.phase_medians = new pb.Phases({ dns: d(), ttfb: d() });
  if (r() < 0.3)
    s.intended_latency = new pb.IntendedLatency({ samples: 4, average: d(), p50: d(), p99: d(), max: d() });
  if (r() < 0.3) s.event_loop_delay = new pb.EventLoopDelay({ p99: d(), overloaded: r() < 0.5 });
  if (r() < 0.3)
    s.latency_sketch = new pb.LatencySketch({
      count: 3,
      sum_ms: r() * 1e3,
      sum_squares_ms2: r(),
      min_ms: -0,
      max_ms: Number.MAX_VALUE,
      buckets: [new pb.SketchBucket({ index: 9, count: 1 }), new pb.SketchBucket({ index: 2, count: 2 })],
    });
  return s;
}

/** One generated ProbeEvent's bytes, sometimes with unknown fields, repeats and a region. */
function eventBytes(r: Rand): Uint8Array {
  const region = r() < 0.2 ? text(r) : undefined;
  if (r() < 0.15)
    return new pb.ProbeEvent({ summary: summaryProto(r), ...(region ? { region } : {}) }).serializeBinary();
  if (r() < 0.1) {
    // A batch (ProbeRequest.batch_attempts): its attempts, oddities and all.
    const n = int(r, 5);
    const attempts = Array.from({ length: n }, () => attemptEvent(attempt(r)).attempt);
    for (const p of attempts) wireOddities(r, p);
    const batch = [...new pb.AttemptBatch({ attempts }).serializeBinary()];
    return Uint8Array.from([
      ...ld(4, r() < 0.2 ? [...batch, ...unknownField(r)] : batch),
      ...(region ? ld(3, Buffer.from(region)) : []),
    ]);
  }
  const p = attemptEvent(attempt(r), region).attempt;
  wireOddities(r, p);
  let body = [...p.serializeBinary()];
  // A newer server's fields, anywhere in the attempt.
  if (r() < 0.3) body = [...body, ...unknownField(r)];
  if (r() < 0.1) body = [...unknownField(r), ...body];
  // A field sent twice: scalars and messages take the last, hops accumulate.
  if (r() < 0.1) body = [...body, ...attemptEvent(attempt(r)).attempt.serializeBinary()];
  const out = [...ld(1, body), ...(region ? ld(3, Buffer.from(region)) : [])];
  return Uint8Array.from(r() < 0.1 ? [...unknownField(r), ...out] : out);
}

// ---------------------------------------------------------------- tests

it(`decodes generated events exactly as google-protobuf + attemptFromProto/summaryFromProto do ${seeded}`, () => {
  const r = prng(SEED);
  let attempts = 0;
  let summaries = 0;
  let batches = 0;
  for (let i = 0; i < 4000; i++) {
    const bytes = eventBytes(r);
    same(bytes, `event ${i} ${seeded}: ${Buffer.from(bytes).toString('hex')}`);
    // grpc-js hands the deserializer a Buffer that may be a slice of a larger one.
    const padded = Buffer.concat([Buffer.from([0xff, 0x0a]), bytes]).subarray(2);
    assert.deepStrictEqual(decodeProbeEvent(padded), decodeProbeEvent(bytes), `event ${i} in a slice ${seeded}`);
    const ev = pb.ProbeEvent.deserialize(bytes);
    if (ev.has_summary) summaries++;
    else if (ev.has_attempts) batches++;
    else attempts++;
  }
  assert.ok(
    attempts > 2500 && summaries > 400 && batches > 200,
    `${attempts} attempts, ${summaries} summaries, ${batches} batches`,
  );
});

it('unknown fields are skipped at every level, including ones inside a known nested message', () => {
  const phases = [...ld(1, [0x08, 0x02]), ...tag(77, 0), 5, ...ld(78, [1, 2, 3])];
  const error = [...tag(1, 0), 5, ...ld(2, Buffer.from('boom')), ...tag(9, 5), 0, 0, 0, 0];
  const attempt = [...tag(1, 0), 7, ...ld(4, phases), ...ld(9, error), ...tag(2000, 1), 1, 2, 3, 4, 5, 6, 7, 8];
  const bytes = Uint8Array.from([...tag(15, 0), 1, ...ld(1, attempt), ...ld(3, Buffer.from('eu'))]);
  same(bytes, 'unknown fields');
  const ev = decodeProbeEvent(bytes);
  assert.equal(ev.kind === 'attempt' && ev.attempt.error?.reason, 'TIMEOUT');
  assert.equal(ev.region, 'eu');
});

it('non-canonical varints read as google-protobuf reads them (uint32 past 5 bytes is signed, bool is the low 32 bits)', () => {
  // Low 32 bits 0x80000005, then 5 more bytes: readUint32 gives -2147483643.
  const long = [0x85, 0x80, 0x80, 0x80, 0x88, 0x80, 0x80, 0x80, 0x80, 0x01];
  const twoTo32 = [0x80, 0x80, 0x80, 0x80, 0x10];
  for (const f of [1, 5, 6, 10, 90, 130]) {
    for (const v of [long, twoTo32]) same(Uint8Array.from(ld(1, [...tag(f, 0), ...v])), `field ${f}: ${v}`);
  }
  for (const v of [long, twoTo32]) {
    same(Uint8Array.from(ld(1, ld(9, [...tag(1, 0), ...v]))), `reason: ${v}`);
    same(Uint8Array.from(ld(1, ld(3, [...tag(1, 0), ...v, ...tag(2, 0), ...v]))), `duration: ${v}`);
    same(Uint8Array.from(ld(1, ld(50, [...tag(5, 0), ...v, ...tag(4, 0), ...v]))), `tls: ${v}`);
  }
  // A tag with bits past 32: google-protobuf keeps the low 32 (field 5, varint).
  same(Uint8Array.from(ld(1, [...varint(5 * 8 + 2 ** 35), 7])), 'tag');
});

it(`encodeAttemptBatch: google-protobuf and decodeProbeEvent read back the attempts it was given ${seeded}`, () => {
  const r = prng(SEED + 1);
  for (let i = 0; i < 300; i++) {
    // Lone surrogates aside: the encoder writes U+FFFD for them, google-protobuf does not (wire-event-encode.test.ts).
    const as = Array.from({ length: 1 + int(r, 40) }, () => attempt(r)).filter(
      (a) => !/\\ud[89a-f]/i.test(JSON.stringify(a)),
    );
    const name = r() < 0.3 ? text(r) : undefined;
    const region = name !== undefined && !/\\ud[89a-f]/i.test(JSON.stringify(name)) ? name : undefined;
    const bytes = encodeAttemptBatch(as, region);
    const want = new pb.ProbeEvent({
      attempts: new pb.AttemptBatch({ attempts: as.map((a) => attemptEvent(a).attempt) }),
      ...(region ? { region } : {}),
    });
    assert.deepStrictEqual(pb.ProbeEvent.deserialize(bytes).toObject(), want.toObject(), `batch ${i} ${seeded}`);
    same(bytes, `batch ${i} ${seeded}`);
    const ev = decodeProbeEvent(bytes);
    assert.equal(ev.kind === 'attempts' && ev.attempts.length, as.length);
  }
});

it('a oneof takes its last member; an event with neither is "none"', () => {
  const a = attemptEvent({ seq: 1, startedAt: 0, latencyMs: 1, phases: {}, bodyBytes: 0, reused: false }).attempt;
  const s = new pb.Summary({ attempts: 1 });
  same(Uint8Array.from([...ld(1, a.serializeBinary()), ...ld(2, s.serializeBinary())]), 'attempt then summary');
  same(Uint8Array.from([...ld(2, s.serializeBinary()), ...ld(1, a.serializeBinary())]), 'summary then attempt');
  assert.deepStrictEqual(decodeProbeEvent(Uint8Array.from(ld(3, Buffer.from('x')))), { kind: 'none', region: 'x' });
});

const HUGE = 0xffff_ffff;

it('a 4 GiB length declared inside a nested string is refused, naming the field', () => {
  const hopBytes = [...tag(1, 2), ...varint(HUGE), ...Buffer.from('http://')];
  const bytes = Uint8Array.from(ld(1, [...tag(1, 0), 1, ...ld(70, hopBytes)]));
  assert.throws(
    () => decodeProbeEvent(bytes),
    (err: Error) =>
      err instanceof WireFormatError &&
      /^prober\.v1\.ProbeEvent field 1\.70\.1 \(attempt\.hops\.url\) declares 4294967295 bytes, 7 remain$/.test(
        err.message,
      ),
  );
  const message = [...tag(2, 2), ...varint(HUGE), 0x41];
  assert.throws(() => decodeProbeEvent(Uint8Array.from(ld(1, ld(9, message)))), /1\.9\.2 \(attempt\.error\.message\)/);
  const region = [...tag(28, 2), ...varint(HUGE)];
  assert.throws(() => decodeProbeEvent(Uint8Array.from(ld(2, region))), /2\.28 \(summary\.region\) declares/);
  assert.throws(() => decodeProbeReply(Uint8Array.from(ld(1, region))), /ProbeReply field 1\.28 \(summary\.region\)/);
});

it('a UTF-8 lead byte at a string’s end and a known field’s wrong wire type are refused', () => {
  assert.throws(
    () => decodeProbeEvent(Uint8Array.from(ld(1, ld(7, [0x31, 0xe2])))),
    /1\.7 \(attempt\.http_version\): a UTF-8/,
  );
  assert.throws(
    () => decodeProbeEvent(Uint8Array.from(ld(1, [...tag(5, 2), 0]))),
    /1\.5 \(attempt\.http_status\): wire type 2/,
  );
  assert.throws(
    () => decodeProbeEvent(Uint8Array.from(ld(1, ld(3, [...tag(1, 1), 1, 2, 3, 4, 5, 6, 7, 8])))),
    /seconds/,
  );
});

it(`every truncation and seeded byte mutation either decodes as google-protobuf does or is refused as the checker refuses it ${seeded}`, () => {
  const r = prng(SEED + 1);
  let refused = 0;
  let decoded = 0;
  for (let i = 0; i < 400; i++) {
    const valid = eventBytes(r);
    const variants: Uint8Array[] = [];
    for (let cut = 0; cut < valid.length; cut += 1 + int(r, 4)) variants.push(valid.subarray(0, cut));
    for (let k = 0; k < 8; k++) {
      const m = Uint8Array.from(valid);
      for (let j = 0; j <= int(r, 3); j++) m[int(r, m.length)] = pick(r, [0, 0x80, 0xff, 0xf0, 0x0a, int(r, 256)]);
      variants.push(m);
    }
    for (const bytes of variants) {
      const why = `${seeded} ${Buffer.from(bytes).toString('hex')}`;
      let checked = true;
      try {
        checkWireFormat(bytes, 0, bytes.length, PROBE_EVENT);
      } catch {
        checked = false;
      }
      if (checked) {
        // Bounded for google-protobuf too: the reference can run.
        same(bytes, why);
        decoded++;
      } else {
        assert.throws(() => decodeProbeEvent(bytes), WireFormatError, why);
        refused++;
      }
    }
  }
  assert.ok(refused > 1000 && decoded > 1000, `${refused} refused, ${decoded} decoded`);
});

// ---------------------------------------------------------------- end to end

/** A server whose replies are whatever bytes the test says (identity serializers). */
async function hostileServer(stream: Buffer[], reply: Buffer): Promise<{ address: string; close(): void }> {
  const id = (b: Buffer): Buffer => b;
  const server = new grpc.Server();
  const def = (path: string, responseStream: boolean) => ({
    path,
    requestStream: false,
    responseStream,
    requestSerialize: id,
    requestDeserialize: id,
    responseSerialize: id,
    responseDeserialize: id,
  });
  server.addService(
    { Probe: def('/prober.v1.Prober/Probe', false), ProbeStream: def('/prober.v1.Prober/ProbeStream', true) },
    {
      Probe: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, reply),
      ProbeStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        for (const b of stream) call.write(b);
        // Never ends on its own: a client that does not fail would wait for the deadline.
      },
    },
  );
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

it('a hostile server declaring a 4 GiB string ends the call INTERNAL naming the field, at once', async (t) => {
  const good = Buffer.from(
    attemptEvent({ seq: 1, startedAt: 1, latencyMs: 2, phases: {}, bodyBytes: 0, reused: false }).serializeBinary(),
  );
  const evil = Buffer.from(ld(1, ld(70, [...tag(1, 2), ...varint(HUGE), 0x68])));
  const evilReply = Buffer.from(ld(1, [...tag(28, 2), ...varint(HUGE), 0x68]));
  const srv = await hostileServer([good, evil], evilReply);
  const conn = connect(srv.address);
  t.after(() => {
    conn.close();
    srv.close();
  });
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const ev of probeStream(
        conn,
        { endpoint: 'http://127.0.0.1:1/', repetitions: 5 },
        { deadlineMs: 60_000 },
      ))
        if (ev.kind === 'attempt') seen.push(ev.attempt.seq);
    })(),
    (err: unknown) => {
      assert.ok(err instanceof ProberRpcError, String(err));
      assert.equal(err.codeName, 'INTERNAL');
      assert.match(
        err.details,
        /^Response message parsing error: prober\.v1\.ProbeEvent field 1\.70\.1 \(attempt\.hops\.url\) declares 4294967295 bytes, 1 remain$/,
      );
      return true;
    },
  );
  assert.deepEqual(seen, [1], 'the event before the bad one arrives');
  await assert.rejects(probeOnce(conn, { endpoint: 'http://127.0.0.1:1/', repetitions: 1 }, { deadlineMs: 60_000 }), {
    code: grpc.status.INTERNAL,
    details: /ProbeReply field 1\.28 \(summary\.region\) declares 4294967295 bytes/,
  });
});

it('the CLI reports a hostile server’s bad reply as an RPC failure naming the field', async (t) => {
  const evil = Buffer.from(ld(1, ld(9, [...tag(2, 2), ...varint(HUGE), 0x68])));
  const srv = await hostileServer([evil], Buffer.from(ld(1, [...tag(28, 2), ...varint(HUGE)])));
  t.after(() => srv.close());
  for (const cmd of ['stream', 'probe']) {
    const io = testIo();
    const code = await run([cmd, 'http://127.0.0.1:1/', '-n', '2', '--server', srv.address, '--timeout', '1s'], io);
    assert.equal(code, EXIT.RPC, `${cmd}: ${io.stderr.text()}`);
    assert.match(
      io.stderr.text(),
      /INTERNAL.*Response message parsing error: prober\.v1\.Probe(Event|Reply) field 1\.(9\.2 \(attempt\.error\.message|28 \(summary\.region)\) declares 4294967295 bytes/,
    );
  }
});
