// HTTP/2 in the engine (src/probe/h2.ts): h2 via ALPN with fallback to 1.1,
// prior knowledge (h2c, and h2 over TLS with no fallback), multiplexing with
// reuse, redirects, phases, the target policy, timeouts. Loopback targets
// with a throwaway CA (test/helpers/certs.ts).
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Server } from 'node:net';
import { test } from 'node:test';
import { DEFAULT_TARGET_POLICY } from '../src/probe/policy.js';
import { runProbes } from '../src/probe/schedule.js';
import type { AttemptResult, ProbeInput } from '../src/probe/types.js';
import { classifyH2Error, InvalidArgumentError, noH2Error } from '../src/probe/errors.js';
import { validateProbeInput } from '../src/probe/validate.js';
import { createPki, type Pki } from './helpers/certs.js';
import { ok, runInput } from './helpers/engine.js';

type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** '/': 200 "ok"; '/hop': 302 to '/'; '/loop': 302 to itself; '/stall': never answers; '/rst': resets the stream. */
const handler: Handler = (req, res) => {
  if (req.url === '/hop') {
    res.writeHead(302, { location: '/' });
    res.end();
  } else if (req.url === '/loop') {
    res.writeHead(302, { location: '/loop' });
    res.end();
  } else if (req.url === '/stall') {
    // Never answers: the attempt's timeout must end it.
  } else if (req.url === '/rst' && 'stream' in req) {
    req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
  } else {
    res.writeHead(200, { 'content-type': 'text/plain', 'x-proto': String(req.httpVersion) });
    res.end('ok');
  }
};

interface Target {
  readonly url: string;
  /** TCP connections accepted so far. */
  connections(): number;
}

async function serve(
  t: { after(fn: () => unknown): void },
  server: Server,
  scheme: string,
  host = '127.0.0.1',
): Promise<Target> {
  let connections = 0;
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s: import('node:net').Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(() => resolve(undefined)));
  });
  const { port } = server.address() as AddressInfo;
  const h = host.includes(':') ? `[${host}]` : host;
  return { url: `${scheme}://${h}:${port}`, connections: () => connections };
}

let pkiPromise: Promise<Pki> | undefined;
function pki(): Promise<Pki> {
  pkiPromise ??= createPki();
  return pkiPromise;
}
test.after(async () => (await pkiPromise)?.cleanup());

async function h2Tls(t: { after(fn: () => unknown): void }, host?: string): Promise<Target> {
  const p = await pki();
  const server = http2.createSecureServer({ cert: p.server.cert, key: p.server.key, allowHTTP1: true }, handler);
  return serve(t, server as unknown as Server, 'https', host);
}

async function tls11(t: { after(fn: () => unknown): void }): Promise<Target> {
  const p = await pki();
  return serve(t, https.createServer({ cert: p.server.cert, key: p.server.key }, handler as never), 'https');
}

function h2c(t: { after(fn: () => unknown): void }): Promise<Target> {
  return serve(t, http2.createServer(handler) as unknown as Server, 'http');
}

async function probe(endpoint: string, extra: Partial<ProbeInput> = {}, repetitions = 1): Promise<AttemptResult[]> {
  return runInput({ endpoint, repetitions, tlsCaPem: (await pki()).ca.cert, ...extra });
}

/** The phases that happened add up to the latency (within 1 ms of float and clock slack). */
function assertPhasesSum(a: AttemptResult): void {
  const sum = Object.values(a.phases).reduce((s, v) => s + (v ?? 0), 0);
  assert.ok(Math.abs(sum - a.latencyMs) < 1, `phases ${JSON.stringify(a.phases)} sum ${sum} vs latency ${a.latencyMs}`);
}

test('--http2 over TLS: h2 via ALPN, version "2", TLS facts with ALPN h2, phases sum to the latency', async (t) => {
  const target = await h2Tls(t);
  const a = ok((await probe(`${target.url}/`, { httpVersion: '2' }))[0]);
  assert.equal(a.status, 200);
  assert.equal(a.httpVersion, '2');
  assert.equal(a.bodyBytes, 2);
  assert.equal(a.tls?.alpnProtocol, 'h2');
  assert.match(a.tls?.version ?? '', /^TLSv1\.[23]$/);
  assert.equal(a.tls?.sessionResumed, false);
  assert.ok(a.tls?.earliestCertExpiry);
  assert.equal(a.reused, false);
  assert.equal(a.ipFamily, 4);
  assert.match(a.remoteAddress ?? '', /^127\.0\.0\.1:\d+$/);
  for (const phase of ['dnsMs', 'connectMs', 'tlsMs', 'ttfbMs', 'transferMs'] as const) {
    if (phase === 'dnsMs') continue; // an IP literal is not looked up
    assert.ok(a.phases[phase] !== undefined, `${phase} missing: ${JSON.stringify(a.phases)}`);
  }
  assertPhasesSum(a);
});

test('--http2 to a server without h2 falls back to HTTP/1.1 on the same connection', async (t) => {
  const target = await tls11(t);
  const a = ok((await probe(`${target.url}/`, { httpVersion: '2' }))[0]);
  assert.equal(a.httpVersion, '1.1');
  assert.equal(a.status, 200);
  assert.ok(a.phases.tlsMs !== undefined && a.phases.connectMs !== undefined);
  assertPhasesSum(a);
  assert.equal(target.connections(), 1);
});

test('--http2 with --reuse against an HTTP/1.1-only server: every attempt succeeds over 1.1', async (t) => {
  const target = await tls11(t);
  const as = await probe(`${target.url}/`, { httpVersion: '2', reuseConnections: true }, 4);
  for (const a of as) assert.equal(ok(a).httpVersion, '1.1');
});

test('--http2 on an http:// URL is HTTP/1.1 (no Upgrade)', async (t) => {
  const server = http.createServer(handler as never);
  const target = await serve(t, server, 'http');
  const a = ok((await probe(`${target.url}/`, { httpVersion: '2' }))[0]);
  assert.equal(a.httpVersion, '1.1');
});

test('--http2-prior-knowledge: h2c to a cleartext HTTP/2 server', async (t) => {
  const target = await h2c(t);
  const a = ok((await probe(`${target.url}/`, { httpVersion: '2-prior-knowledge' }))[0]);
  assert.equal(a.httpVersion, '2');
  assert.equal(a.tls, undefined);
  assert.equal(a.phases.tlsMs, undefined);
  assertPhasesSum(a);
});

test('--http2-prior-knowledge over TLS to an HTTP/1.1-only server fails with PROTOCOL, no silent 1.1', async (t) => {
  const target = await tls11(t);
  const a = (await probe(`${target.url}/`, { httpVersion: '2-prior-knowledge' }))[0];
  assert.equal(a?.error?.reason, 'PROTOCOL', a?.error?.message);
  assert.match(a?.error?.message ?? '', /HTTP\/2/);
  assert.equal(a?.httpVersion, undefined);
});

test('--http2-prior-knowledge (h2c) to an HTTP/1.1 server fails with a typed reason', async (t) => {
  const target = await serve(t, http.createServer(handler as never), 'http');
  const a = (await probe(`${target.url}/`, { httpVersion: '2-prior-knowledge', timeoutMs: 3000 }))[0];
  assert.ok(a?.error, 'must fail');
  assert.ok(['PROTOCOL', 'RESET'].includes(a.error.reason), `${a.error.reason}: ${a.error.message}`);
});

test('--reuse multiplexes every attempt on one HTTP/2 connection; fresh mode opens one per attempt', async (t) => {
  const reused = await h2Tls(t);
  const as = await probe(`${reused.url}/`, { httpVersion: '2', reuseConnections: true, concurrency: 3 }, 9);
  for (const a of as) assert.equal(ok(a).httpVersion, '2');
  assert.equal(reused.connections(), 1);
  assert.equal(as.filter((a) => !a.reused).length, 1, 'one attempt dialled, the rest rode its session');
  for (const a of as) assert.equal(a.tls?.alpnProtocol, 'h2');
  for (const a of as) assertPhasesSum(a);

  const fresh = await h2Tls(t);
  const fs = await probe(`${fresh.url}/`, { httpVersion: '2' }, 4);
  for (const a of fs) assert.equal(ok(a).reused, false);
  assert.equal(fresh.connections(), 4);
});

test('h2c with --reuse: one connection for every attempt', async (t) => {
  const target = await h2c(t);
  const as = await probe(`${target.url}/`, { httpVersion: '2-prior-knowledge', reuseConnections: true }, 5);
  for (const a of as) assert.equal(ok(a).httpVersion, '2');
  assert.equal(target.connections(), 1);
});

test('a dead session is replaced: the next attempt dials anew', async (t) => {
  const p = await pki();
  const sessions = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({ cert: p.server.cert, key: p.server.key }, (req, res) => {
    res.end('ok');
    // Each session answers one request, then says GOAWAY.
    req.stream.session?.close();
  });
  server.on('session', (s) => sessions.add(s));
  const target = await serve(t, server as unknown as Server, 'https');
  const as = await probe(`${target.url}/`, { httpVersion: '2', reuseConnections: true }, 3);
  for (const a of as) assert.equal(ok(a).httpVersion, '2');
  assert.equal(target.connections(), 3);
});

test('with --reuse, a session whose stream timed out is not reused (as a timed-out 1.1 socket is not)', async (t) => {
  const p = await pki();
  let requests = 0;
  const server = http2.createSecureServer({ cert: p.server.cert, key: p.server.key }, (_req, res) => {
    // The first request never gets an answer; the rest do.
    if (++requests > 1) res.end('ok');
  });
  const target = await serve(t, server as unknown as Server, 'https');
  const as = await probe(`${target.url}/`, { httpVersion: '2', reuseConnections: true, timeoutMs: 300 }, 3);
  assert.deepEqual(
    as.map((a) => a.error?.reason ?? 'ok'),
    ['TIMEOUT', 'ok', 'ok'],
  );
  assert.equal(target.connections(), 2, 'attempt 2 dialled anew; attempt 3 rode its session');
  assert.equal(as[2]?.reused, true);
});

test('-L follows redirects over h2, each hop timed; a loop is REDIRECT_LOOP', async (t) => {
  const target = await h2Tls(t);
  const a = ok((await probe(`${target.url}/hop`, { httpVersion: '2', followRedirects: true }))[0]);
  assert.equal(a.status, 200);
  assert.equal(a.httpVersion, '2');
  assert.equal(a.hops?.length, 1);
  assert.equal(a.hops?.[0]?.status, 302);
  const hop = a.hops![0]!;
  const hopSum = Object.values(hop.phases).reduce((s, v) => s + (v ?? 0), 0);
  assert.ok(Math.abs(hopSum - hop.latencyMs) < 1);
  const finalSum = Object.values(a.phases).reduce((s, v) => s + (v ?? 0), 0);
  assert.ok(a.latencyMs + 1 >= hop.latencyMs + finalSum);

  const loop = (await probe(`${target.url}/loop`, { httpVersion: '2', followRedirects: true }))[0];
  assert.equal(loop?.error?.reason, 'REDIRECT_LOOP');

  // With reuse, both hops ride one session.
  const before = target.connections();
  const r = await probe(`${target.url}/hop`, { httpVersion: '2', followRedirects: true, reuseConnections: true }, 3);
  for (const x of r) assert.equal(ok(x).hops?.length, 1);
  assert.equal(target.connections() - before, 1);
});

test('the target policy applies to h2 connections', async (t) => {
  const target = await h2Tls(t);
  const policy = { ...DEFAULT_TARGET_POLICY, denyPrivate: true };
  const ca = (await pki()).ca.cert;
  // A name, so the denial comes from the resolver hook at connect time (not the literal pre-check).
  const url = target.url.replace('127.0.0.1', 'localhost');
  for (const reuseConnections of [false, true]) {
    const spec = validateProbeInput(
      { endpoint: `${url}/`, repetitions: 1, timeoutMs: 3000, tlsCaPem: ca, httpVersion: '2', reuseConnections },
      undefined,
      policy,
    );
    for await (const a of runProbes(spec)) assert.equal(a.error?.reason, 'POLICY_DENIED', a.error?.message);
  }
  assert.equal(target.connections(), 0);
});

test('a stalled h2 stream times out with TIMEOUT; an RST_STREAM is RESET', async (t) => {
  const target = await h2Tls(t);
  const a = (await probe(`${target.url}/stall`, { httpVersion: '2', timeoutMs: 300 }))[0];
  assert.equal(a?.error?.reason, 'TIMEOUT', a?.error?.message);
  assert.match(a?.error?.message ?? '', /waiting for response headers/);
  const r = (await probe(`${target.url}/stall`, { httpVersion: '2', timeoutMs: 300, reuseConnections: true }, 2))[1];
  assert.equal(r?.error?.reason, 'TIMEOUT', r?.error?.message);
  const rst = (await probe(`${target.url}/rst`, { httpVersion: '2' }))[0];
  assert.equal(rst?.error?.reason, 'RESET', rst?.error?.message);
});

test('--resolve pins the h2 connection; -6 connects over IPv6', async (t) => {
  const target = await h2Tls(t);
  const port = new URL(target.url).port;
  const a = ok(
    (await probe(`https://localhost:${port}/`, { httpVersion: '2', resolve: [`localhost:${port}:127.0.0.1`] }))[0],
  );
  assert.equal(a.httpVersion, '2');
  assert.equal(a.remoteAddress, `127.0.0.1:${port}`);

  const v6 = await h2Tls(t, '::1');
  const b = ok((await probe(`${v6.url}/`, { httpVersion: '2', ipFamily: 6 }))[0]);
  assert.equal(b.ipFamily, 6);
  assert.equal(b.httpVersion, '2');
});

test('request headers, a body and the checks work over h2', async (t) => {
  const got: { method?: string; auth?: string; body?: string; ua?: string } = {};
  const p = await pki();
  const server = http2.createSecureServer({ cert: p.server.cert, key: p.server.key }, (req, res) => {
    got.method = req.method;
    got.auth = String(req.headers[':authority']);
    got.ua = String(req.headers['user-agent']);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.body = Buffer.concat(chunks).toString();
      res.writeHead(201, { 'x-id': 'abc-123' });
      res.end('created 42');
    });
  });
  const target = await serve(t, server as unknown as Server, 'https');
  const a = ok(
    (
      await probe(`${target.url}/items`, {
        httpVersion: '2',
        method: 'POST',
        body: Buffer.from('{"a":1}'),
        headers: [
          { name: 'Host', value: 'api.example' },
          { name: 'Connection', value: 'keep-alive' },
        ],
        expectBody: ['created \\d+'],
        expectHeader: [{ name: 'X-Id', regex: '^abc-' }],
      })
    )[0],
  );
  assert.equal(a.status, 201);
  assert.deepEqual(got.method, 'POST');
  assert.equal(got.auth, 'api.example');
  assert.equal(got.body, '{"a":1}');
  assert.match(got.ua ?? '', /^prober\//);
  const bad = (await probe(`${target.url}/`, { httpVersion: '2', expectBody: ['nope'] }))[0];
  assert.equal(bad?.error?.reason, 'BODY_MISMATCH');
});

test('http_version validation names the field', () => {
  assert.throws(
    () => validateProbeInput({ endpoint: 'http://x/', repetitions: 1, httpVersion: '3' as never }),
    (e: unknown) =>
      e instanceof InvalidArgumentError && e.field === 'http_version' && /http_version must be one of/.test(e.message),
  );
  assert.equal(
    validateProbeInput({ endpoint: 'http://x/', repetitions: 1, httpVersion: '1.1' }).httpVersion,
    undefined,
  );
});

test('classifyH2Error: a reset or GOAWAY is RESET, a protocol violation PROTOCOL, socket errors as for 1.1', () => {
  const err = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  const ctx = { connected: true, secured: true };
  const refused = classifyH2Error(
    err('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'),
    ctx,
  );
  assert.equal(refused.reason, 'RESET');
  assert.equal(refused.temporary, true);
  const broken = classifyH2Error(
    err('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_PROTOCOL_ERROR'),
    ctx,
  );
  assert.equal(broken.reason, 'PROTOCOL');
  assert.equal(
    classifyH2Error(err('ERR_HTTP2_GOAWAY_SESSION', 'New streams cannot be created after receiving a GOAWAY'), ctx)
      .reason,
    'RESET',
  );
  const h2c = classifyH2Error(err('ERR_HTTP2_ERROR', 'Protocol error'), ctx);
  assert.equal(h2c.reason, 'PROTOCOL');
  assert.match(h2c.message, /speak HTTP\/2/);
  assert.equal(
    classifyH2Error(err('ECONNREFUSED', 'connect ECONNREFUSED'), { connected: false, secured: false }).reason,
    'CONNECT_REFUSED',
  );
  const none = noH2Error('http/1.1');
  assert.equal(none.reason, 'PROTOCOL');
  assert.match(none.message, /ALPN picked http\/1\.1/);
});
