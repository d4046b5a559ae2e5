// `prober stream` and `prober serve` driven through run(argv, io).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { attemptEvent } from '../src/wire/index.js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

interface AttemptLine {
  type: 'attempt';
  seq: number;
  latencyMs: number;
  status: number | null;
  error: { reason: string } | null;
  phases: Record<string, number | null>;
}
interface SummaryLine {
  type: 'summary';
  interrupted: boolean;
  attempts: number;
  responses: number;
  failures: number;
  averageMs: number | null;
  eventsSent: number;
}

function parseNdjson(text: string): Array<AttemptLine | SummaryLine> {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as AttemptLine | SummaryLine);
}

test('--json: NDJSON, one line per attempt then the summary; average is the mean of the attempts', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(['stream', `${target.url}/slow-body?chunks=2&every=5`, '-n', '6', '-c', '2', '--json'], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const lines = parseNdjson(io.stdout.text());
  assert.equal(lines.length, 7);
  const attempts = lines.slice(0, 6) as AttemptLine[];
  const summary = lines[6] as SummaryLine;
  assert.ok(attempts.every((a) => a.type === 'attempt'));
  assert.deepEqual(
    attempts.map((a) => a.seq).sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6],
  );
  assert.ok(attempts.every((a) => a.status === 200 && a.error === null && typeof a.phases['ttfbMs'] === 'number'));
  assert.equal(summary.type, 'summary');
  assert.equal(summary.interrupted, false);
  assert.equal(summary.attempts, 6);
  assert.equal(summary.eventsSent, 6);
  const mean = attempts.reduce((s, a) => s + a.latencyMs, 0) / attempts.length;
  // Durations travel as nanosecond-rounded protobuf Durations.
  assert.ok(Math.abs(summary.averageMs! - mean) < 1e-3, `summary ${summary.averageMs} vs mean ${mean}`);
});

test('human output: one line per attempt as it finishes, then the summary; failures exit 1', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(['stream', `${target.url}/status/503`, '-n', '3'], io);
  assert.equal(code, EXIT.PROBE_FAILED);
  const out = io.stdout.text();
  for (const seq of [1, 2, 3]) assert.match(out, new RegExp(`^#${seq}\\s+503 BAD_STATUS\\s+[\\d.]+ m?s`, 'm'));
  assert.match(out, /average latency/);
  assert.match(out, /failures 3/);
  assert.ok(out.indexOf('#3') < out.indexOf('average latency'));
});

test('-n 0 runs until interrupted, then prints a local summary (exit 0 when nothing failed)', {
  timeout: 60_000,
}, async () => {
  const ac = new AbortController();
  const io = testIo({ signal: ac.signal });
  const done = run(['stream', `${target.url}/delay/10`, '-n', '0', '--json'], io);
  await io.stdout.waitFor(/"seq":3\b/);
  ac.abort();
  const code = await done;
  assert.equal(code, EXIT.OK, io.stderr.text());
  const lines = parseNdjson(io.stdout.text());
  const summary = lines.at(-1) as SummaryLine;
  const attempts = lines.slice(0, -1) as AttemptLine[];
  assert.equal(summary.type, 'summary');
  assert.equal(summary.interrupted, true);
  assert.equal(summary.attempts, attempts.length);
  assert.ok(attempts.length >= 3);
  const mean = attempts.reduce((s, a) => s + a.latencyMs, 0) / attempts.length;
  assert.ok(Math.abs(summary.averageMs! - mean) < 1e-6);
});

test('a continuous stream is polite by default (1 s apart); --interval 0 is back to back', {
  timeout: 60_000,
}, async () => {
  const runFor = async (extra: string[], ms: number): Promise<AttemptLine[]> => {
    const ac = new AbortController();
    const io = testIo({ signal: ac.signal });
    const done = run(['stream', `${target.url}/ok`, '-n', '0', '--json', ...extra], io);
    await new Promise((resolve) => setTimeout(resolve, ms));
    ac.abort();
    assert.equal(await done, EXIT.OK, io.stderr.text());
    return parseNdjson(io.stdout.text()).filter((l): l is AttemptLine => l.type === 'attempt');
  };
  const polite = await runFor([], 2500);
  assert.ok(polite.length >= 2 && polite.length <= 4, `about one a second, got ${polite.length} in 2.5 s`);
  const starts = polite.map((a) => (a as AttemptLine & { startedAt: string }).startedAt).map((t) => Date.parse(t));
  for (let i = 1; i < starts.length; i++)
    assert.ok(starts[i]! - starts[i - 1]! >= 900, `gap ${starts[i]! - starts[i - 1]!} ms`);
  const eager = await runFor(['--interval', '0'], 1000);
  assert.ok(eager.length > 20, `back to back, got ${eager.length} in 1 s`);
});

test('stdout going away (EPIPE) stops a continuous stream instead of probing for nobody', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const done = run(['stream', `${target.url}/delay/10`, '-n', '0'], io);
  await io.stdout.waitFor(/^#3 /m);
  io.stdout.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
  assert.equal(await done, EXIT.OK, io.stderr.text());
  assert.equal(io.stderr.text(), '');
});

test('a server that never sends its summary: DEADLINE_EXCEEDED, local summary of what arrived, exit 1', {
  timeout: 60_000,
}, async () => {
  // A fake prober: two attempts, then silence.
  const fake = new grpc.Server();
  fake.addService(prober.v1.UnimplementedProberService.definition, {
    Probe: () => undefined,
    ProbeStream: (call: grpc.ServerWritableStream<prober.v1.ProbeRequest, prober.v1.ProbeEvent>) => {
      for (const seq of [1, 2]) {
        call.write(
          attemptEvent({
            seq,
            startedAt: Date.now(),
            latencyMs: 10 * seq,
            phases: {},
            status: 200,
            bodyBytes: 0,
            reused: false,
          }),
        );
      }
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    fake.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  try {
    const io = testIo();
    const code = await run(
      ['stream', 'http://x/', '-n', '5', '--deadline', '500ms', '--server', `127.0.0.1:${port}`, '--json'],
      io,
    );
    assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
    assert.match(io.stderr.text(), /deadline exceeded/);
    const lines = parseNdjson(io.stdout.text());
    const summary = lines.at(-1) as SummaryLine & { deadlineReached: boolean };
    assert.equal(summary.type, 'summary');
    assert.equal(summary.attempts, 2);
    assert.equal(summary.averageMs, 15);
    assert.equal(summary.deadlineReached, true);
  } finally {
    fake.forceShutdown();
  }
});

test('serve: listens, answers probes from another run, stops on abort with exit 0', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  const serveIo = testIo({ signal: ac.signal, env: { PROBER_LOG_LEVEL: 'info' } });
  const serving = run(['serve', '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'], serveIo);
  try {
    const [, address] = await serveIo.stdout.waitFor(/listening on (127\.0\.0\.1:\d+)/);
    const [, metricsAddr] = await serveIo.stdout.waitFor(/metrics on http:\/\/(127\.0\.0\.1:\d+)\/metrics/);
    const io = testIo();
    assert.equal(await run(['probe', `${target.url}/ok`, '-n', '2', '--server', address!, '--json'], io), EXIT.OK);
    assert.equal((JSON.parse(io.stdout.text()) as SummaryLine).attempts, 2);
    const metrics = await (await fetch(`http://${metricsAddr}/metrics`)).text();
    assert.match(metrics, /grpc_server_handled_total\{[^}]*grpc_method="Probe"/);
  } finally {
    ac.abort();
  }
  assert.equal(await serving, EXIT.OK, serveIo.stderr.text());
  assert.match(serveIo.stdout.text(), /server stopped/);
});

test('serve: a bad --listen is exit 2 naming the flag', { timeout: 60_000 }, async () => {
  const io = testIo();
  assert.equal(await run(['serve', '--listen', 'localhost'], io), EXIT.USAGE);
  assert.match(io.stderr.text(), /--listen/);
});
