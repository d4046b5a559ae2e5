// `prober watch` through the CLI's run(): line mode when not on a terminal,
// several servers (one section each), flag validation and exit codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { run } from '../src/cli/run.js';
import type { CliIo } from '../src/cli/io.js';
import { startEmbeddedServer } from '../src/server/server.js';
import { startTarget } from './helpers/target.js';

function io(): { io: CliIo; out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let o = '';
  let e = '';
  stdout.on('data', (c: Buffer) => (o += c.toString()));
  stderr.on('data', (c: Buffer) => (e += c.toString()));
  return { io: { stdout, stderr, env: { NO_COLOR: '1' } }, out: () => o, err: () => e };
}

test('watch without a terminal prints one line per attempt and the summary (embedded server)', async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  const c = io();
  const code = await run(['watch', `${target.url}/ok`, '-n', '4'], c.io);
  assert.equal(code, 0, c.err());
  const lines = c.out().split('\n');
  assert.equal(lines.filter((l) => /^#\d+\s+200\b/.test(l)).length, 4, c.out());
  assert.match(c.out(), /4 of 4 attempts/);
  assert.match(c.out(), /events received\s+4\s+server sent 4/);
  assert.doesNotMatch(c.out() + c.err(), /Raw mode/);
});

test('watch with two servers: labelled lines and one summary per server; failures give exit 1', async (t) => {
  const target = await startTarget();
  const a = await startEmbeddedServer();
  const b = await startEmbeddedServer();
  t.after(async () => {
    await a.close(1000);
    await b.close(1000);
    await target.close();
  });
  const c = io();
  const code = await run(
    ['watch', `${target.url}/status/503`, '-n', '2', '--no-tui', '-s', a.address, '-s', b.address],
    c.io,
  );
  assert.equal(code, 1, 'bad statuses are probe failures');
  const out = c.out();
  for (const addr of [a.address, b.address]) {
    assert.equal(out.split('\n').filter((l) => l.startsWith(`[${addr}] #`)).length, 2, out);
    assert.match(out, new RegExp(`== ${addr.replace(/[.[\]]/g, '\\$&')}`));
  }
  assert.equal((out.match(/2 of 2 attempts/g) ?? []).length, 2);
  assert.equal(target.requests(), 4);
});

test('watch flag errors name the flag and exit 2', async () => {
  for (const [args, flag] of [
    [['--fps', '0'], '--fps'],
    [['--slow-consumer', 'soon'], '--slow-consumer'],
    [['-s', 'nope'], '--server'],
  ] as const) {
    const c = io();
    const code = await run(['watch', 'http://127.0.0.1:1/', ...args], c.io);
    assert.equal(code, 2, `${args.join(' ')}: ${c.err()}`);
    assert.match(c.err(), new RegExp(flag));
  }
});

test('watch: server-side validation error (INVALID_ARGUMENT) names the field, exit 2', async () => {
  const c = io();
  const code = await run(['watch', 'ftp://example.invalid/', '-n', '1', '--no-tui'], c.io);
  assert.equal(code, 2, c.out() + c.err());
  assert.match(c.err(), /invalid argument: .*endpoint/i);
});

test('an invalid request is rejected locally, before any connection: even a dead --server gives the INVALID_ARGUMENT message, exit 2', async () => {
  const { freePort } = await import('./helpers/target.js');
  const dead = `127.0.0.1:${await freePort()}`;
  for (const [cmd, args, re] of [
    [
      'watch',
      ['not a url', '--no-tui'],
      /^prober watch: invalid argument: endpoint must be an absolute http:\/\/ or https:\/\/ URL \(got "not a url"\) \(URL\)$/m,
    ],
    ['stream', ['ftp://example.invalid/'], /^prober stream: invalid argument: endpoint must be .* \(URL\)$/m],
    ['probe', ['http://'], /^prober probe: invalid argument: endpoint .* \(URL\)$/m],
  ] as const) {
    const c = io();
    const code = await run([cmd, ...args, '-s', dead], c.io);
    assert.equal(code, 2, `${cmd}: ${c.err()}`);
    assert.match(c.err(), re);
    assert.doesNotMatch(c.err(), /UNAVAILABLE/);
    assert.equal(c.out(), '');
  }
  // The embedded prober's own limits are known: checked before it starts.
  const c = io();
  assert.equal(await run(['watch', 'http://127.0.0.1:1/', '-n', '20000', '--no-tui'], c.io), 2, c.err());
  assert.match(
    c.err(),
    /^prober watch: invalid argument: repetitions must be between 0 and 10000 .*\(-n\/--repetitions\)$/m,
  );
  assert.equal(c.out(), '');
});

test('demo: watch against a target inside the process (no network); watch flags apply', async () => {
  const c = io();
  const code = await run(['demo', '-n', '30', '--no-tui', '-c', '2'], c.io);
  assert.ok(code === 0 || code === 1, `exit ${code}: ${c.err()}`);
  const out = c.out();
  assert.equal(out.split('\n').filter((l) => /^#\d+\s+(200|503)\b/.test(l)).length, 30, out);
  assert.match(out, /^http:\/\/127\.0\.0\.1:\d+\/api: 30 of 30 attempts/m);
  const bad = io();
  assert.equal(await run(['demo', '--bogus'], bad.io), 2);
  assert.match(bad.err(), /unknown option '--bogus'/);
});

test('watch --no-tui with two named servers (--server NAME=ADDR and --servers FILE): labels are the names', async (t) => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const target = await startTarget();
  const a = await startEmbeddedServer();
  const b = await startEmbeddedServer();
  t.after(async () => {
    await a.close(1000);
    await b.close(1000);
    await target.close();
  });
  const file = join(mkdtempSync(join(tmpdir(), 'prober-watch-')), 'servers.yaml');
  writeFileSync(file, `servers:\n  - name: us\n    address: ${b.address}\n`);
  const c = io();
  const code = await run(
    ['watch', `${target.url}/ok`, '-n', '2', '--no-tui', '-s', `eu=${a.address}`, '--servers', file],
    c.io,
  );
  assert.equal(code, 0, c.err());
  const out = c.out();
  for (const name of ['eu', 'us']) {
    assert.equal(out.split('\n').filter((l) => l.startsWith(`[${name}] #`)).length, 2, out);
    assert.match(out, new RegExp(`^== ${name}$`, 'm'));
  }
  assert.doesNotMatch(out, /127\.0\.0\.1:\d+\] #/);
});
