// Observability wired into the real startServer: metrics on the HTTP port
// after real probes, a log line per RPC, backpressure seen through metrics,
// reflection with buf curl, health SERVING -> NOT_SERVING on close().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { service as healthService } from 'grpc-health-check';
import { startTarget, type Target } from './helpers/target.js';
import { sleep } from './helpers/wait.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { connect, probeOnce, type ProberConnection } from '../src/client/index.js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { msToDuration } from '../src/wire/codec.js';
import { withoutRegion } from './helpers/prometheus.js';

const run = promisify(execFile);
const BUF = new URL('../node_modules/.bin/buf', import.meta.url).pathname;

const lines: Array<Record<string, unknown>> = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    cb();
  },
});

let target: Target;
let srv: RunningServer;
let conn: ProberConnection;

before(async () => {
  target = await startTarget();
  srv = await startServer({
    listen: '127.0.0.1:0',
    observability: { logger: pino({ level: 'info' }, sink), metrics: { listen: '127.0.0.1:0' } },
  });
  conn = connect(srv.address);
});
after(async () => {
  conn.close();
  await srv.close(0);
  await target.close();
});

async function scrape(): Promise<string> {
  assert.ok(srv.metrics, 'metrics port is running');
  const res = await fetch(`${srv.metrics.url}/metrics`);
  assert.equal(res.status, 200);
  return withoutRegion(await res.text());
}

function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

test('real probes of two endpoints: two gauge series, histogram, counters, gRPC metrics, log lines', async () => {
  const a = `${target.url}/ok`;
  const b = `${target.url}/delay/30`;
  const sa = await probeOnce(conn, { endpoint: a, repetitions: 3 });
  const sb = await probeOnce(conn, { endpoint: b, repetitions: 2 });
  assert.equal(sa.successes, 3);
  assert.equal(sb.successes, 2);

  const text = await scrape();
  const ga = sample(text, `prober_latency_seconds{endpoint="${a}"}`);
  const gb = sample(text, `prober_latency_seconds{endpoint="${b}"}`);
  assert.ok(ga !== undefined && ga > 0 && ga < 5, `gauge a = ${ga}`);
  assert.ok(gb !== undefined && gb >= 0.025 && gb < 5, `gauge b = ${gb} (target delays 30 ms)`);
  assert.equal(sample(text, `prober_attempt_duration_seconds_count{endpoint="${a}",result="success"}`), 3);
  assert.equal(sample(text, `prober_attempt_duration_seconds_count{endpoint="${b}",result="success"}`), 2);
  // Nothing of b's (>= 30 ms) fits under 25 ms.
  assert.equal(sample(text, `prober_attempt_duration_seconds_bucket{le="0.025",endpoint="${b}",result="success"}`), 0);
  assert.equal(sample(text, `prober_attempts_total{endpoint="${a}",result="success"}`), 3);
  assert.equal(sample(text, `prober_http_responses_total{endpoint="${b}",code="200"}`), 2);
  assert.equal(sample(text, `prober_attempt_phase_duration_seconds_count{endpoint="${a}",phase="connect"}`), 3);
  const l = 'grpc_service="prober.v1.Prober",grpc_method="Probe",grpc_type="unary"';
  assert.ok((sample(text, `grpc_server_handled_total{${l},grpc_code="OK"}`) ?? 0) >= 2);
  assert.ok(sample(text, 'process_cpu_seconds_total') !== undefined, 'process metrics');

  const logged = lines.filter((x) => x.method === '/prober.v1.Prober/Probe' && x.code === 'OK');
  assert.deepEqual(
    logged.map((x) => [x.endpoint, x.attempts]),
    [
      [a, 3],
      [b, 2],
    ],
  );
  for (const x of logged) {
    assert.match(String(x.peer), /127\.0\.0\.1:\d+/);
    assert.ok(typeof x.duration_ms === 'number' && x.duration_ms > 0);
  }
});

test('invalid request: InvalidArgument counted and logged; no endpoint series', async () => {
  await assert.rejects(probeOnce(conn, { endpoint: 'ftp://x', repetitions: 1 }), /INVALID_ARGUMENT/);
  const text = await scrape();
  assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="Probe"[^}]*grpc_code="InvalidArgument"\} 1/);
  assert.doesNotMatch(text, /endpoint="ftp:/);
  assert.ok(lines.some((x) => x.code === 'InvalidArgument' && String(x.details).includes('endpoint')));
});

test('backpressure through metrics: a stalled reader stops events_sent and records stalls', async () => {
  const slow = new prober.v1.ProberClient(srv.address, grpc.credentials.createInsecure(), {
    'grpc-node.flow_control_window': 4096,
  });
  const call = slow.ProbeStream(
    new prober.v1.ProbeRequest({ endpoint: `${target.url}/ok`, repetitions: 0, interval: msToDuration(0) }),
    {
      deadline: Date.now() + 20_000,
    },
  );
  call.on('error', () => undefined);
  try {
    let read = 0;
    await new Promise<void>((resolve) =>
      call.on('data', () => {
        if (++read === 5) {
          call.pause();
          resolve();
        }
      }),
    );
    // Wait for the counter to stop moving (the window and buffers filled).
    let s1 = -1;
    let s2 = sample(await scrape(), 'prober_stream_events_sent_total') ?? 0;
    const giveUp = Date.now() + 8000;
    while (s1 !== s2 && Date.now() < giveUp) {
      s1 = s2;
      await sleep(300);
      s2 = sample(await scrape(), 'prober_stream_events_sent_total') ?? 0;
    }
    const text = await scrape();
    assert.equal(s2, s1, 'events_sent kept growing while the reader was stalled');
    assert.equal(sample(text, 'prober_streams_open'), 1);
    assert.equal(sample(text, 'prober_streams_blocked'), 1, 'the stalled stream shows as blocked while it is');
    // Sent minus received is bounded by the window and buffers, not by time.
    assert.ok(s2 - read < 2000, `sent ${s2}, read ${read}`);
    await sleep(300);
    // The observer hears of a wait when it ends: resume, then the stall shows.
    call.resume();
    let stalls = 0;
    const until = Date.now() + 5000;
    while (Date.now() < until) {
      stalls = sample(await scrape(), 'prober_stream_backpressure_stalls_total') ?? 0;
      if (stalls >= 1) break;
      await sleep(50);
    }
    assert.ok(stalls >= 1, 'a stall was recorded');
    const waited = sample(await scrape(), 'prober_stream_backpressure_wait_seconds_total') ?? 0;
    // The reader held the stream for well over 0.3 s after the counter stopped.
    assert.ok(waited >= 0.3, `backpressure wait ${waited} s`);
    assert.ok((sample(await scrape(), 'prober_stream_events_sent_total') ?? 0) > s2, 'events flow again after resume');
    let blocked = 1;
    const calm = Date.now() + 5000;
    while (Date.now() < calm) {
      blocked = sample(await scrape(), 'prober_streams_blocked') ?? -1;
      if (blocked === 0) break;
      await sleep(50);
    }
    assert.equal(blocked, 0, 'no longer blocked once the reader keeps up');
  } finally {
    call.cancel();
    slow.close();
  }
  const until = Date.now() + 5000;
  let open = 1;
  while (Date.now() < until) {
    open = sample(await scrape(), 'prober_streams_open') ?? -1;
    if (open === 0) break;
    await sleep(50);
  }
  assert.equal(open, 0, 'stream closed after cancel');
  const text = await scrape();
  assert.match(text, /grpc_server_handled_total\{[^}]*grpc_method="ProbeStream"[^}]*grpc_code="Canceled"\} 1/);
});

test('reflection on the real server: buf curl lists Prober and runs a probe', async () => {
  const base = ['curl', '--protocol', 'grpc', '--http2-prior-knowledge'];
  const list = await run(BUF, [...base, '--list-services', `http://${srv.address}`], { timeout: 30_000 });
  assert.deepEqual(list.stdout.trim().split('\n').sort(), ['grpc.health.v1.Health', 'prober.v1.Prober']);
  const body = JSON.stringify({ endpoint: `${target.url}/ok`, repetitions: 2, timeout: '2s' });
  const res = await run(BUF, [...base, '-d', body, `http://${srv.address}/prober.v1.Prober/Probe`], {
    timeout: 30_000,
  });
  const reply = JSON.parse(res.stdout) as { summary: { attempts: string; successes: string } };
  assert.equal(reply.summary.attempts, '2');
  assert.equal(reply.summary.successes, '2');
});

test('health: SERVING when ready, NOT_SERVING as soon as close() starts draining', async () => {
  const s = await startServer({ listen: '127.0.0.1:0', observability: { metrics: false } });
  const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
  const health = new Health(s.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Watch(req: { service: string }): grpc.ClientReadableStream<{ status: string }>;
  };
  try {
    const watch = health.Watch({ service: 'prober.v1.Prober' });
    watch.on('error', () => undefined);
    const seen: string[] = [];
    let closing: Promise<void> | undefined;
    await new Promise<void>((resolve) =>
      watch.on('data', (m: { status: string }) => {
        seen.push(String(m.status));
        if (m.status === 'SERVING') closing = s.close(2000); // the Watch call keeps the server draining
        if (m.status === 'NOT_SERVING') resolve();
      }),
    );
    assert.deepEqual(seen, ['SERVING', 'NOT_SERVING']);
    watch.cancel();
    await closing;
  } finally {
    health.close();
    await s.close(0);
  }
});
