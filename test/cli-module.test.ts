// `--module NAME` on probe and stream: the request names a module of the
// server's --config (ProbeRequest.module) and the server fills the rest.
// Without --server only the built-in modules exist: anything else is refused
// before a prober starts, exit 2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/exit.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

// The target's /echo answers with the request it got: the module's header
// and body must be in it, or its own body check fails the attempt.
const CONFIG = `
modules:
  echo_post:
    prober: http
    http:
      method: POST
      body: from-the-module
      headers:
        X-From-Module: "yes"
      fail_if_body_not_matches_regexp:
        - '"X-From-Module","yes"'
        - from-the-module
  echo_put:
    prober: http
    http:
      method: PUT
      body: from-the-module
      fail_if_body_not_matches_regexp:
        - '"method":"PUT"'
  follows:
    prober: http
    http:
      valid_status_codes: [200]
`;

let dir: string;
let target: Target;
let srv: RunningServer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prober-cli-module-'));
  const file = join(dir, 'config.yml');
  await writeFile(file, CONFIG);
  target = await startTarget();
  srv = await startServer({ listen: '127.0.0.1:0', warmUp: false, configFile: file });
});
after(async () => {
  await srv.close(0);
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

test('probe and stream --server --module: the server applies its configured module', async () => {
  for (const command of ['probe', 'stream']) {
    const io = testIo();
    const code = await run(
      [command, `${target.url}/echo`, '-n', '2', '--server', srv.address, '--module', 'echo_post'],
      io,
    );
    assert.equal(code, EXIT.OK, `${command}: ${io.stderr.text()}${io.stdout.text()}`);
  }
  // The same request without the module fails the body check it would have set: the module did the work.
  const io = testIo();
  const code = await run(
    ['probe', `${target.url}/echo`, '-n', '1', '--server', srv.address, '--expect-body', 'from-the-module'],
    io,
  );
  assert.equal(code, EXIT.PROBE_FAILED, io.stdout.text());
});

test('--module naming no module of the server: exit 2, the message names module and the known ones', async () => {
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--server', srv.address, '--module', 'nope'], io);
  assert.equal(code, EXIT.USAGE);
  assert.match(io.stderr.text(), /module "nope" is not configured on this server \(known: .*echo_post/);
  assert.doesNotMatch(io.stderr.text(), /^\s+at /m);
});

test('without --server: a built-in module works, any other is refused with exit 2 before probing', async () => {
  const ok = testIo();
  assert.equal(await run(['probe', `${target.url}/ok`, '-n', '1', '--module', 'http_head'], ok), EXIT.OK);
  const before = target.requests();
  const io = testIo();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--module', 'echo_post'], io);
  assert.equal(code, EXIT.USAGE);
  assert.match(io.stderr.text(), /module "echo_post" is not built in .*use --server/);
  assert.equal(target.requests(), before, 'nothing was probed');
});

// The CLI checks flags before sending, but a remote server's module is not
// known here: what a module could make valid goes to the server, which
// judges it with the module applied; what is wrong regardless stays a local error.
test('--server --module: --max-redirects without -L goes to the server, which follows with the module', async () => {
  const ok = testIo();
  const argv = ['probe', `${target.url}/redirect/2`, '-n', '1', '--server', srv.address];
  assert.equal(await run([...argv, '--module', 'follows', '--max-redirects', '3'], ok), EXIT.OK, ok.stderr.text());
  // One redirect allowed: the module follows, the request's cap applies.
  const capped = testIo();
  const code = await run([...argv, '--module', 'follows', '--max-redirects', '1', '--json'], capped);
  assert.equal(code, EXIT.PROBE_FAILED, capped.stderr.text());
  assert.match(capped.stdout.text(), /TOO_MANY_REDIRECTS/);
  // A module that does not follow: the server's INVALID_ARGUMENT, exit 2.
  const server = testIo();
  assert.equal(await run([...argv, '--module', 'http_2xx', '--max-redirects', '3'], server), EXIT.USAGE);
  assert.match(server.stderr.text(), /max_redirects is only used with follow_redirects/);
  // Without --module the local check still refuses it before any call.
  const local = testIo();
  const before = target.requests();
  assert.equal(await run([...argv, '--max-redirects', '3'], local), EXIT.USAGE);
  assert.match(local.stderr.text(), /max_redirects is only used with follow_redirects/);
  assert.equal(target.requests(), before);
});

test('--server --module: values wrong whatever the module says are still refused locally, naming the flag', async () => {
  const argv = ['probe', `${target.url}/ok`, '-n', '1', '--module', 'follows'];
  for (const [extra, message] of [
    [['--max-redirects', '21'], /max_redirects must be between 1 and 20 .*\(--max-redirects\)/],
    [
      ['--fail-if-header', 'X: ('],
      /fail_if_header\[0\]\.regex is not a valid regular expression.*\(--fail-if-header\)/,
    ],
    [['-X', 'GET', '-d', 'x'], /body is only sent with/],
  ] as const) {
    // An unreachable server: a local refusal never gets as far as connecting.
    const io = testIo();
    const code = await run([...argv, ...extra, '--server', '127.0.0.1:1'], io);
    assert.equal(code, EXIT.USAGE, `${extra.join(' ')}: ${io.stderr.text()}`);
    assert.match(io.stderr.text(), /invalid argument/);
    assert.match(io.stderr.text(), message);
  }
});

test('without --server: a built-in module is applied to the local check exactly', async () => {
  // http_2xx does not follow redirects, so --max-redirects is refused before probing, as the embedded server would.
  const io = testIo();
  const before = target.requests();
  const code = await run(['probe', `${target.url}/ok`, '-n', '1', '--module', 'http_2xx', '--max-redirects', '3'], io);
  assert.equal(code, EXIT.USAGE);
  assert.match(io.stderr.text(), /max_redirects is only used with follow_redirects/);
  assert.equal(target.requests(), before);
});

test("--module with -d replaces the body only: the module's method stays (no implied POST)", async () => {
  const io = testIo();
  const code = await run(
    ['probe', `${target.url}/echo`, '-n', '1', '--server', srv.address, '--module', 'echo_put', '-d', 'mine', '--json'],
    io,
  );
  assert.equal(code, EXIT.OK, `${io.stderr.text()}${io.stdout.text()}`);
  // -X still wins over the module.
  const io2 = testIo();
  const code2 = await run(
    [
      'probe',
      `${target.url}/echo`,
      '-n',
      '1',
      '--server',
      srv.address,
      '--module',
      'echo_put',
      '-d',
      'x',
      '-X',
      'POST',
    ],
    io2,
  );
  assert.equal(code2, EXIT.PROBE_FAILED, `${io2.stderr.text()}${io2.stdout.text()}`);
});
