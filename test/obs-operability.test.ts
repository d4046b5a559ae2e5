// Health checking and server reflection (checked with buf curl, a real
// reflection client) on a server hosting a stand-in Prober service.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { prober } from '../src/generated/prober/v1/prober.js';
import { HEALTH_SERVICE, Operability, PROBER_SERVICE } from '../src/server/operability.js';

const run = promisify(execFile);
const BUF = new URL('../node_modules/.bin/buf', import.meta.url).pathname;

const server = new grpc.Server();
server.addService(prober.v1.UnimplementedProberService.definition, {
  Probe(
    call: grpc.ServerUnaryCall<prober.v1.ProbeRequest, prober.v1.ProbeReply>,
    cb: grpc.sendUnaryData<prober.v1.ProbeReply>,
  ) {
    const n = call.request.repetitions;
    cb(null, new prober.v1.ProbeReply({ summary: new prober.v1.Summary({ attempts: n, successes: n }) }));
  },
  ProbeStream(call: grpc.ServerWritableStream<prober.v1.ProbeRequest, prober.v1.ProbeEvent>) {
    call.end();
  },
});
const ops = new Operability();
ops.addToServer(server);
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
const address = `127.0.0.1:${port}`;
const HealthClient = grpc.makeGenericClientConstructor(healthService, 'Health');
const health = new HealthClient(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
  Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
};
after(() => {
  health.close();
  server.forceShutdown();
});

function check(service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    health.Check({ service }, (err, res) => (err ? reject(err) : resolve(String(res?.status)))),
  );
}

test('health: NOT_SERVING before ready, SERVING when ready, NOT_SERVING while draining', async () => {
  assert.equal(await check(''), 'NOT_SERVING');
  ops.setServing();
  assert.equal(await check(''), 'SERVING');
  assert.equal(await check(PROBER_SERVICE), 'SERVING');

  const watch = health.Watch({ service: PROBER_SERVICE });
  const seen: string[] = [];
  const drained = new Promise<void>((resolve) =>
    watch.on('data', (m: { status: string }) => {
      seen.push(String(m.status));
      if (seen.length === 1) ops.setNotServing();
      if (m.status === 'NOT_SERVING') resolve();
    }),
  );
  watch.on('error', () => undefined);
  await drained;
  watch.cancel();
  assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
  assert.equal(await check(''), 'NOT_SERVING');
  await assert.rejects(check('no.such.Service'), (e: grpc.ServiceError) => e.code === grpc.status.NOT_FOUND);
  ops.setServing();
});

test('reflection: buf curl lists the service and calls Probe without local protos', async () => {
  const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
  const list = await run(BUF, [...base, '--list-methods', `http://${address}`], { timeout: 30_000 });
  const methods = list.stdout.trim().split('\n').sort();
  assert.deepEqual(methods, [
    'grpc.health.v1.Health/Check',
    'grpc.health.v1.Health/List',
    'grpc.health.v1.Health/Watch',
    'prober.v1.Prober/Probe',
    'prober.v1.Prober/ProbeStream',
  ]);

  const call = await run(
    BUF,
    [...base, '-d', '{"endpoint":"http://127.0.0.1:1/ok","repetitions":3}', `http://${address}/prober.v1.Prober/Probe`],
    { timeout: 30_000 },
  );
  const reply = JSON.parse(call.stdout) as { summary: { attempts: string; successes: string } };
  // uint64 is a JSON string in proto3 JSON.
  assert.equal(reply.summary.attempts, '3');
  assert.equal(reply.summary.successes, '3');
});

test('reflection: lists Prober and Health; a request type resolves its imports (Duration)', async () => {
  const res = await run(
    BUF,
    ['curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-services', `http://${address}`],
    { timeout: 30_000 },
  );
  assert.deepEqual(res.stdout.trim().split('\n').sort(), [HEALTH_SERVICE, PROBER_SERVICE]);
  // A field of an imported type (google.protobuf.Duration) must encode: buf
  // needs duration.proto through reflection for this.
  const call = await run(
    BUF,
    [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '-d',
      '{"endpoint":"http://127.0.0.1:1/ok","repetitions":2,"timeout":"1.5s"}',
      `http://${address}/prober.v1.Prober/Probe`,
    ],
    { timeout: 30_000 },
  );
  assert.equal((JSON.parse(call.stdout) as { summary: { attempts: string } }).summary.attempts, '2');
});

test('reflection: the health service is callable by name, as grpcurl/buf users expect', async () => {
  ops.setServing();
  const res = await run(
    BUF,
    [
      'curl',
      '--protocol',
      'grpc',
      '--http2-prior-knowledge',
      '-d',
      '{"service":""}',
      `http://${address}/grpc.health.v1.Health/Check`,
    ],
    { timeout: 30_000 },
  );
  assert.deepEqual(JSON.parse(res.stdout), { status: 'SERVING' });
});
