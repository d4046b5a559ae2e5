// Admission and limits through the real server, loopback only: each cap is
// RESOURCE_EXHAUSTED naming it and the server keeps serving; URL and label
// caps keep /metrics bounded; port 0 and control characters are
// INVALID_ARGUMENT; undecodable bytes are INVALID_ARGUMENT, never INTERNAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { prober } from '../src/generated/prober/v1/prober.js';
import { google as gd } from '../src/generated/google/protobuf/duration.js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { RateLimiter, peerAddress } from '../src/server/admission.js';
import { boundText } from '../src/server/bound.js';
import { InvalidArgumentError, validateProbeInput } from '../src/probe/index.js';
import { STATUS_DETAILS_KEY, decodeStatusDetails } from '../src/wire/index.js';
import { startTarget, type Target } from './helpers/target.js';
import { until } from './helpers/wait.js';
import { withoutRegion } from './helpers/prometheus.js';

import pb = prober.v1;

type TestCtx = { after: (fn: () => unknown) => void };

async function serve(t: TestCtx, input: ServerInput = {}, logger?: pino.Logger): Promise<RunningServer> {
  const running = await startServer({
    listen: '127.0.0.1:0',
    warmUp: false,
    ...input,
    observability: {
      health: false,
      reflection: false,
      metrics: { listen: '127.0.0.1:0', defaultMetrics: false },
      ...(logger ? { logger } : {}),
    },
  });
  t.after(() => running.close(0));
  return running;
}

async function target(t: TestCtx): Promise<Target> {
  const tg = await startTarget();
  t.after(() => tg.close());
  return tg;
}

const identity = (b: Buffer): Buffer => b;

/** A raw client; `own` gives it its own HTTP/2 connection (grpc-js shares them between channels by default). */
function rawClient(t: TestCtx, address: string, own = false): grpc.Client {
  const c = new grpc.Client(
    address,
    grpc.credentials.createInsecure(),
    own ? { 'grpc.use_local_subchannel_pool': 1 } : {},
  );
  t.after(() => c.close());
  return c;
}

const encode = (req: ConstructorParameters<typeof pb.ProbeRequest>[0]): Buffer =>
  Buffer.from(new pb.ProbeRequest(req).serialize());

/** Unary Probe with raw bytes: resolves with the error (null when OK). */
function probe(client: grpc.Client, bytes: Buffer, deadlineMs = 10_000): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/prober.v1.Prober/Probe',
      identity,
      identity,
      bytes,
      new grpc.Metadata(),
      { deadline: Date.now() + deadlineMs },
      (err) => resolve(err),
    );
  });
}

/** A ProbeStream left open; `ended` resolves with its status error (null when OK). */
function openStream(client: grpc.Client, bytes: Buffer) {
  const call = client.makeServerStreamRequest('/prober.v1.Prober/ProbeStream', identity, identity, bytes, {
    deadline: Date.now() + 30_000,
  });
  const ended = new Promise<grpc.ServiceError | null>((resolve) => {
    call.on('data', () => {});
    call.on('error', (e: grpc.ServiceError) => resolve(e));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve(null);
    });
  });
  return { call, ended };
}

function exhausted(err: grpc.ServiceError | null, message: RegExp): void {
  assert.ok(err, 'expected RESOURCE_EXHAUSTED, the call succeeded');
  assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED, `${err.code}: ${err.details}`);
  assert.match(err.details, message);
}

function invalid(err: grpc.ServiceError | null, message: RegExp, field = 'endpoint'): void {
  assert.ok(err, 'expected INVALID_ARGUMENT, the call succeeded');
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `${err.code}: ${err.details}`);
  assert.match(err.details, message);
  const raw = err.metadata.get(STATUS_DETAILS_KEY)[0] as Uint8Array;
  assert.equal(decodeStatusDetails(raw)?.fieldViolations[0]?.field ?? '', field);
}

const hang = (tg: Target, extra: ConstructorParameters<typeof pb.ProbeRequest>[0] = {}) =>
  encode({ endpoint: `${tg.url}/hang`, repetitions: 1, timeout: new gd.protobuf.Duration({ seconds: 30 }), ...extra });

test('calls cap: the next call is RESOURCE_EXHAUSTED naming --max-calls; freed slots serve again', async (t) => {
  const tg = await target(t);
  const running = await serve(t, { admission: { maxCalls: 2 } });
  const client = rawClient(t, running.address);
  const a = openStream(client, hang(tg));
  const b = openStream(client, hang(tg));
  await until(() => (tg.hits.get('/hang') ?? 0) >= 2, 10_000, '2 attempts hanging');
  const t0 = performance.now();
  exhausted(
    await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 })),
    /^server at its cap of 2 concurrent calls \(admission\.maxCalls\); retry later$/,
  );
  assert.ok(performance.now() - t0 < 2_000, 'refused at once, not queued');
  a.call.cancel();
  b.call.cancel();
  await until(
    async () => (await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 }))) === null,
    10_000,
    'a call served again',
  );
});

test('attempts-in-flight cap: a call whose concurrency does not fit is refused, a smaller one runs', async (t) => {
  const tg = await target(t);
  const running = await serve(t, { admission: { maxAttemptsInFlight: 5 } });
  const client = rawClient(t, running.address);
  const s = openStream(client, hang(tg, { repetitions: 4, concurrency: 4 }));
  await until(() => (tg.hits.get('/hang') ?? 0) >= 4, 10_000, '4 attempts hanging');
  exhausted(
    await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 2, concurrency: 2 })),
    /^server at its cap of 5 attempts in flight \(admission\.maxAttemptsInFlight\): 4 in flight, this call asks for 2; retry later or lower concurrency$/,
  );
  assert.equal(await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 2, concurrency: 1 })), null);
  s.call.cancel();
});

test('streams-per-connection cap: RESOURCE_EXHAUSTED at once on that connection; another connection is served', async (t) => {
  const tg = await target(t);
  const running = await serve(t, { admission: { maxStreamsPerConnection: 2 } });
  const client = rawClient(t, running.address, true);
  const streams = [openStream(client, hang(tg)), openStream(client, hang(tg))];
  await until(() => (tg.hits.get('/hang') ?? 0) >= 2, 10_000, '2 attempts hanging');
  // More than the HTTP/2 headroom too: each is refused, none waits for its deadline.
  const over = await Promise.all(
    Array.from({ length: 15 }, () => probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 }), 5_000)),
  );
  for (const err of over) {
    exhausted(
      err,
      /^connection at its cap of 2 concurrent calls \(admission\.maxStreamsPerConnection\); retry later or open another connection$/,
    );
  }
  const other = rawClient(t, running.address, true);
  assert.equal(await probe(other, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 })), null);
  for (const s of streams) s.call.cancel();
  await until(
    async () => (await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 }))) === null,
    10_000,
    'a call served again',
  );
});

test('rate limit: over it RESOURCE_EXHAUSTED with a RetryInfo detail; served again after the hint', async (t) => {
  const tg = await target(t);
  const running = await serve(t, { admission: { rateLimit: 2 } });
  const client = rawClient(t, running.address);
  // The bucket holds 2: this call takes both (and waits for nothing).
  assert.equal(await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 2 })), null);
  const err = await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 }));
  exhausted(err, /^client over its rate limit of 2 attempts\/s \(admission\.rateLimit\); retry in 0\.\d s$/);
  const details = decodeStatusDetails(err!.metadata.get(STATUS_DETAILS_KEY)[0] as Uint8Array);
  const delay = details?.retryDelayMs;
  assert.ok(delay !== undefined && delay > 0 && delay <= 500, `retry delay ${delay}`);
  await new Promise((r) => setTimeout(r, delay + 20));
  assert.equal(await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 })), null);
});

test('rate limit: a running call is slowed to the rate, not cut', async (t) => {
  const tg = await target(t);
  const running = await serve(t, { admission: { rateLimit: 10 } });
  const client = rawClient(t, running.address);
  const t0 = performance.now();
  // 10 from the bucket at once, then 10 more at 10/s.
  assert.equal(await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 20 })), null);
  const ms = performance.now() - t0;
  assert.ok(ms >= 800, `20 attempts at 10/s with a burst of 10 took ${ms} ms`);
});

test('RateLimiter: debt, refill, and memory bounded by evicting idle clients', () => {
  let now = 0;
  const rl = new RateLimiter(2, 2, 3, () => now);
  assert.equal(rl.waitMs('a'), 0);
  assert.equal(rl.take('a'), 0);
  assert.equal(rl.take('a'), 0);
  assert.equal(rl.take('a'), 500, 'in debt by one token at 2/s');
  assert.equal(rl.waitMs('a'), 1000, 'a new call needs a whole token');
  now = 1000;
  assert.equal(rl.waitMs('a'), 0);
  for (const c of ['b', 'c', 'd', 'e']) rl.take(c);
  assert.ok(rl.size <= 3, `size ${rl.size}`);
  now = 10_000; // everyone idle: full buckets are forgotten
  rl.take('f');
  assert.equal(rl.size, 1);
  assert.equal(peerAddress('127.0.0.1:5000'), '127.0.0.1');
  assert.equal(peerAddress('::1:5000'), '::1');
  assert.equal(peerAddress('unknown'), 'unknown');
});

test('URL length cap: a 1 MB endpoint is INVALID_ARGUMENT and /metrics stays small', async (t) => {
  const running = await serve(t);
  const client = rawClient(t, running.address);
  const metricsUrl = `${running.metrics!.url}/metrics`;
  const before = (await (await fetch(metricsUrl)).text()).length;
  const huge = `http://127.0.0.1:9/${'a'.repeat(1024 * 1024)}`;
  invalid(
    await probe(client, encode({ endpoint: huge, repetitions: 1 })),
    /^endpoint must be at most 8192 bytes long \(got 1048595\)$/,
  );
  const after = (await (await fetch(metricsUrl)).text()).length;
  assert.ok(after - before < 4096, `/metrics grew from ${before} to ${after} bytes`);
});

test('a long but allowed endpoint gets a truncated, hashed label and a bounded log field', async (t) => {
  const tg = await target(t);
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const running = await serve(t, {}, pino({ level: 'info' }, sink));
  const client = rawClient(t, running.address);
  const endpoint = `${tg.url}/ok?pad=${'x'.repeat(6000)}`;
  assert.equal(await probe(client, encode({ endpoint, repetitions: 1 })), null);
  const text = withoutRegion(await (await fetch(`${running.metrics!.url}/metrics`)).text());
  const label = boundText(endpoint, 200);
  assert.match(label, /…[0-9a-f]{8}$/);
  assert.ok(text.includes(`prober_attempts_total{endpoint="${label}",result="success"} 1`), 'truncated label');
  assert.ok(!text.includes('x'.repeat(300)), 'no label carries the whole URL');
  await until(() => lines.some((l) => l.msg === 'rpc'), 5_000, 'the rpc log line');
  const line = lines.find((l) => l.msg === 'rpc')!;
  assert.ok((line.endpoint as string).length <= 512 + 9, `log endpoint ${String(line.endpoint).length} chars`);
});

test('port 0 and control characters are INVALID_ARGUMENT naming endpoint, through gRPC', async (t) => {
  const running = await serve(t);
  const client = rawClient(t, running.address);
  invalid(
    await probe(client, encode({ endpoint: 'http://127.0.0.1:0/', repetitions: 1 })),
    /^endpoint port must be between 1 and 65535 \(got 0\)$/,
  );
  invalid(
    await probe(client, encode({ endpoint: 'http://127.0.0.1:8080/a\nb', repetitions: 1 })),
    /^endpoint must not contain control characters \(found U\+000A at index 23\)$/,
  );
  assert.equal((await probe(client, encode({ endpoint: 'http://127.0.0.1:1/', repetitions: 1 })))?.code, undefined);
});

test('every control character class is rejected before new URL can strip or escape it', () => {
  const cases: Array<[string, string]> = [
    ['\u0000', '0000'],
    ['\t', '0009'],
    ['\n', '000A'],
    ['\r', '000D'],
    ['\u001b', '001B'],
    ['\u001f', '001F'],
    ['\u007f', '007F'],
  ];
  for (const [c, hex] of cases) {
    for (const endpoint of [`${c}http://a.test/`, `http://a${c}.test/`, `http://a.test/p${c}q`, `http://a.test/${c}`]) {
      assert.throws(
        () => validateProbeInput({ endpoint, repetitions: 1 }),
        (e: unknown) =>
          e instanceof InvalidArgumentError &&
          e.field === 'endpoint' &&
          e.message === `endpoint must not contain control characters (found U+${hex} at index ${endpoint.indexOf(c)})`,
        JSON.stringify(endpoint),
      );
    }
  }
  // Port 0 however written; leading/trailing spaces (not controls) are still trimmed.
  for (const endpoint of ['http://a.test:0/', 'https://a.test:000/'])
    assert.throws(() => validateProbeInput({ endpoint, repetitions: 1 }), /port must be between 1 and 65535 \(got 0\)/);
  assert.equal(validateProbeInput({ endpoint: '  http://a.test:1/ ', repetitions: 1 }).url.port, '1');
  assert.equal(
    validateProbeInput({ endpoint: `http://a.test/${'a'.repeat(8192 - 16)}`, repetitions: 1 }).url.host,
    'a.test',
  );
});

test('undecodable request bytes are INVALID_ARGUMENT, never INTERNAL; the server keeps serving', async (t) => {
  const tg = await target(t);
  const running = await serve(t);
  const client = rawClient(t, running.address);
  const err = await probe(client, Buffer.from([0xff, 0xff, 0xff]));
  invalid(err, /^request is not a valid prober\.v1\.ProbeRequest: /, '');
  const stream = openStream(client, Buffer.from([0x0a, 0x05, 0x41]));
  invalid(await stream.ended, /^request is not a valid prober\.v1\.ProbeRequest: /, '');
  let undecodable = 0;
  for (let i = 0; i < 200; i++) {
    const e = await probe(client, randomBytes(1 + (i % 48)), 5_000);
    const code = e?.code ?? grpc.status.OK;
    assert.ok(![grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(code), `${code}: ${e?.details}`);
    if (e?.details.startsWith('request is not a valid')) undecodable++;
  }
  assert.ok(undecodable > 50, `${undecodable} undecodable of 200`);
  assert.equal(await probe(client, encode({ endpoint: `${tg.url}/ok`, repetitions: 1 })), null);
});

test('config: caps must be whole numbers >= 1, the rate positive; serve flags set them', async (t) => {
  const { resolveServerConfig } = await import('../src/server/config.js');
  const s = resolveServerConfig({});
  assert.deepEqual(
    { ...s.admission, names: undefined },
    {
      maxCalls: 200,
      maxAttemptsInFlight: 1000,
      maxStreamsPerConnection: 100,
      rateLimit: undefined,
      rateBurst: 1,
      names: undefined,
    },
  );
  assert.equal(s.grpc.options['grpc.max_concurrent_streams'], 110);
  assert.equal(s.limits.maxUrlBytes, 8192);
  assert.throws(() => resolveServerConfig({ admission: { maxCalls: 0 } }), /maxCalls must be an integer >= 1/);
  assert.throws(() => resolveServerConfig({ admission: { rateLimit: -1 } }), /rateLimit must be a positive number/);
  assert.equal(resolveServerConfig({ admission: { rateLimit: 0.5 } }).admission.rateBurst, 1);
  assert.equal(resolveServerConfig({ admission: { rateLimit: 50 } }).admission.rateBurst, 50);
  t.after(() => {});
});
