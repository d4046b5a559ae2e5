// --proxy in the engine: CONNECT tunnels for https:// (the proxy phase),
// absolute form for http://, proxy auth, refusals, an unreachable proxy, the
// target policy judging the proxy, redirects and timeouts through it.
// A proxy written in the test (helpers/proxy.ts), local targets only.
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { InvalidArgumentError } from '../src/probe/errors.js';
import { DEFAULT_TARGET_POLICY } from '../src/probe/policy.js';
import { MAX_PROXY_URL_BYTES } from '../src/probe/proxy.js';
import { runProbes } from '../src/probe/schedule.js';
import type { AttemptResult, ProbeInput, ProbeLimits } from '../src/probe/types.js';
import { DEFAULT_LIMITS, validateProbeInput } from '../src/probe/validate.js';
import { createPki, type Pki } from './helpers/certs.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { startTarget, type Target, freePort } from './helpers/target.js';
import { waitFor } from './helpers/wait.js';
import { ok, runInput } from './helpers/engine.js';

const LIMITS: ProbeLimits = { ...DEFAULT_LIMITS, allowProxy: true };

let pkiPromise: Promise<Pki> | undefined;
function pki(): Promise<Pki> {
  pkiPromise ??= createPki();
  return pkiPromise;
}
test.after(async () => (await pkiPromise)?.cleanup());

async function httpsTarget(t: { after(fn: () => unknown): void }): Promise<{ port: number; hits: () => number }> {
  const p = await pki();
  let hits = 0;
  const server = https.createServer({ cert: p.server.cert, key: p.server.key }, (req, res) => {
    hits++;
    if (req.url === '/redirect') res.writeHead(302, { location: '/ok' }).end();
    else res.end('secure ok\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

async function withProxy(t: { after(fn: () => unknown): void }): Promise<TestProxy> {
  const proxy = await startProxy();
  t.after(() => proxy.close());
  return proxy;
}

async function withTarget(t: { after(fn: () => unknown): void }): Promise<Target> {
  const target = await startTarget();
  t.after(() => target.close());
  return target;
}

async function probe(input: Partial<ProbeInput> & { endpoint: string }, repetitions = 1): Promise<AttemptResult[]> {
  return runInput({ repetitions, ...input }, LIMITS);
}

function sum(p: object): number {
  return Object.values(p).reduce((s: number, v) => s + (v as number), 0);
}

test('https:// through the proxy: CONNECT, then TLS to the target; the proxy phase is timed', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  const p = await pki();
  // By name: the proxy resolves "localhost", the certificate is checked against it.
  const a = ok(
    (await probe({ endpoint: `https://localhost:${target.port}/x`, tlsCaPem: p.ca.cert, proxyUrl: proxy.url }))[0],
  );
  assert.equal(a.status, 200);
  assert.equal(a.proxied, true);
  assert.deepEqual(proxy.connects, [`localhost:${target.port}`]);
  assert.equal(target.hits(), 1);
  // The connection opened is the proxy's; its host is an IP literal, so no dns phase.
  assert.equal(a.remoteAddress, `127.0.0.1:${proxy.port}`);
  assert.deepEqual(Object.keys(a.phases), ['connectMs', 'proxyMs', 'tlsMs', 'ttfbMs', 'transferMs']);
  assert.ok(Math.abs(sum(a.phases) - a.latencyMs) < 1, `phases ${sum(a.phases)} ~ latency ${a.latencyMs}`);
  assert.equal(a.tls?.version !== undefined, true);
});

test('--sni names the target for TLS through the tunnel', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  const p = await pki();
  const a = ok(
    (
      await probe({
        endpoint: `https://127.0.0.1:${target.port}/`,
        tlsCaPem: p.ca.cert,
        tlsServerName: 'localhost',
        proxyUrl: proxy.url,
      })
    )[0],
  );
  assert.equal(a.status, 200);
  assert.deepEqual(proxy.connects, [`127.0.0.1:${target.port}`]);
});

test('http:// through the proxy: absolute form (as curl), no tunnel, no proxy phase', async (t) => {
  const proxy = await withProxy(t);
  const target = await withTarget(t);
  const a = ok((await probe({ endpoint: `${target.url}/ok?q=1`, proxyUrl: proxy.url }))[0]);
  assert.equal(a.status, 200);
  assert.equal(a.proxied, true);
  assert.deepEqual(proxy.requests, [`${target.url}/ok?q=1`]);
  assert.deepEqual(proxy.connects, []);
  assert.equal(a.phases.proxyMs, undefined);
  assert.equal(a.remoteAddress, `127.0.0.1:${proxy.port}`);
});

test('userinfo becomes Proxy-Authorization: Basic, and appears nowhere in the result', async (t) => {
  const proxy = await withProxy(t);
  const target = await withTarget(t);
  const tls = await httpsTarget(t);
  const p = await pki();
  const proxyUrl = `http://prober%40x:s3cr%3At@127.0.0.1:${proxy.port}`;
  const expected = `Basic ${Buffer.from('prober@x:s3cr:t').toString('base64')}`;
  const results = [
    ...(await probe({ endpoint: `${target.url}/ok`, proxyUrl })),
    ...(await probe({ endpoint: `https://localhost:${tls.port}/`, tlsCaPem: p.ca.cert, proxyUrl })),
  ];
  for (const r of results) ok(r);
  assert.deepEqual(proxy.authorizations, [expected, expected]);
  const text = JSON.stringify(results);
  for (const secret of ['s3cr', 'prober%40x', expected.slice(6)]) assert.ok(!text.includes(secret), secret);
});

test('a proxy that refuses CONNECT is PROXY_REFUSED with its status; 5xx is temporary, 407 is not', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  const p = await pki();
  const endpoint = `https://localhost:${target.port}/`;
  for (const [status, temporary] of [
    [403, false],
    [407, false],
    [502, true],
  ] as const) {
    proxy.refuse = status;
    const a = (await probe({ endpoint, tlsCaPem: p.ca.cert, proxyUrl: proxy.url }))[0];
    assert.equal(a?.error?.reason, 'PROXY_REFUSED', a?.error?.message);
    assert.match(
      a.error.message,
      new RegExp(`proxy http://127\\.0\\.0\\.1:${proxy.port} refused CONNECT: HTTP/1\\.1 ${status}`),
    );
    assert.equal(a.error.temporary, temporary);
    assert.equal(a.status, undefined);
    assert.ok(a.phases.proxyMs !== undefined, 'the reply still ends the proxy phase');
  }
  assert.equal(target.hits(), 0);
});

test('an unreachable proxy is the usual connect failure, and the message says it was the proxy', async (t) => {
  const port = await freePort();
  const target = await withTarget(t);
  for (const endpoint of [`${target.url}/ok`, 'https://localhost:1/']) {
    const a = (await probe({ endpoint, proxyUrl: `http://127.0.0.1:${port}` }))[0];
    assert.equal(a?.error?.reason, 'CONNECT_REFUSED', a?.error?.message);
    assert.match(a.error.message, new RegExp(`^proxy http://127\\.0\\.0\\.1:${port}: connection refused`));
    assert.equal(a.proxied, true);
  }
});

test('the target policy judges the proxy address (the connection opened), not the endpoint', async (t) => {
  const proxy = await withProxy(t);
  const target = await withTarget(t);
  const deny = (cidr: string) => ({ ...DEFAULT_TARGET_POLICY, deny: [cidr] });
  const run = async (policy: ReturnType<typeof deny>, proxyUrl: string) => {
    const spec = validateProbeInput({ endpoint: `${target.url}/ok`, repetitions: 1, proxyUrl }, LIMITS, policy);
    for await (const a of runProbes(spec)) return a;
    throw new Error('no attempt');
  };
  // The proxy by IP literal and by name (resolved, then judged).
  for (const proxyUrl of [proxy.url, `http://localhost:${proxy.port}`]) {
    const a = await run(deny('127.0.0.0/8'), proxyUrl);
    assert.equal(a.error?.reason, 'POLICY_DENIED', a.error?.message);
    assert.match(a.error?.message ?? '', /^proxy http:\/\/(127\.0\.0\.1|localhost):\d+: .*denied/);
  }
  assert.deepEqual(proxy.requests, []);
  // Denying an address the proxy is not on lets the probe through, whatever the endpoint.
  ok(await run(deny('10.0.0.0/8'), proxy.url));
});

test('-L: every hop goes through the proxy', async (t) => {
  const proxy = await withProxy(t);
  const target = await withTarget(t);
  const a = ok((await probe({ endpoint: `${target.url}/redirect/2`, followRedirects: true, proxyUrl: proxy.url }))[0]);
  assert.equal(a.status, 200);
  assert.equal(a.hops?.length, 2);
  assert.deepEqual(proxy.requests, [
    `${target.url}/redirect/2`,
    `${target.url}/redirect/1`,
    `${target.url}/redirect/0`,
  ]);
});

test('-L on https://: each hop opens its own tunnel, and its phases (proxy included) sum to its latency', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  const p = await pki();
  const endpoint = `https://localhost:${target.port}/redirect`;
  const a = ok((await probe({ endpoint, followRedirects: true, tlsCaPem: p.ca.cert, proxyUrl: proxy.url }))[0]);
  assert.equal(a.status, 200);
  assert.equal(a.hops?.length, 1);
  const hop = a.hops![0]!;
  assert.equal(hop.status, 302);
  assert.equal(typeof hop.phases.proxyMs, 'number');
  assert.ok(Math.abs(sum(hop.phases) - hop.latencyMs) < 1, `hop phases ${sum(hop.phases)} ~ ${hop.latencyMs}`);
  assert.equal(typeof a.phases.proxyMs, 'number');
  assert.deepEqual(proxy.connects, [`localhost:${target.port}`, `localhost:${target.port}`]);
});

test('a timeout while the proxy connects upstream: TIMEOUT naming the CONNECT reply; the tunnel is closed', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  proxy.delayMs = 30_000;
  const a = (await probe({ endpoint: `https://localhost:${target.port}/`, proxyUrl: proxy.url, timeoutMs: 300 }))[0];
  assert.equal(a?.error?.reason, 'TIMEOUT', a?.error?.message);
  assert.match(a.error.message, /waiting for the proxy's CONNECT reply/);
  assert.ok(a.phases.connectMs !== undefined);
  assert.equal(a.phases.proxyMs, undefined);
  assert.ok(await waitFor(() => proxy.connections().open === 0, 5000), 'the connection to the proxy was closed');
});

test('--reuse: kept-alive attempts share one tunnel; fresh mode opens one per attempt', async (t) => {
  const proxy = await withProxy(t);
  const target = await httpsTarget(t);
  const p = await pki();
  const endpoint = `https://localhost:${target.port}/`;
  const reused = await probe({ endpoint, tlsCaPem: p.ca.cert, proxyUrl: proxy.url, reuseConnections: true }, 3);
  for (const a of reused) ok(a);
  assert.equal(proxy.connects.length, 1);
  assert.deepEqual(
    reused.map((a) => a.reused),
    [false, true, true],
  );
  assert.equal(reused[1]?.phases.proxyMs, undefined);
  const fresh = await probe({ endpoint, tlsCaPem: p.ca.cert, proxyUrl: proxy.url }, 3);
  for (const a of fresh) {
    ok(a);
    assert.equal(a.tls?.sessionResumed, false);
  }
  assert.equal(proxy.connects.length, 4);
});

test('proxy_url validation: scheme, host, port, path, size, permission; messages never show credentials', () => {
  const bad = (proxyUrl: string, why: RegExp, limits = LIMITS) => {
    assert.throws(
      () => validateProbeInput({ endpoint: 'https://example.test/', repetitions: 1, proxyUrl }, limits),
      (err: unknown) => {
        assert.ok(err instanceof InvalidArgumentError);
        assert.equal(err.field, 'proxy_url');
        assert.match(err.message, why);
        assert.ok(!err.message.includes('hunter2'), err.message);
        return true;
      },
    );
  };
  bad('https://u:hunter2@proxy.test:3128', /http:\/\/ scheme/);
  bad('socks5://proxy.test:1080', /http:\/\/ scheme/);
  bad('http://u:hunter2@:3128', /proxy URL|name a host/);
  bad('http://proxy.test:0', /port/);
  bad('http://proxy.test:99999', /proxy URL/);
  bad('http://u:hunter2@proxy.test:3128/path', /no path/);
  bad(`http://${'a'.repeat(MAX_PROXY_URL_BYTES)}.test`, /at most 2048 bytes/);
  bad('http://proxy.test:3128\n', /control characters/);
  bad('http://u:hunter2@proxy.test:3128', /not allowed on this server.*--allow-proxies/, DEFAULT_LIMITS);
  const spec = (proxyUrl: string) =>
    validateProbeInput({ endpoint: 'https://example.test/', repetitions: 1, proxyUrl }, LIMITS).proxy;
  assert.deepEqual(spec('proxy.test'), { host: 'proxy.test', port: 1080, display: 'http://proxy.test:1080' });
  assert.deepEqual(spec('http://[::1]:3128/'), { host: '::1', port: 3128, display: 'http://[::1]:3128' });
  assert.equal(spec('http://a:b@p.test:8080')?.authorization, `Basic ${Buffer.from('a:b').toString('base64')}`);
  assert.equal(spec(''), undefined);
});

test("-4/-6 with a proxy apply to the proxy: its IP literal is checked, not the endpoint's", () => {
  const input = (ipFamily: number, proxyUrl: string) => ({
    endpoint: 'https://192.0.2.1/',
    repetitions: 1,
    ipFamily,
    proxyUrl,
  });
  assert.equal(validateProbeInput(input(6, 'http://[::1]:3128'), LIMITS).ipFamily, 6);
  assert.throws(
    () => validateProbeInput(input(6, 'http://127.0.0.1:3128'), LIMITS),
    (err: unknown) =>
      err instanceof InvalidArgumentError &&
      err.field === 'ip_family' &&
      /ip_family is 6 but the proxy's host is an IPv4 address/.test(err.message),
  );
  // Two bad fields: ip_family comes first in proto order.
  assert.throws(
    () => validateProbeInput(input(5, 'socks5://p:1'), LIMITS),
    (err: unknown) => err instanceof InvalidArgumentError && err.field === 'ip_family',
  );
});
