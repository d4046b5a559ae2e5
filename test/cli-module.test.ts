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
