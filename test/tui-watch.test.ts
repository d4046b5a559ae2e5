// The watch facade without a terminal: line mode, stop requests, and the
// real client against an embedded server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { watch, type WatchReport, type WatchRun } from '../src/tui/index.js';
import { connect, probeStream } from '../src/client/index.js';
import { startTarget } from './helpers/target.js';
import { endlessSource, okAttempt, scriptedSource } from './helpers/tui-synthetic.js';
import { proberFixture } from './helpers/prober.js';
import { until } from './helpers/wait.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString()));
  return { stream, text: () => out };
}

const report: WatchReport = {
  attempt: (a, label) => `${label ?? '-'} #${a.seq} ${a.status ?? a.error?.reason} ${a.latencyMs}`,
  summary: ({ label, outcome: o }: WatchRun) =>
    `SUMMARY ${label} ${o.status} attempts=${o.summary.attempts} received=${o.received} p50=${o.summary.p50Ms}\n`,
};

test('not a TTY: one line per attempt, then the summary (never raw mode)', async () => {
  const out = capture();
  const events = [3, 1, 2].map((ms, i) => ({ kind: 'attempt' as const, attempt: okAttempt(i + 1, ms) }));
  const runs = await watch({
    target: 'http://x/ok',
    sources: [scriptedSource('embedded', events)],
    repetitions: 3,
    stdout: out.stream as unknown as NodeJS.WriteStream,
    report,
  });
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.outcome.status, 'done');
  const lines = out.text().trim().split('\n');
  assert.deepEqual(lines.slice(0, 3), ['- #1 200 3', '- #2 200 1', '- #3 200 2']);
  assert.equal(lines.at(-1), 'SUMMARY embedded done attempts=3 received=3 p50=2');
});

test('several servers: lines are labelled, one summary each', async () => {
  const out = capture();
  const a = [{ kind: 'attempt' as const, attempt: okAttempt(1, 5) }];
  const runs = await watch({
    target: 'http://x/ok',
    sources: [scriptedSource('eu:1', a), scriptedSource('us:2', a)],
    repetitions: 1,
    stdout: out.stream as unknown as NodeJS.WriteStream,
    mode: 'plain',
    report,
  });
  assert.deepEqual(
    runs.map((r) => r.label),
    ['eu:1', 'us:2'],
  );
  const text = out.text();
  assert.match(text, /^eu:1 #1 200 5$/m);
  assert.match(text, /^us:2 #1 200 5$/m);
  assert.match(text, /SUMMARY eu:1 done/);
  assert.match(text, /SUMMARY us:2 done/);
});

test('a stop request (SIGINT via the CLI signal) cancels a continuous watch and prints the summary', async () => {
  const out = capture();
  const ac = new AbortController();
  const src = endlessSource('embedded', 2, () => 1);
  const done = watch({
    target: 'http://x/ok',
    sources: [src],
    repetitions: 0,
    stdout: out.stream as unknown as NodeJS.WriteStream,
    mode: 'plain',
    signal: ac.signal,
    report,
  });
  await until(() => /#5 /.test(out.text()), 10_000, 'the fifth attempt line', 5);
  ac.abort('SIGINT');
  const runs = await done;
  assert.equal(runs[0]!.outcome.status, 'cancelled');
  assert.ok(runs[0]!.outcome.received >= 5);
  assert.match(out.text(), /SUMMARY embedded cancelled attempts=\d+/);
});

test('line mode through the real client and an embedded server', async (t) => {
  const { target, conn } = await proberFixture(t);
  const out = capture();
  const input = { endpoint: `${target.url}/ok`, repetitions: 5, concurrency: 2 };
  const runs = await watch({
    target: input.endpoint,
    sources: [{ label: 'embedded', open: (signal) => probeStream(conn, input, { deadlineMs: 20_000, signal }) }],
    repetitions: 5,
    deadlineMs: 20_000,
    stdout: out.stream as unknown as NodeJS.WriteStream,
    mode: 'plain',
    report,
  });
  const o = runs[0]!.outcome;
  assert.equal(o.status, 'done');
  assert.equal(o.received, 5);
  assert.equal(o.serverSummary?.attempts, 5);
  assert.equal(o.serverSummary?.eventsSent, 5);
  assert.equal(target.requests(), 5);
  assert.equal(
    out
      .text()
      .trim()
      .split('\n')
      .filter((l) => l !== '').length,
    6,
  );
});

test('server unreachable: the outcome is an RPC error, not a crash', async () => {
  const out = capture();
  // A port nothing listens on (the target's, after it closed).
  const t = await startTarget();
  const port = t.port;
  await t.close();
  const conn = connect(`127.0.0.1:${port}`);
  try {
    const input = { endpoint: 'http://127.0.0.1:1/ok', repetitions: 1 };
    const runs = await watch({
      target: input.endpoint,
      sources: [
        { label: `127.0.0.1:${port}`, open: (signal) => probeStream(conn, input, { deadlineMs: 5000, signal }) },
      ],
      repetitions: 1,
      stdout: out.stream as unknown as NodeJS.WriteStream,
      mode: 'plain',
      report,
    });
    const o = runs[0]!.outcome;
    assert.ok(o.status === 'error' || o.status === 'deadline', o.status);
    assert.ok(o.failure !== undefined);
    assert.match(out.text(), /SUMMARY 127\.0\.0\.1:\d+ (error|deadline) attempts=0/);
  } finally {
    conn.close();
  }
});
