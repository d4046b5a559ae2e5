// The field of an INVALID_ARGUMENT travels as a standard google.rpc.BadRequest
// detail in grpc-status-details-bin. Checked against an independent decoder
// (protobufjs, from the official message definitions), so the bytes are the
// official wire format and not just whatever our own decoder reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import protobuf from 'protobufjs';
import { prober } from '../src/generated/prober/v1/prober.js';
import { google as gd } from '../src/generated/google/protobuf/duration.js';
import { ProberService } from '../src/server/service.js';
import { connect, probeOnce, ProberRpcError, type ProberConnection } from '../src/client/index.js';
import {
  BAD_REQUEST_TYPE_URL,
  decodeStatusDetails,
  encodeBadRequestStatus,
  STATUS_DETAILS_KEY,
} from '../src/wire/index.js';

import pb = prober.v1;

// Field numbers as in googleapis google/rpc/status.proto, google/rpc/error_details.proto
// and google/protobuf/any.proto.
const OFFICIAL = protobuf.parse(
  `
  syntax = "proto3";
  package google.rpc;
  message Any { string type_url = 1; bytes value = 2; }
  message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
  message BadRequest {
    message FieldViolation { string field = 1; string description = 2; }
    repeated FieldViolation field_violations = 1;
  }
`,
  { keepCase: true },
).root;
const Status = OFFICIAL.lookupType('google.rpc.Status');
const BadRequest = OFFICIAL.lookupType('google.rpc.BadRequest');

interface OfficialStatus {
  code: number;
  message: string;
  details: Array<{ type_url: string; value: Uint8Array }>;
}
interface OfficialBadRequest {
  field_violations: Array<{ field: string; description: string }>;
}

let server: grpc.Server;
let address: string;
let raw: pb.ProberClient;
let conn: ProberConnection;

before(async () => {
  server = new grpc.Server();
  new ProberService().addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
  raw = new pb.ProberClient(address, grpc.credentials.createInsecure());
  conn = connect(address);
});

after(() => {
  raw.close();
  conn.close();
  server.forceShutdown();
});

function rawProbe(req: pb.ProbeRequest): Promise<grpc.ServiceError> {
  return new Promise((resolve, reject) =>
    raw.Probe(req, (err) => (err ? resolve(err) : reject(new Error('expected an error')))),
  );
}

test('INVALID_ARGUMENT carries a google.rpc.BadRequest any gRPC client can read', async () => {
  const err = await rawProbe(new pb.ProbeRequest({ endpoint: 'http://a.test/', repetitions: 0 }));
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  const bin = err.metadata.get(STATUS_DETAILS_KEY)[0];
  assert.ok(bin instanceof Uint8Array, 'the trailer is present and binary');
  const status = Status.toObject(Status.decode(bin)) as OfficialStatus;
  assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(status.message, err.details);
  assert.equal(status.details.length, 1);
  assert.equal(status.details[0]!.type_url, 'type.googleapis.com/google.rpc.BadRequest');
  const br = BadRequest.toObject(BadRequest.decode(status.details[0]!.value)) as OfficialBadRequest;
  assert.deepEqual(br.field_violations, [{ field: 'repetitions', description: err.details }]);
});

test('a malformed request Duration names its field in the detail too', async () => {
  const req = new pb.ProbeRequest({ endpoint: 'http://a.test/', repetitions: 1 });
  req.timeout = new gd.protobuf.Duration({ seconds: 1, nanos: -5 });
  const err = await rawProbe(req);
  const status = Status.decode(err.metadata.get(STATUS_DETAILS_KEY)[0] as Uint8Array) as unknown as OfficialStatus;
  const br = BadRequest.decode(status.details[0]!.value) as unknown as OfficialBadRequest;
  assert.equal(br.field_violations[0]!.field, 'timeout');
});

test('our encoder and decoder agree with the official definitions both ways', () => {
  const bytes = encodeBadRequestStatus(3, 'bad', [
    { field: 'expected_status', description: 'expected_status[0].min must be ...' },
    { field: 'method', description: 'method must be GET or HEAD' },
  ]);
  const viaOfficial = Status.toObject(Status.decode(bytes)) as OfficialStatus;
  assert.equal(viaOfficial.code, 3);
  assert.equal(viaOfficial.details[0]!.type_url, BAD_REQUEST_TYPE_URL);

  // Official bytes (with an unrelated detail first) read by ours.
  const other = { type_url: 'type.googleapis.com/google.rpc.RetryInfo', value: new Uint8Array([8, 1]) };
  const value = BadRequest.encode(
    BadRequest.fromObject({ field_violations: [{ field: 'endpoint', description: 'd' }] }),
  ).finish();
  const official = Status.encode(
    Status.fromObject({ code: 3, message: 'm', details: [other, { type_url: BAD_REQUEST_TYPE_URL, value }] }),
  ).finish();
  assert.deepEqual(decodeStatusDetails(official), {
    code: 3,
    message: 'm',
    fieldViolations: [{ field: 'endpoint', description: 'd' }],
  });
  assert.equal(decodeStatusDetails(new Uint8Array([0xff, 0xff, 0xff])), undefined, 'garbage is ignored, not thrown');
});

test('ProberRpcError.field comes from the detail; predicates read the numeric code', async () => {
  await assert.rejects(
    probeOnce(conn, { endpoint: 'http://a.test/', repetitions: 1, concurrency: 1e6 }),
    (err: unknown) => {
      assert.ok(err instanceof ProberRpcError);
      assert.equal(err.field, 'concurrency');
      assert.ok(err.isInvalidArgument());
      assert.ok(!err.isDeadlineExceeded() && !err.isCancelled());
      return true;
    },
  );
  // Input that cannot even be encoded names its field without a call.
  await assert.rejects(
    probeOnce(conn, { endpoint: 'http://a.test/', repetitions: 1, intervalMs: Number.NaN }),
    (err: unknown) => {
      assert.ok(err instanceof ProberRpcError);
      assert.equal(err.field, 'interval');
      assert.ok(err.isInvalidArgument());
      return true;
    },
  );
});

test('errors without a detail have no field', () => {
  const e = new ProberRpcError(grpc.status.UNAVAILABLE, 'down');
  assert.equal(e.field, undefined);
  assert.ok(!e.isInvalidArgument());
});

test('a non-Node client (buf curl, Go) reads the BadRequest detail', async () => {
  const buf = new URL('../node_modules/.bin/buf', import.meta.url).pathname;
  const schema = new URL('../protos', import.meta.url).pathname;
  const out = await new Promise<string>((resolve) =>
    execFile(
      buf,
      [
        'curl',
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '--schema',
        schema,
        '-d',
        '{"endpoint":"ftp://x","repetitions":1}',
        `http://${address}/prober.v1.Prober/Probe`,
      ],
      { timeout: 30_000 },
      // buf exits non-zero for a non-OK status and prints the status as JSON.
      (_err, stdout, stderr) => resolve(stdout + stderr),
    ),
  );
  const status = JSON.parse(out.slice(out.indexOf('{'))) as {
    code: string;
    details: Array<{ type: string; value: string }>;
  };
  assert.equal(status.code, 'invalid_argument');
  const detail = status.details.find((d) => d.type === 'google.rpc.BadRequest');
  assert.ok(detail, `no google.rpc.BadRequest in ${out}`);
  const bad = BadRequest.toObject(BadRequest.decode(Buffer.from(detail.value, 'base64'))) as OfficialBadRequest;
  assert.equal(bad.field_violations[0]?.field, 'endpoint');
});
