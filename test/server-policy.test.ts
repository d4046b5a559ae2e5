// The target policy through the real server: PERMISSION_DENIED at call start
// (IP literals, names whose addresses are all denied), /probe 403, and the
// server's own listeners denied without any flag. Loopback only: the denied
// non-loopback literals below are refused before any socket opens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { connect, probeOnce, ProberRpcError } from '../src/client/index.js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { startTarget } from './helpers/target.js';

async function serve(t: { after: (fn: () => Promise<void>) => void }, input: ServerInput = {}): Promise<RunningServer> {
  const running = await startServer({
    listen: '127.0.0.1:0',
    ...input,
    observability: { health: false, reflection: false, metrics: { listen: '127.0.0.1:0', defaultMetrics: false } },
  });
  t.after(() => running.close(0));
  return running;
}

async function rpcError(p: Promise<unknown>): Promise<ProberRpcError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ProberRpcError, `expected a ProberRpcError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

test("a Probe of the server's own loopback /metrics is denied by default (PERMISSION_DENIED naming the rule)", async (t) => {
  const running = await serve(t);
  const conn = connect(running.address);
  t.after(() => conn.close());
  const err = await rpcError(probeOnce(conn, { endpoint: `${running.metrics!.url}/metrics`, repetitions: 1 }));
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.match(err.details, /self: the server's own metrics listener/);
});

test("a Probe of the server's own gRPC port is denied, also through localhost", async (t) => {
  const running = await serve(t);
  const conn = connect(running.address);
  t.after(() => conn.close());
  const err = await rpcError(probeOnce(conn, { endpoint: `http://localhost:${running.port}/`, repetitions: 1 }));
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.match(err.details, /self: the server's own gRPC listener/);
});

test('/probe of its own /metrics is 403 with the rule in the body', async (t) => {
  const running = await serve(t);
  const url = running.metrics!.url;
  const r = await fetch(`${url}/probe?target=${encodeURIComponent(`${url}/metrics`)}`);
  assert.equal(r.status, 403);
  assert.match(await r.text(), /self: the server's own metrics listener/);
});

test('IP literals that are always denied fail at call start, before any socket opens', async (t) => {
  const running = await serve(t);
  const conn = connect(running.address);
  t.after(() => conn.close());
  for (const [endpoint, rule] of [
    ['http://169.254.169.254/latest/meta-data/', /always denied: 169\.254\.0\.0\/16 \(link-local\/metadata\)/],
    ['http://[fd00:ec2::254]/', /always denied: fd00:ec2::254\/128 \(metadata\)/],
    ['http://0.0.0.0:1/', /always denied: 0\.0\.0\.0\/8 \(unspecified\)/],
    ['http://[::]:1/', /always denied: ::\/128 \(unspecified\)/],
    ['http://[::ffff:169.254.169.254]/', /always denied: 169\.254\.0\.0\/16/],
  ] as const) {
    const err = await rpcError(probeOnce(conn, { endpoint, repetitions: 1 }));
    assert.equal(err.code, status.PERMISSION_DENIED, endpoint);
    assert.match(err.details, rule, endpoint);
  }
});

test('--deny-private-targets: localhost (127.0.0.1 and ::1) is denied at call start; /probe says 403', async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  const running = await serve(t, { targetPolicy: { denyPrivate: true } });
  const conn = connect(running.address);
  t.after(() => conn.close());
  const err = await rpcError(probeOnce(conn, { endpoint: `http://localhost:${target.port}/ok`, repetitions: 1 }));
  assert.equal(err.code, status.PERMISSION_DENIED);
  assert.match(err.details, /deny-private-targets: (127\.0\.0\.0\/8|::1\/128)/);
  const r = await fetch(`${running.metrics!.url}/probe?target=${encodeURIComponent(`127.0.0.1:${target.port}/ok`)}`);
  assert.equal(r.status, 403);
  assert.match(await r.text(), /deny-private-targets: 127\.0\.0\.0\/8/);
  assert.equal(target.requests(), 0, 'no request reached the target');
});

test('explicitly allowing a private range lifts --deny-private-targets for it', async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  const running = await serve(t, { targetPolicy: { denyPrivate: true, allow: ['127.0.0.1/32'] } });
  const conn = connect(running.address);
  t.after(() => conn.close());
  const s = await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 1 });
  assert.equal(s.successes, 1);
  // ...but not the server's own listener.
  const err = await rpcError(probeOnce(conn, { endpoint: `${running.metrics!.url}/metrics`, repetitions: 1 }));
  assert.equal(err.code, status.PERMISSION_DENIED);
});

test('an allow list denies everything outside it; a deny list inside it wins when more specific', async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  const running = await serve(t, { targetPolicy: { allow: ['127.0.0.0/8'], deny: ['127.0.0.2'] } });
  const conn = connect(running.address);
  t.after(() => conn.close());
  const outside = await rpcError(probeOnce(conn, { endpoint: 'http://192.0.2.1/', repetitions: 1 }));
  assert.equal(outside.code, status.PERMISSION_DENIED);
  assert.match(outside.details, /allow-target: in no allowed range/);
  const denied = await rpcError(probeOnce(conn, { endpoint: `http://127.0.0.2:${target.port}/`, repetitions: 1 }));
  assert.match(denied.details, /deny-target: 127\.0\.0\.2/);
  const s = await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 1 });
  assert.equal(s.successes, 1);
});

test('a bad CIDR is a ConfigError naming the option', async () => {
  await assert.rejects(
    startServer({ listen: '127.0.0.1:0', targetPolicy: { deny: ['10.0.0.0/33'] } }),
    (err: Error & { option?: string }) => err.name === 'ConfigError' && err.option === 'targetPolicy.deny',
  );
});
