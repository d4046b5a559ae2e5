// `prober probe` driven through run(argv, io) against local targets, with
// the embedded server (no --server) unless a test says otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { run } from '../src/cli/run.js';
import { parseDuration, parseStatusRanges } from '../src/cli/options.js';
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

const noStack = (s: string): void => assert.doesNotMatch(s, /^\s+at /m, `stack trace in output:\n${s}`);

test('human output: average first, then the spread, counts and statuses; exit 0', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '3'], io);
  const out = io.stdout.text();
  assert.equal(code, EXIT.OK, io.stderr.text());
  assert.match(out, /3 of 3 attempts/);
  const avg = out.match(/average latency\s+([\d.]+) (ms|s)/);
  assert.ok(avg, out);
  for (const label of ['min', 'p50', 'p90', 'p95', 'p99', 'max', 'stddev'])
    assert.match(out, new RegExp(`\\b${label}\\s+[\\d.]+ m?s`));
  assert.match(out, /successes 3\s+failures 0/);
  assert.match(out, /statuses\s+200: 3/);
  assert.match(out, /deadline reached\s+no/);
  // The unary reply carries phase medians (127.0.0.1: no DNS, no TLS).
  assert.match(out, /phases \(median\)\s+connect [\d.]+ m?s\s+ttfb [\d.]+ m?s\s+transfer [\d.]+ m?s/);
  assert.doesNotMatch(out, /dns|tls/);
  assert.ok(out.indexOf('average latency') < out.indexOf('p50'));
  assert.equal(io.stderr.text(), '');
});

test('--json: one object with stable keys and ms numbers', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '4', '--json'], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const lines = io.stdout.text().trim().split('\n');
  assert.equal(lines.length, 1);
  const s = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(s['attempts'], 4);
  assert.equal(s['successes'], 4);
  assert.equal(s['responses'], 4);
  for (const k of ['averageMs', 'minMs', 'p50Ms', 'p99Ms', 'maxMs', 'stddevMs', 'elapsedMs']) {
    assert.equal(typeof s[k], 'number', k);
  }
  assert.ok((s['minMs'] as number) <= (s['averageMs'] as number));
  assert.ok((s['averageMs'] as number) <= (s['maxMs'] as number));
  assert.deepEqual(s['statuses'], [{ status: 200, count: 4 }]);
  assert.equal(s['deadlineReached'], false);
  const phases = s['phases'] as Record<string, number | null>;
  assert.equal(phases['dnsMs'], null);
  assert.equal(phases['tlsMs'], null);
  assert.ok((phases['ttfbMs'] as number) > 0 && (phases['ttfbMs'] as number) <= (s['maxMs'] as number));
  const hist = s['histogram'] as Array<{ count: number }>;
  assert.equal(hist.reduce((a, b) => a + b.count, 0) + (s['histogramOverflow'] as number), 4);
});

test('failures without a response: latency keys null, exit 1', { timeout: 60_000 }, async () => {
  // A port that was just closed refuses connections.
  const dead = await startTarget();
  await dead.close();
  const io = testIo();
  const code = await run(['probe', `${dead.url}/ok`, '-n', '2', '--json'], io);
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  const s = JSON.parse(io.stdout.text()) as Record<string, unknown>;
  assert.equal(s['failures'], 2);
  assert.equal(s['responses'], 0);
  assert.equal(s['averageMs'], null);
  assert.equal(s['p50Ms'], null);
  assert.deepEqual(s['errors'], [{ reason: 'CONNECT_REFUSED', count: 2 }]);
});

test('bad status is a failure (exit 1); --expect makes it a success (exit 0)', { timeout: 60_000 }, async () => {
  const io = testIo();
  assert.equal(await run(['probe', `${target.url}/status/404`, '-n', '2'], io), EXIT.PROBE_FAILED);
  assert.match(io.stdout.text(), /errors\s+BAD_STATUS: 2/);
  const io2 = testIo();
  assert.equal(await run(['probe', `${target.url}/status/404`, '-n', '2', '--expect', '200-299,404'], io2), EXIT.OK);
  assert.match(io2.stdout.text(), /successes 2/);
});

test('the deadline cutting the run short is exit 1 with deadline reached', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/delay/300`, '-n', '5', '--deadline', '700ms', '--json'], io);
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  const s = JSON.parse(io.stdout.text()) as Record<string, unknown>;
  assert.equal(s['deadlineReached'], true);
  assert.ok((s['attempts'] as number) < 5);
});

test('bad flags: message names the flag on stderr, exit 2, no stack trace', { timeout: 60_000 }, async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--timeout', 'abc'], /--timeout/],
    [['--deadline', '-1s'], /--deadline/],
    [['-n', 'ten'], /--repetitions/],
    [['-n', '0'], /--repetitions/],
    [['--concurrency', '0'], /--concurrency/],
    [['--expect', '200-999'], /--expect/],
    [['--method', 'TRACE'], /--method/],
    [['--server', 'no-port'], /--server/],
    [['--bogus'], /unknown option '--bogus'/],
  ];
  const hitsBefore = target.requests();
  for (const [flags, re] of cases) {
    const io = testIo();
    const code = await run(['probe', `${target.url}/ok`, ...flags], io);
    assert.equal(code, EXIT.USAGE, `${flags.join(' ')}: ${io.stderr.text()}`);
    assert.match(io.stderr.text(), re, flags.join(' '));
    noStack(io.stderr.text());
    assert.equal(io.stdout.text(), '');
  }
  assert.equal(target.requests(), hitsBefore, 'bad flags must not probe');
});

test('--server twice: probe and stream fan out (issue 11), a name given twice is a usage error', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '-s', 'a=127.0.0.1:1', '-s', 'a=127.0.0.1:2'], io);
  assert.equal(code, EXIT.USAGE, io.stderr.text());
  assert.match(io.stderr.text(), /server name "a" given twice/);
  noStack(io.stderr.text());
  assert.equal(io.stdout.text(), '');
  // stream takes the same list: a name given twice is the same usage error.
  const s = testIo();
  const sc = await run(
    ['stream', `${target.url}/ok`, '-n', '1', '--server', 'a=127.0.0.1:1', '-s', 'a=127.0.0.1:2'],
    s,
  );
  assert.equal(sc, EXIT.USAGE, s.stderr.text());
  assert.match(s.stderr.text(), /server name "a" given twice/);
  assert.equal(s.stdout.text(), '');
});

test('the server rejecting the request (INVALID_ARGUMENT) is exit 2 naming the field and flag', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(['probe', 'ftp://example.invalid/', '-n', '1'], io);
  assert.equal(code, EXIT.USAGE);
  assert.match(io.stderr.text(), /endpoint/);
  noStack(io.stderr.text());
  const io2 = testIo();
  assert.equal(await run(['probe', `${target.url}/ok`, '-n', '1', '--timeout', '10h'], io2), EXIT.USAGE);
  assert.match(io2.stderr.text(), /timeout.*--timeout/);
});

test('an unreachable --server is exit 3', { timeout: 60_000 }, async () => {
  const s = new grpc.Server();
  const port = await new Promise<number>((resolve, reject) =>
    s.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  s.forceShutdown();
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--server', `127.0.0.1:${port}`], io);
  assert.equal(code, EXIT.RPC);
  assert.match(io.stderr.text(), /UNAVAILABLE/);
  noStack(io.stderr.text());
});

test('--help on every command exits 0; no command is a usage error', { timeout: 60_000 }, async () => {
  for (const cmd of [[], ['probe'], ['stream'], ['serve'], ['watch']]) {
    const io = testIo();
    assert.equal(await run([...cmd, '--help'], io), EXIT.OK, cmd.join(' '));
    assert.match(io.stdout.text(), /Usage: prober/);
  }
  const io = testIo();
  assert.equal(await run([], io), EXIT.USAGE);
  assert.match(io.stderr.text(), /Usage: prober/);
});

test('option parsers', () => {
  assert.equal(parseDuration('200ms'), 200);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('2m'), 120_000);
  // A bare number is seconds (curl's --max-time); units still work.
  assert.equal(parseDuration('5'), 5000);
  assert.equal(parseDuration('0.25'), 250);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.throws(() => parseDuration('1000'), /a bare number is seconds; write 1000ms or 1s/);
  assert.throws(() => parseDuration('5 parsecs'));
  assert.throws(() => parseDuration(''));
  assert.deepEqual(parseStatusRanges('200-299,404'), [
    { min: 200, max: 299 },
    { min: 404, max: 404 },
  ]);
  assert.deepEqual(parseStatusRanges('2xx'), [{ min: 200, max: 299 }]);
  assert.throws(() => parseStatusRanges('300-200'));
  assert.throws(() => parseStatusRanges('200,'));
});

test('a bare duration is seconds: --timeout 1 lets a 300 ms answer through', { timeout: 60_000 }, async () => {
  const io = testIo();
  const code = await run(
    ['probe', `${target.url}/delay/300`, '-n', '1', '--timeout', '1', '--deadline', '10', '--json'],
    io,
  );
  assert.equal(code, EXIT.OK, io.stderr.text() + io.stdout.text());
  const s = JSON.parse(io.stdout.text()) as { successes: number };
  assert.equal(s.successes, 1);
});

test('a bare number that must mean milliseconds is a usage error saying how to write it', {
  timeout: 60_000,
}, async () => {
  const hitsBefore = target.requests();
  for (const [flag, value, hint] of [
    ['--timeout', '5000', '--timeout 5000: a bare number is seconds; write 5000ms or 5s'],
    ['--interval', '1500', '--interval 1500: a bare number is seconds; write 1500ms or 1.5s'],
    ['--deadline', '30000', '--deadline 30000: a bare number is seconds; write 30000ms or 30s'],
  ] as const) {
    const io = testIo();
    const code = await run(['probe', `${target.url}/ok`, '-n', '1', flag, value], io);
    assert.equal(code, EXIT.USAGE, `${flag} ${value}: ${io.stderr.text()}`);
    assert.ok(io.stderr.text().includes(hint), io.stderr.text());
    noStack(io.stderr.text());
  }
  assert.equal(target.requests(), hitsBefore, 'a usage error must not probe');
});

test('counts and durations too large for the wire are usage errors naming the flag, not INTERNAL', {
  timeout: 60_000,
}, async () => {
  // repetitions/concurrency are uint32 and durations google.protobuf.Duration
  // (at most 315576000000 s): past that the request cannot be serialized.
  for (const args of [
    ['-n', '99999999999'],
    ['-c', '4294967296'],
    ['--timeout', '99999999999999999999h'],
    ['--interval', '99999999999999999999h'],
    ['--deadline', '99999999999999999999h'],
  ]) {
    const io = testIo();
    const code = await run(['probe', `${target.url}/ok`, ...args], io);
    const err = io.stderr.text();
    assert.equal(code, EXIT.USAGE, `${args.join(' ')}: ${err}`);
    assert.match(err, new RegExp(`${args[0]}\\b.*too large`), args.join(' '));
    assert.doesNotMatch(err, /INTERNAL/);
    noStack(err);
  }
});

test("--deadline past setTimeout's range (2^31-1 ms, ~596 h) is a usage error, not an instant cut-off", {
  timeout: 60_000,
}, async () => {
  // grpc-js servers read a longer grpc-timeout modulo 2^32 ms: the call would
  // end at once (or hours early) with partial results.
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--deadline', '597h'], io);
  assert.equal(code, EXIT.USAGE, io.stderr.text() + io.stdout.text());
  assert.match(io.stderr.text(), /--deadline\b.*too large.*596h/);
  const ok = testIo();
  assert.equal(
    await run(['probe', `${target.url}/ok`, '-n', '1', '--deadline', '596h'], ok),
    EXIT.OK,
    ok.stderr.text(),
  );
  assert.match(ok.stdout.text(), /1 of 1 attempts/);
  assert.match(ok.stdout.text(), /deadline reached\s+no/);
});

test('a deadline too short for the server to answer at all is exit 1 and the message names --deadline', {
  timeout: 60_000,
}, async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--deadline', '1ms'], io);
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  assert.match(io.stderr.text(), /DEADLINE_EXCEEDED.*--deadline/);
  noStack(io.stderr.text());
});
