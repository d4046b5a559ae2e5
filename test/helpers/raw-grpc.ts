// Raw gRPC calls with identity serializers: any bytes to any method path, the
// status back. For tests that send what a typed client would refuse to.
import * as grpc from '@grpc/grpc-js';
import { prober } from '../../src/generated/prober/v1/prober.js';
import { google as gd } from '../../src/generated/google/protobuf/duration.js';
import type { WireDuration, WireRequest } from './bad-inputs.js';

import pb = prober.v1;

const identity = (b: Buffer): Buffer => b;

export const PROBE_PATH = '/prober.v1.Prober/Probe';
export const STREAM_PATH = '/prober.v1.Prober/ProbeStream';
export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';

export interface RawOutcome {
  readonly code: grpc.status;
  readonly details: string;
  /** Messages received (stream events, or the unary reply). */
  readonly messages: number;
}

export function rawClient(address: string): grpc.Client {
  return new grpc.Client(address, grpc.credentials.createInsecure());
}

function meta(authorization?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (authorization !== undefined) m.set('authorization', authorization);
  return m;
}

/** A unary call to `path` with `body` as is. */
export function rawUnary(
  client: grpc.Client,
  path: string,
  body: Buffer,
  opts: { authorization?: string; deadlineMs?: number } = {},
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      path,
      identity,
      identity,
      body,
      meta(opts.authorization),
      { deadline: Date.now() + (opts.deadlineMs ?? 10_000) },
      (err, reply) => {
        if (err) resolve({ code: err.code, details: err.details, messages: 0 });
        else resolve({ code: grpc.status.OK, details: '', messages: reply === undefined ? 0 : 1 });
      },
    );
  });
}

/** A server-streaming call to `path` with `body` as is, read to its end. */
export function rawStream(
  client: grpc.Client,
  path: string,
  body: Buffer,
  opts: { authorization?: string; deadlineMs?: number } = {},
): Promise<RawOutcome> {
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(path, identity, identity, body, meta(opts.authorization), {
      deadline: Date.now() + (opts.deadlineMs ?? 10_000),
    });
    let messages = 0;
    call.on('data', () => messages++);
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details, messages }));
  });
}

function duration(d: WireDuration | undefined): gd.protobuf.Duration | undefined {
  return d === undefined ? undefined : new gd.protobuf.Duration({ seconds: d.seconds, nanos: d.nanos ?? 0 });
}

/** A WireRequest as the bytes a ProbeRequest serializes to. */
export function encodeRequest(r: WireRequest): Buffer {
  const req = new pb.ProbeRequest({
    ...(r.endpoint !== undefined ? { endpoint: r.endpoint } : {}),
    ...(r.repetitions !== undefined ? { repetitions: r.repetitions } : {}),
    ...(r.concurrency !== undefined ? { concurrency: r.concurrency } : {}),
    ...(r.reuse_connections !== undefined ? { reuse_connections: r.reuse_connections } : {}),
    ...(r.method !== undefined ? { method: r.method } : {}),
    expected_status: (r.expected_status ?? []).map((s) => new pb.StatusRange({ min: s.min, max: s.max ?? 0 })),
    headers: (r.headers ?? []).map((h) => new pb.Header(h)),
    expect_body: [...(r.expect_body ?? [])],
    fail_if_body: [...(r.fail_if_body ?? [])],
    expect_header: (r.expect_header ?? []).map((h) => new pb.HeaderMatch(h)),
    fail_if_header: (r.fail_if_header ?? []).map((h) => new pb.HeaderMatch(h)),
    ...(r.follow_redirects !== undefined ? { follow_redirects: r.follow_redirects } : {}),
    ...(r.max_redirects !== undefined ? { max_redirects: r.max_redirects } : {}),
    ip_family: r.ip_family ?? 0,
    resolve: [...(r.resolve ?? [])],
    ...(r.proxy_url !== undefined ? { proxy_url: r.proxy_url } : {}),
    http_version: r.http_version ?? 0,
  });
  if (r.body_size !== undefined) req.body = Buffer.alloc(r.body_size, 0x61);
  const timeout = duration(r.timeout);
  const interval = duration(r.interval);
  if (timeout) req.timeout = timeout;
  if (interval) req.interval = interval;
  return Buffer.from(req.serializeBinary());
}

/** grpc.status number -> name ("INVALID_ARGUMENT"). */
export function statusName(code: number): string {
  return (grpc.status as unknown as Record<number, string>)[code] ?? String(code);
}
