// Headers, methods, bodies and response checks: validation, the engine against
// a local /echo target, the gRPC API and the CLI.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeStream } from '../src/client/index.js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { InvalidArgumentError } from '../src/probe/errors.js';
import { runAttempt, USER_AGENT } from '../src/probe/index.js';
import type { AttemptResult, ProbeInput } from '../src/probe/types.js';
import { validateProbeInput } from '../src/probe/validate.js';
import { proberFixture } from './helpers/prober.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

const base = (): ProbeInput => ({ endpoint: `${target.url}/echo`, repetitions: 1 });

async function attempt(extra: Partial<ProbeInput>): Promise<AttemptResult> {
  return runAttempt(validateProbeInput({ ...base(), ...extra }), { seq: 1, timeoutMs: 5000 });
}

function rejects(extra: Record<string, unknown>, field: string, message: RegExp): void {
  assert.throws(
    () => validateProbeInput({ ...base(), ...extra } as ProbeInput),
    (err: unknown) => err instanceof InvalidArgumentError && err.field === field && message.test(err.message),
  );
}

test('default User-Agent carries the package version', () => {
  assert.match(USER_AGENT, /^prober\/\d+\.\d+\.\d+/);
});

test('validation: headers, body, regexes', () => {
  rejects({ headers: [{ name: 'Bad Name', value: 'x' }] }, 'headers', /^headers\[0\]\.name must be a header name/);
  rejects(
    {
      headers: [
        { name: 'A', value: 'ok' },
        { name: 'X', value: 'a\r\nEvil: 1' },
      ],
    },
    'headers',
    /^headers\[1\]\.value must not contain CR, LF, NUL.*\(found U\+000D at index 1\)$/,
  );
  rejects({ headers: [{ name: 'X', value: 'a\u0000' }] }, 'headers', /found U\+0000/);
  rejects({ headers: [{ name: 'Content-Length', value: '3' }] }, 'headers', /Content-Length is set by the prober/);
  const many = Array.from({ length: 65 }, (_, i) => ({ name: `X-${i}`, value: 'v' }));
  rejects({ headers: many }, 'headers', /^headers must have at most 64 entries \(got 65\)$/);
  rejects({ headers: [{ name: 'X', value: 'v'.repeat(16 * 1024) }] }, 'headers', /at most 16384 bytes .*got 16385/);
  rejects(
    { method: 'POST', body: new Uint8Array(1024 * 1024 + 1) },
    'body',
    /^body must be at most 1048576 bytes \(got 1048577\)$/,
  );
  rejects({ body: Buffer.from('x') }, 'body', /only sent with POST, PUT, PATCH, DELETE, OPTIONS \(method is GET\)/);
  rejects({ expectBody: ['('] }, 'expect_body', /^expect_body\[0\] is not a valid regular expression/);
  rejects({ failIfBody: ['a'.repeat(1025)] }, 'fail_if_body', /^fail_if_body\[0\] must be at most 1024 bytes/);
  rejects({ expectHeader: [{ name: 'X', regex: '[' }] }, 'expect_header', /^expect_header\[0\]\.regex is not a valid/);
  rejects({ expectHeader: [{ name: 'a b', regex: 'x' }] }, 'expect_header', /^expect_header\[0\]\.name/);
  rejects(
    { failIfHeader: [{ name: 'X', regex: '(' }] },
    'fail_if_header',
    /^fail_if_header\[0\]\.regex is not a valid/,
  );
  rejects({ failIfHeader: [{ name: 'X', regex: 'x', allowMissing: 'yes' }] }, 'fail_if_header', /allow_missing/);
  rejects(
    { failIfHeader: Array.from({ length: 17 }, () => ({ name: 'X', regex: 'x' })) },
    'fail_if_header',
    /^fail_if_header must have at most 16 entries \(got 17\)$/,
  );
  // A spec crosses to the engine thread: plain data only.
  const spec = validateProbeInput({ ...base(), method: 'PUT', body: Buffer.from('x'), expectBody: ['x'] });
  assert.deepEqual(structuredClone({ ...spec, url: spec.url.href }).expectBody, ['x']);
});

test('engine: headers replace defaults, body with Content-Length, every method', async () => {
  // The engine discards the body: what /echo saw is read through the checks.
  const r = await attempt({
    method: 'POST',
    headers: [
      { name: 'Host', value: 'example.test' },
      { name: 'User-Agent', value: 'mine/1' },
      { name: 'Content-Type', value: 'text/plain' },
      { name: 'X-Empty', value: '' },
    ],
    body: Buffer.from('héllo'),
    expectBody: ['"method":"POST"', '"body":"héllo"', '"Host","example.test"', '"User-Agent","mine/1"'],
    expectHeader: [{ name: 'content-type', regex: '^application/json$' }],
    failIfBody: ['prober/', '"Transfer-Encoding"'],
  });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.status, 200);
  const length = await attempt({ method: 'POST', body: Buffer.from('héllo'), expectBody: ['"Content-Length","6"'] });
  assert.equal(length.error, undefined, length.error?.message);
  const empty = await attempt({ method: 'PUT', expectBody: ['"Content-Length","0"'] });
  assert.equal(empty.error, undefined, empty.error?.message);
  for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const) {
    const m = await attempt({ method, expectHeader: [{ name: 'X-Echo-Method', regex: `^${method}$` }] });
    assert.equal(m.error, undefined, `${method}: ${m.error?.message}`);
  }
});

test('engine: failed checks are BODY_MISMATCH / HEADER_MISMATCH; phases still sum to the total', async () => {
  const body = await attempt({ expectBody: ['no such text'] });
  assert.equal(body.error?.reason, 'BODY_MISMATCH');
  assert.equal(body.error?.message, 'body does not match expect_body /no such text/');
  assert.ok(body.bodyBytes > 0);
  const fail = await attempt({ failIfBody: ['"method":"GET"'] });
  assert.equal(fail.error?.reason, 'BODY_MISMATCH');
  const missing = await attempt({ expectHeader: [{ name: 'X-Nope', regex: '.' }] });
  assert.equal(missing.error?.reason, 'HEADER_MISMATCH');
  assert.match(missing.error?.message ?? '', /header X-Nope is missing/);
  const wrong = await attempt({ expectHeader: [{ name: 'Content-Type', regex: '^text/' }] });
  assert.equal(wrong.error?.message, 'header Content-Type does not match /^text\\//');
  // fail_if_header: a matching value fails; a missing header fails unless allowMissing (blackbox's allow_missing).
  const matches = await attempt({ failIfHeader: [{ name: 'content-type', regex: 'json' }] });
  assert.equal(matches.error?.reason, 'HEADER_MISMATCH');
  assert.equal(matches.error?.message, 'header content-type matches fail_if_header /json/');
  const clean = await attempt({ failIfHeader: [{ name: 'Content-Type', regex: '^text/' }] });
  assert.equal(clean.error, undefined, clean.error?.message);
  const absent = await attempt({ failIfHeader: [{ name: 'X-Nope', regex: '.' }] });
  assert.equal(absent.error?.reason, 'HEADER_MISMATCH');
  assert.match(absent.error?.message ?? '', /header X-Nope is missing/);
  const allowed = await attempt({
    failIfHeader: [{ name: 'X-Nope', regex: '.', allowMissing: true }],
    expectHeader: [{ name: 'X-Nope', regex: '.', allowMissing: true }],
  });
  assert.equal(allowed.error, undefined, allowed.error?.message);
  // allowMissing excuses only absence: a present header must still match.
  const present = await attempt({ expectHeader: [{ name: 'Content-Type', regex: '^text/', allowMissing: true }] });
  assert.equal(present.error?.reason, 'HEADER_MISMATCH');
  // Status is judged first.
  const status = await runAttempt(
    validateProbeInput({ endpoint: `${target.url}/status/503`, repetitions: 1, expectBody: ['x'] }),
    { seq: 1, timeoutMs: 5000 },
  );
  assert.equal(status.error?.reason, 'BAD_STATUS');
  const r = await attempt({ method: 'POST', body: Buffer.alloc(512 * 1024, 0x61), expectBody: ['a{1000}'] });
  assert.equal(r.error, undefined, r.error?.message);
  const p = r.phases;
  const sum = (p.dnsMs ?? 0) + (p.connectMs ?? 0) + (p.tlsMs ?? 0) + (p.ttfbMs ?? 0) + (p.transferMs ?? 0);
  assert.ok(Math.abs(sum - r.latencyMs) < Math.max(2, r.latencyMs * 0.1), `phases ${sum} vs total ${r.latencyMs}`);
});

test('gRPC: every option crosses the wire and the engine thread', async (t) => {
  const { target: tg, conn } = await proberFixture(t);
  const input: ProbeInput = {
    endpoint: `${tg.url}/echo`,
    repetitions: 2,
    method: 'PATCH',
    headers: [{ name: 'X-Token', value: 'abc' }],
    body: Buffer.from('payload'),
    expectBody: ['"X-Token","abc"', '"body":"payload"', '"method":"PATCH"'],
    failIfBody: ['nope'],
    expectHeader: [{ name: 'x-echo-method', regex: 'PATCH' }],
    // allowMissing must survive the wire: without it X-Nope's absence fails the attempt.
    failIfHeader: [
      { name: 'x-echo-method', regex: 'GET' },
      { name: 'X-Nope', regex: 'x', allowMissing: true },
    ],
  };
  const attempts: AttemptResult[] = [];
  for await (const ev of probeStream(conn, input)) if (ev.kind === 'attempt') attempts.push(ev.attempt);
  assert.equal(attempts.length, 2);
  for (const a of attempts) assert.equal(a.error, undefined, a.error?.message);
  const bad: AttemptResult[] = [];
  for await (const ev of probeStream(conn, { ...input, repetitions: 1, expectHeader: [{ name: 'X-A', regex: 'b' }] })) {
    if (ev.kind === 'attempt') bad.push(ev.attempt);
  }
  assert.equal(bad[0]?.error?.reason, 'HEADER_MISMATCH');
});

test('CLI: -H, --user-agent, -d (implies POST), --data-file, checks; failures exit 1', {
  timeout: 60_000,
}, async () => {
  const url = `${target.url}/echo`;
  const ok = async (argv: string[]): Promise<void> => {
    const io = testIo();
    const code = await run(['probe', url, '-n', '1', ...argv], io);
    assert.equal(code, EXIT.OK, `${argv.join(' ')}: ${io.stdout.text()}${io.stderr.text()}`);
  };
  await ok(['-H', 'X-A:  one ', '--expect-body', '"X-A","one"', '--expect-body', `"User-Agent","${USER_AGENT}"`]);
  await ok(['--user-agent', 'ua/2', '--expect-body', '"User-Agent","ua/2"']);
  await ok([
    '-d',
    'a=1',
    '--expect-body',
    '"method":"POST"',
    '--expect-body',
    '"body":"a=1"',
    '--fail-if-body',
    'Content-Type',
  ]);
  await ok(['-X', 'put', '-d', 'x', '--expect-header', 'X-Echo-Method: ^PUT$']);
  await ok(['--fail-if-header', 'X-Echo-Method: ^PUT$', '--fail-if-header', 'Content-Type: ^text/']);
  const file = join(mkdtempSync(join(tmpdir(), 'prober-')), 'body.json');
  writeFileSync(file, '{"k":1}');
  await ok([
    '--data-file',
    file,
    '-H',
    'Content-Type: application/json',
    '--expect-body',
    '"body":"\\{\\\\"k\\\\":1\\}"',
  ]);

  const io = testIo();
  const code = await run(['stream', url, '-n', '1', '--json', '--expect-body', 'absent'], io);
  assert.equal(code, EXIT.PROBE_FAILED);
  assert.match(io.stdout.text(), /BODY_MISMATCH/);
  const hdr = testIo();
  assert.equal(await run(['probe', url, '-n', '1', '--fail-if-header', 'X-Echo-Method: GET'], hdr), EXIT.PROBE_FAILED);
  assert.match(hdr.stdout.text(), /HEADER_MISMATCH/);
});
