// The server interceptor against a stand-in Prober service (so it is tested
// without the engine): metrics per RPC and one log line per RPC.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { prober } from '../src/generated/prober/v1/prober.js';
import { createMetrics } from '../src/server/metrics.js';
import { createServerInterceptor } from '../src/server/interceptors.js';
import { sleep } from './helpers/wait.js';
import { callRecord } from '../src/server/observer.js';

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  },
});
const logger = pino({ level: 'debug' }, sink);
const registry = new Registry();
const metrics = createMetrics(registry, { defaultMetrics: false });

const summary = (attempts: number): prober.v1.Summary => new prober.v1.Summary({ attempts, successes: attempts });

const server = new grpc.Server({ interceptors: [createServerInterceptor({ metrics: metrics.grpc, logger })] });
server.addService(prober.v1.UnimplementedProberService.definition, {
  // A stand-in for ProberService: it fills the CallRecord as the service does.
  Probe(
    call: grpc.ServerUnaryCall<prober.v1.ProbeRequest, prober.v1.ProbeReply>,
    cb: grpc.sendUnaryData<prober.v1.ProbeReply>,
  ) {
    const record = callRecord(call.metadata);
    record.endpoint = call.request.endpoint;
    if (call.request.endpoint === '') {
      cb({ code: grpc.status.INVALID_ARGUMENT, details: 'endpoint: required' });
      return;
    }
    record.attempts = call.request.repetitions;
    cb(null, new prober.v1.ProbeReply({ summary: summary(call.request.repetitions) }));
  },
  ProbeStream(call: grpc.ServerWritableStream<prober.v1.ProbeRequest, prober.v1.ProbeEvent>) {
    const record = callRecord(call.metadata);
    record.endpoint = call.request.endpoint;
    if (call.request.repetitions === 0) return; // never ends: the client cancels or the deadline hits
    for (let i = 1; i <= call.request.repetitions; i++) {
      call.write(new prober.v1.ProbeEvent({ attempt: new prober.v1.Attempt({ seq: i }) }));
      record.attempts++;
    }
    call.write(new prober.v1.ProbeEvent({ summary: summary(call.request.repetitions) }));
    call.end();
  },
});
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
const client = new prober.v1.ProberClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
after(() => {
  client.close();
  server.forceShutdown();
});

function unary(req: prober.v1.ProbeRequest): Promise<{ err: grpc.ServiceError | null }> {
  return new Promise((resolve) => client.Probe(req, (err) => resolve({ err })));
}

async function metricText(): Promise<string> {
  return registry.metrics();
}

async function waitForLine(pred: (l: Record<string, unknown>) => boolean, ms = 5000): Promise<Record<string, unknown>> {
  const until = Date.now() + ms;
  for (;;) {
    const found = lines.find(pred);
    if (found) return found;
    if (Date.now() > until) throw new Error(`no matching log line in ${JSON.stringify(lines)}`);
    await sleep(10);
  }
}

test('unary OK: started/handled/msg counters and a log line with attempts', async () => {
  const { err } = await unary(new prober.v1.ProbeRequest({ endpoint: 'http://u:pw@a.test/ok', repetitions: 3 }));
  assert.equal(err, null);
  const line = await waitForLine((l) => l.method === '/prober.v1.Prober/Probe' && l.code === 'OK');
  assert.equal(line.attempts, 3);
  assert.equal(line.grpc_code, 0);
  assert.equal(line.endpoint, 'http://a.test/ok', 'credentials are redacted from the log');
  assert.match(String(line.peer), /127\.0\.0\.1:\d+/);
  assert.equal(typeof line.duration_ms, 'number');
  assert.equal(line.msg, 'rpc');
  const text = await metricText();
  const l = 'grpc_service="prober.v1.Prober",grpc_method="Probe",grpc_type="unary"';
  assert.ok(text.includes(`grpc_server_started_total{${l}} 1`), text);
  assert.ok(text.includes(`grpc_server_handled_total{${l},grpc_code="OK"} 1`));
  assert.ok(text.includes(`grpc_server_msg_received_total{${l}} 1`));
  assert.ok(text.includes(`grpc_server_msg_sent_total{${l}} 1`));
  assert.ok(text.includes(`grpc_server_handling_seconds_count{${l}} 1`));
});

test('unary error: grpc_code label and details in the log', async () => {
  const { err } = await unary(new prober.v1.ProbeRequest({ endpoint: '', repetitions: 1 }));
  assert.equal(err?.code, grpc.status.INVALID_ARGUMENT);
  const line = await waitForLine((l) => l.code === 'InvalidArgument');
  assert.equal(line.details, 'endpoint: required');
  assert.equal(line.level, 30, 'a caller error is info, not a server warning');
  assert.match(
    await metricText(),
    /grpc_server_handled_total\{[^}]*grpc_method="Probe"[^}]*grpc_code="InvalidArgument"\} 1/,
  );
});

test('server stream: messages sent counted, attempts from the events', async () => {
  const call = client.ProbeStream(new prober.v1.ProbeRequest({ endpoint: 'http://a.test/s', repetitions: 4 }));
  let events = 0;
  for await (const _ of call) events++;
  assert.equal(events, 5);
  const line = await waitForLine((l) => l.method === '/prober.v1.Prober/ProbeStream' && l.code === 'OK');
  assert.equal(line.attempts, 4);
  assert.equal(line.msgs_sent, 5);
  const l = 'grpc_service="prober.v1.Prober",grpc_method="ProbeStream",grpc_type="server_stream"';
  const text = await metricText();
  assert.ok(text.includes(`grpc_server_msg_sent_total{${l}} 5`), text);
  assert.ok(text.includes(`grpc_server_handled_total{${l},grpc_code="OK"} 1`));
});

test('client cancel is recorded as Canceled, deadline as DeadlineExceeded', async () => {
  const call = client.ProbeStream(new prober.v1.ProbeRequest({ endpoint: 'http://a.test/forever', repetitions: 0 }));
  call.on('error', () => undefined);
  await sleep(100);
  call.cancel();
  const cancelled = await waitForLine((l) => l.code === 'Canceled');
  assert.equal(cancelled.method, '/prober.v1.Prober/ProbeStream');

  const timed = client.ProbeStream(new prober.v1.ProbeRequest({ endpoint: 'http://a.test/forever', repetitions: 0 }), {
    deadline: Date.now() + 200,
  });
  const code = await new Promise<number>((resolve) => timed.on('error', (e: grpc.ServiceError) => resolve(e.code)));
  assert.equal(code, grpc.status.DEADLINE_EXCEEDED);
  await waitForLine((l) => l.code === 'DeadlineExceeded');
  const text = await metricText();
  assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="ProbeStream"[^}]*grpc_code="Canceled"\} 1/);
  assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="ProbeStream"[^}]*grpc_code="DeadlineExceeded"\} 1/);
});
