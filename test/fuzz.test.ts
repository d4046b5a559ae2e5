// Fuzz the gRPC server with what a careless or hostile client sends: random
// bytes as the request body, and hand-encoded ProbeRequests with random field
// values (control characters, huge strings, negative and huge numbers,
// unknown enum numbers, malformed Durations). Bounded in count and time,
// seeded: a failure prints FUZZ_SEED=<n> to replay it. The server must keep
// serving and never blame itself (INTERNAL/UNKNOWN) for a client's mistake.
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { summaryFromProto } from '../src/wire/index.js';
import { decodeProbeRequest, undecodableReason } from '../src/wire/request-decode.js';
import {
  encodeRequest,
  HEALTH_CHECK_PATH,
  PROBE_PATH,
  rawClient,
  rawStream,
  rawUnary,
  STREAM_PATH,
  statusName,
  type RawOutcome,
} from './helpers/raw-grpc.js';
import { startTarget, type Target } from './helpers/target.js';

import pb = prober.v1;
import { prng } from './helpers/prng.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.FUZZ_CASES ?? 300);
const TIME_BUDGET_MS = 20_000;
const PARALLEL = 16;
/** Largest string a case sends: well inside grpc-js's 4 MiB message limit. */
const MAX_STRING = 64 * 1024;
const CLIENT_FAULT = new Set(['INTERNAL', 'UNKNOWN']);

class Gen {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  /** Mostly short, sometimes huge; C0, DEL, non-ASCII and lone surrogates included. */
  string(): string {
    const len = this.chance(0.1) ? this.int(MAX_STRING) : this.int(40);
    const pools = ['abc/:.?#[]@%', '\u0000\t\n\r\u001f\u007f', 'éü中\u200b\ufffd\ud800', ' \\"\'<>'];
    let s = '';
    for (let i = 0; i < len; i++) s += this.pick(this.pick(pools).split(''));
    return s;
  }
  number(): number {
    return this.pick([
      0,
      1,
      -1,
      2,
      99,
      100,
      599,
      600,
      10_000,
      10_001,
      2 ** 31 - 1,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 53,
      -(2 ** 53),
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -0,
      this.int(1000) - 500,
      this.next() * 1e12,
    ]);
  }
}

// ---- a hand-rolled encoder, so any number goes on the wire as a client could send it

function varint(n: bigint): Buffer {
  let v = BigInt.asUintN(64, n);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Buffer.from(out);
}

/** What a JS client library puts on the wire for a non-integer: NaN and ±Infinity as 0, fractions truncated. */
function wireInt(x: number): bigint {
  return Number.isFinite(x) ? BigInt(Math.trunc(x)) : 0n;
}

const tag = (field: number, wireType: number): Buffer => varint(BigInt((field << 3) | wireType));
const vField = (field: number, x: number): Buffer => Buffer.concat([tag(field, 0), varint(wireInt(x))]);
const lenField = (field: number, body: Buffer): Buffer =>
  Buffer.concat([tag(field, 2), varint(BigInt(body.length)), body]);

function duration(g: Gen): Buffer {
  const parts: Buffer[] = [];
  if (g.chance(0.8)) parts.push(vField(1, g.chance(0.5) ? g.int(120) - 10 : g.number()));
  if (g.chance(0.6)) parts.push(vField(2, g.chance(0.5) ? g.int(2_000_000_000) - 1_000_000_000 : g.number()));
  return Buffer.concat(parts);
}

interface Urls {
  readonly target: string;
}

/** Endpoints: random text, odd schemes, loopback IP literals with odd ports and paths, the local target. */
function endpoint(g: Gen, urls: Urls): string {
  const candidates = [
    '',
    g.string(),
    `${g.pick(['ftp', 'file', 'javascript', 'gopher', 'HTTP', 'http', 'https'])}:${g.string()}`,
    `http://127.0.0.1:${g.pick([0, 1, 80, 65535, 65536, 99999])}/${g.string()}`,
    `http://[${g.pick(['::1', '::', 'fe80::1', '::ffff:169.254.169.254', g.string()])}]/`,
    `http://${g.pick(['169.254.169.254', '0.0.0.0', '2130706433', '0x7f.1'])}/`,
    `${urls.target}/${g.pick(['ok', 'status/500', 'hang', 'reset', 'garbage'])}${g.chance(0.3) ? g.string() : ''}`,
  ];
  return g.pick(candidates);
}

/** Only loopback IP literals and the local target: a random host name would go to DNS. */
function staysLocal(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return true;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return true;
  return isIP(url.hostname.replace(/^\[|\]$/g, '')) !== 0;
}

function randomRequest(g: Gen, urls: Urls): Buffer {
  const fields: Buffer[] = [];
  const add = (p: number, make: () => Buffer): void => {
    if (g.chance(p)) fields.push(make());
  };
  let ep = endpoint(g, urls);
  if (!staysLocal(ep)) ep = `${urls.target}/ok`;
  add(0.9, () => lenField(1, Buffer.from(ep)));
  add(0.8, () => vField(2, g.chance(0.5) ? g.int(5) : g.number()));
  add(0.5, () => lenField(3, duration(g)));
  add(0.4, () => lenField(4, duration(g)));
  add(0.4, () => vField(5, g.chance(0.5) ? g.int(5) : g.number()));
  add(0.3, () => vField(6, g.int(3)));
  for (let i = g.int(3); i > 0; i--) {
    const range = Buffer.concat([vField(1, g.chance(0.5) ? 100 + g.int(600) : g.number()), vField(2, g.number())]);
    fields.push(lenField(7, range));
  }
  add(0.4, () => vField(8, g.pick([0, 1, 2, 3, -1, 2 ** 31 - 1, g.number()])));
  // Field order shuffled and, now and then, a field repeated (the last one wins).
  for (let i = fields.length - 1; i > 0; i--) {
    const j = g.int(i + 1);
    [fields[i], fields[j]] = [fields[j]!, fields[i]!];
  }
  if (fields.length > 0 && g.chance(0.1)) fields.push(g.pick(fields));
  return Buffer.concat(fields);
}

/**
 * Whether the server's decoder reads the bytes as a ProbeRequest, and whose
 * host stays local. Not google-protobuf directly: on a string declared longer
 * than the bytes it spends seconds, blocking this process's event loop, which
 * the in-process server shares.
 */
function classify(body: Buffer): 'decodes' | 'undecodable' | 'leaves-loopback' {
  const req = decodeProbeRequest(body);
  if (undecodableReason(req) !== undefined) return 'undecodable';
  return staysLocal(req.endpoint) ? 'decodes' : 'leaves-loopback';
}

interface Finding {
  readonly rpc: string;
  readonly hex: string;
  readonly out: RawOutcome;
}

async function send(client: grpc.Client, g: Gen, body: Buffer): Promise<Finding> {
  const stream = g.chance(0.5);
  const deadlineMs = 1500;
  const out = stream
    ? await rawStream(client, STREAM_PATH, body, { deadlineMs })
    : await rawUnary(client, PROBE_PATH, body, { deadlineMs });
  return { rpc: stream ? 'ProbeStream' : 'Probe', hex: body.subarray(0, 200).toString('hex'), out };
}

/** Runs `make` up to CASES times (or until the time budget), PARALLEL at once. */
async function campaign(make: () => Promise<Finding | undefined>): Promise<Finding[]> {
  const findings: Finding[] = [];
  const stopAt = Date.now() + TIME_BUDGET_MS;
  for (let done = 0; done < CASES && Date.now() < stopAt; done += PARALLEL) {
    const batch = await Promise.all(Array.from({ length: Math.min(PARALLEL, CASES - done) }, make));
    for (const f of batch) if (f) findings.push(f);
  }
  return findings;
}

function report(t: TestContext, findings: readonly Finding[]): void {
  const byCode = new Map<string, number>();
  for (const f of findings) byCode.set(statusName(f.out.code), (byCode.get(statusName(f.out.code)) ?? 0) + 1);
  t.diagnostic(`FUZZ_SEED=${SEED}: ${findings.length} calls, ${JSON.stringify(Object.fromEntries(byCode))}`);
}

function assertNoServerFault(findings: readonly Finding[], what: string): void {
  const bad = findings.filter((f) => CLIENT_FAULT.has(statusName(f.out.code)));
  assert.deepEqual(
    bad.slice(0, 3).map((f) => ({ rpc: f.rpc, code: statusName(f.out.code), details: f.out.details, hex: f.hex })),
    [],
    `${what}: ${bad.length} answers blamed the server (replay with FUZZ_SEED=${SEED})`,
  );
}

describe(`fuzz the gRPC server (FUZZ_SEED=${SEED})`, () => {
  let server: RunningServer;
  let target: Target;
  let client: grpc.Client;
  let urls: Urls;

  before(async () => {
    target = await startTarget();
    urls = { target: target.url.replace(/\/$/, '') };
    server = await startServer({ listen: '127.0.0.1:0', warmUp: false, logger: { error: () => {} } });
    client = rawClient(server.address);
  });
  after(async () => {
    client.close();
    await server.close(0);
    await target.close();
  });

  it('random field values in well-formed requests: never INTERNAL or UNKNOWN', async (t) => {
    const g = new Gen(prng(SEED));
    const findings = await campaign(() => send(client, g, randomRequest(g, urls)));
    report(t, findings);
    assertNoServerFault(findings, 'random fields');
  });

  it('random bytes: never INTERNAL or UNKNOWN', async (t) => {
    const g = new Gen(prng(SEED + 1));
    const findings = await campaign(async () => {
      const body = g.bytes(g.chance(0.1) ? g.int(4096) : g.int(48));
      return classify(body) === 'leaves-loopback' ? undefined : send(client, g, body);
    });
    report(t, findings);
    assertNoServerFault(findings, 'random bytes');
  });

  it('random bytes that do not decode: INVALID_ARGUMENT', async (t) => {
    const g = new Gen(prng(SEED + 2));
    const findings = await campaign(async () => {
      const body = g.bytes(1 + (g.chance(0.1) ? g.int(4096) : g.int(48)));
      return classify(body) === 'undecodable' ? send(client, g, body) : undefined;
    });
    report(t, findings);
    assertNoServerFault(findings, 'undecodable bytes');
    for (const f of findings) assert.equal(statusName(f.out.code), 'INVALID_ARGUMENT', `FUZZ_SEED=${SEED} ${f.hex}`);
  });

  it('keeps serving afterwards: health SERVING, a good Probe succeeds', async () => {
    const health = await rawUnary(client, HEALTH_CHECK_PATH, Buffer.alloc(0));
    assert.equal(statusName(health.code), 'OK', `FUZZ_SEED=${SEED}`);
    const summary = await new Promise<ReturnType<typeof summaryFromProto>>((resolve, reject) => {
      client.makeUnaryRequest(
        PROBE_PATH,
        (b: Buffer) => b,
        (b: Buffer) => pb.ProbeReply.deserializeBinary(b),
        encodeRequest({ endpoint: `${urls.target}/ok`, repetitions: 3 }),
        { deadline: Date.now() + 10_000 },
        (err, reply) => (err ? reject(err) : resolve(summaryFromProto(reply!.summary))),
      );
    });
    assert.equal(summary.attempts, 3, `FUZZ_SEED=${SEED}`);
    assert.equal(summary.failures, 0, `FUZZ_SEED=${SEED}`);
  });
});
