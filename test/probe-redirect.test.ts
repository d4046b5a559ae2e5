// Following redirects (-L): per-hop timing, method rules, bounds, loops and
// the target policy on every hop, against local targets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  DEFAULT_LIMITS,
  DEFAULT_TARGET_POLICY,
  runAttempt,
  validateProbeInput,
  type AttemptResult,
  type ProbeInput,
  type TargetPolicy,
} from '../src/probe/index.js';
import { redirectMethod } from '../src/probe/redirect.js';
import { startTarget, type Target } from './helpers/target.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

function run(path: string, extra: Partial<ProbeInput> = {}, policy?: TargetPolicy): Promise<AttemptResult> {
  const spec = validateProbeInput(
    { endpoint: `${target.url}${path}`, repetitions: 1, followRedirects: true, ...extra },
    DEFAULT_LIMITS,
    policy,
  );
  return runAttempt(spec, { seq: 1, timeoutMs: 5000 });
}

function sum(p: object): number {
  return Object.values(p).reduce((s: number, v) => s + (v as number), 0);
}

test('a chain of 3 redirects: every hop timed, the final response at the top, latency over all', async () => {
  const r = await run('/redirect/3');
  assert.equal(r.error, undefined);
  assert.equal(r.status, 200);
  assert.equal(r.hops?.length, 3);
  const base = target.url;
  assert.deepEqual(
    r.hops!.map((h) => [h.url, h.status, h.location]),
    [
      [`${base}/redirect/3`, 302, `${base}/redirect/2`],
      [`${base}/redirect/2`, 302, `${base}/redirect/1`],
      [`${base}/redirect/1`, 302, `${base}/redirect/0`],
    ],
  );
  for (const h of r.hops!) {
    assert.ok(h.phases.connectMs !== undefined && h.phases.ttfbMs !== undefined, 'fresh connection per hop');
    assert.ok(Math.abs(sum(h.phases) - h.latencyMs) < 1, `hop phases ${sum(h.phases)} ~ ${h.latencyMs}`);
    assert.match(h.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);
  }
  const total = r.hops!.reduce((s, h) => s + h.latencyMs, 0) + sum(r.phases);
  assert.ok(Math.abs(total - r.latencyMs) < 2, `hops + final ${total} ~ latency ${r.latencyMs}`);
});

test('not following: the 302 is the response and no hops are reported', async () => {
  const spec = validateProbeInput({ endpoint: `${target.url}/redirect/2`, repetitions: 1 }, DEFAULT_LIMITS);
  const r = await runAttempt(spec, { seq: 1, timeoutMs: 5000 });
  assert.equal(r.status, 302);
  assert.equal(r.hops, undefined);
});

test('more redirects than max_redirects: TOO_MANY_REDIRECTS, the last 3xx at the top', async () => {
  const r = await run('/redirect/5', { maxRedirects: 2 });
  assert.equal(r.error?.reason, 'TOO_MANY_REDIRECTS');
  assert.equal(r.status, 302);
  assert.equal(r.hops?.length, 2);
});

test('a redirect to a URL already requested: REDIRECT_LOOP', async () => {
  const r = await run('/redirect-loop');
  assert.equal(r.error?.reason, 'REDIRECT_LOOP');
  // Its first response already names itself: nothing was followed.
  assert.equal(r.status, 302);
  assert.equal(r.hops, undefined);
  // A longer cycle: a -> b -> a.
  const a = `/redirect-to?url=${encodeURIComponent(`/redirect-to?url=${encodeURIComponent('/redirect-loop')}`)}`;
  const cycle = await run(a);
  assert.equal(cycle.error?.reason, 'REDIRECT_LOOP');
  assert.equal(cycle.hops?.length, 2);
});

test('POST -> GET on 303 (body dropped); 307 keeps POST and the body', async () => {
  const to303 = await run(`/redirect-to?status=303&url=${encodeURIComponent('/echo')}`, {
    method: 'POST',
    body: Buffer.from('hello'),
    headers: [{ name: 'Content-Type', value: 'text/plain' }],
    expectBody: ['"method":"GET"'],
  });
  assert.equal(to303.error, undefined, to303.error?.message);
  const to307 = await run(`/redirect-to?status=307&url=${encodeURIComponent('/echo')}`, {
    method: 'POST',
    body: Buffer.from('hello'),
    expectBody: ['"method":"POST"', '"body":"hello"'],
  });
  assert.equal(to307.error, undefined, to307.error?.message);
  assert.equal(redirectMethod(302, 'POST'), 'GET');
  assert.equal(redirectMethod(301, 'PUT'), 'PUT');
  assert.equal(redirectMethod(303, 'HEAD'), 'HEAD');
  assert.equal(redirectMethod(308, 'POST'), 'POST');
});

test('a cross-host redirect drops Authorization; the same host keeps it', async () => {
  const auth = [{ name: 'Authorization', value: 'Bearer secret' }];
  const same = await run(`/redirect-to?url=${encodeURIComponent('/echo')}`, {
    headers: auth,
    expectBody: ['Bearer secret'],
  });
  assert.equal(same.error, undefined, same.error?.message);
  const other = target.url.replace('127.0.0.1', 'localhost');
  const cross = await run(`/redirect-to?url=${encodeURIComponent(`${other}/echo`)}`, {
    headers: auth,
    failIfBody: ['Bearer secret'],
  });
  assert.equal(cross.error, undefined, cross.error?.message);
});

test('the target policy is checked on every hop: metadata address denied before any socket', async () => {
  const before = target.requests();
  const r = await run(
    `/redirect-to?url=${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}`,
    {},
    DEFAULT_TARGET_POLICY,
  );
  assert.equal(r.error?.reason, 'POLICY_DENIED');
  assert.equal(r.hops?.length, 1);
  assert.equal(r.hops![0]!.location, 'http://169.254.169.254/latest/meta-data/');
  assert.equal(r.remoteAddress, undefined, 'no socket for the denied hop');
  assert.equal(target.requests(), before + 1);
});

test("a hop to the server's own listener (by name) is denied by the resolver", async () => {
  const self = http.createServer((_q, s) => s.end('metrics')).listen(0, '127.0.0.1');
  await new Promise((r) => self.once('listening', r));
  const port = (self.address() as { port: number }).port;
  try {
    const policy: TargetPolicy = {
      ...DEFAULT_TARGET_POLICY,
      self: [{ name: 'metrics listener', port, cidrs: ['127.0.0.0/8', '::1/128'] }],
    };
    const r = await run(`/redirect-to?url=${encodeURIComponent(`http://localhost:${port}/metrics`)}`, {}, policy);
    assert.equal(r.error?.reason, 'POLICY_DENIED', r.error?.message);
    assert.match(r.error!.message, /metrics listener/);
  } finally {
    self.close();
  }
});

test('max_redirects: bounded, whole, and only with follow_redirects', () => {
  const v = (extra: Partial<ProbeInput>) => () =>
    validateProbeInput({ endpoint: 'http://x.test/', repetitions: 1, ...extra }, DEFAULT_LIMITS);
  assert.equal(v({ followRedirects: true })().maxRedirects, 10);
  assert.equal(v({})().maxRedirects, 0);
  for (const bad of [0, 21, 1.5]) {
    assert.throws(v({ followRedirects: true, maxRedirects: bad }), { field: 'max_redirects' });
  }
  assert.throws(v({ maxRedirects: 3 }), { field: 'max_redirects', message: /only used with follow_redirects/ });
});
