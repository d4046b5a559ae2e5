// HTTP/2 through every front door: the gRPC API (http_version on the wire,
// Attempt.http_version "2" and the TLS facts back), the CLI (--http2,
// --http2-prior-knowledge: human and JSON lines), and /probe modules
// (enable_http2, valid_http_versions checked as blackbox does). Loopback
// targets: h2 with ALPN (and HTTP/1.1 fallback) and h2c.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, probeOnce, probeStream } from '../src/client/index.js';
import { run } from '../src/cli/run.js';
import type { AttemptResult } from '../src/probe/types.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { createPki, type Pki } from './helpers/certs.js';
import { testIo } from './helpers/cli-io.js';
import { proberFixture } from './helpers/prober.js';

let pki: Pki;
let h2Url: string;
let h11Url: string;
let h2cUrl: string;
let h2Connections = 0;
const closers: (() => Promise<void>)[] = [];

type Listening = http2.Http2SecureServer | http2.Http2Server | https.Server;

async function listen(server: Listening, count?: () => void): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    count?.();
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return (server.address() as AddressInfo).port;
}

const reply = (_req: unknown, res: http2.Http2ServerResponse | import('node:http').ServerResponse): void => {
  res.end('ok');
};

before(async () => {
  pki = await createPki();
  const tlsOpts = { cert: pki.server.cert, key: pki.server.key };
  h2Url = `https://127.0.0.1:${await listen(
    http2.createSecureServer({ ...tlsOpts, allowHTTP1: true }, reply),
    () => h2Connections++,
  )}/`;
  h11Url = `https://127.0.0.1:${await listen(https.createServer(tlsOpts, reply))}/`;
  h2cUrl = `http://127.0.0.1:${await listen(http2.createServer(reply))}/`;
});
after(async () => {
  for (const close of closers) await close();
  await pki.cleanup();
});

describe('gRPC API', () => {
  test('http_version 2: the attempts come back with http_version "2" and ALPN h2, multiplexed with reuse', async (t) => {
    const { conn } = await proberFixture(t);
    const before = h2Connections;
    const attempts: AttemptResult[] = [];
    for await (const ev of probeStream(conn, {
      endpoint: h2Url,
      repetitions: 4,
      tlsCaPem: pki.ca.cert,
      httpVersion: '2',
      reuseConnections: true,
    })) {
      if (ev.kind === 'attempt') attempts.push(ev.attempt);
    }
    assert.equal(attempts.length, 4);
    for (const a of attempts) {
      assert.equal(a.error, undefined, a.error?.message);
      assert.equal(a.httpVersion, '2');
      assert.equal(a.tls?.alpnProtocol, 'h2');
    }
    assert.equal(h2Connections - before, 1);
  });

  test('prior knowledge: h2c succeeds; over TLS to an HTTP/1.1-only server it is PROTOCOL', async (t) => {
    const { conn } = await proberFixture(t);
    const ok = await probeOnce(conn, { endpoint: h2cUrl, repetitions: 2, httpVersion: '2-prior-knowledge' });
    assert.equal(ok.successes, 2, JSON.stringify(ok.errors));
    const bad = await probeOnce(conn, {
      endpoint: h11Url,
      repetitions: 1,
      tlsCaPem: pki.ca.cert,
      httpVersion: '2-prior-knowledge',
    });
    assert.equal(bad.failures, 1);
    assert.equal(bad.errors[0]?.reason, 'PROTOCOL');
  });

  test('on the engine thread (a full server): the spec crosses with its http_version', async () => {
    const server = await startServer({ listen: '127.0.0.1:0', warmUp: false });
    const conn = connect(server.address);
    try {
      const before = h2Connections;
      const versions: (string | undefined)[] = [];
      const input = { endpoint: h2Url, repetitions: 3, tlsCaPem: pki.ca.cert, reuseConnections: true };
      for await (const ev of probeStream(conn, { ...input, httpVersion: '2' })) {
        if (ev.kind === 'attempt') versions.push(ev.attempt.error?.message ?? ev.attempt.httpVersion);
      }
      assert.deepEqual(versions, ['2', '2', '2']);
      assert.equal(h2Connections - before, 1, 'one multiplexed connection');
    } finally {
      conn.close();
      await server.close(0);
    }
  });

  test('an unknown http_version is INVALID_ARGUMENT naming the field', async (t) => {
    const { conn } = await proberFixture(t);
    await assert.rejects(
      probeOnce(conn, { endpoint: h2Url, repetitions: 1, httpVersion: 'HTTP_VERSION_9' as never }),
      (e: unknown) => (e as { field?: string }).field === 'http_version',
    );
  });
});

describe('CLI', () => {
  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = testIo();
    const code = await run(args, io);
    return { code, out: io.stdout.text(), err: io.stderr.text() };
  }

  test('--http2: attempt lines say HTTP/2; --json lines say "2"; a 1.1-only server falls back', async () => {
    const human = await cli(['stream', h2Url, '-n', '2', '--http2', '--cacert', pki.ca.certFile]);
    assert.equal(human.code, 0, human.err + human.out);
    assert.match(human.out, /HTTP\/2/);
    const json = await cli(['stream', h2Url, '-n', '1', '--http2', '--cacert', pki.ca.certFile, '--json']);
    assert.equal(json.code, 0, json.err);
    const line = JSON.parse(json.out.split('\n')[0] ?? '') as { httpVersion: string; tls: { alpnProtocol: string } };
    assert.equal(line.httpVersion, '2');
    assert.equal(line.tls.alpnProtocol, 'h2');
    const fallback = await cli(['stream', h11Url, '-n', '1', '--http2', '--cacert', pki.ca.certFile, '--json']);
    assert.equal(fallback.code, 0, fallback.err);
    assert.equal((JSON.parse(fallback.out.split('\n')[0] ?? '') as { httpVersion: string }).httpVersion, '1.1');
  });

  test('--http2-prior-knowledge: h2c; to an HTTP/1.1-only TLS server exit 1 with PROTOCOL', async () => {
    const ok = await cli(['probe', h2cUrl, '-n', '2', '--http2-prior-knowledge']);
    assert.equal(ok.code, 0, ok.err + ok.out);
    const bad = await cli(['stream', h11Url, '-n', '1', '--http2-prior-knowledge', '--cacert', pki.ca.certFile]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /PROTOCOL.*HTTP\/2/);
  });

  test('--http2 with --http2-prior-knowledge: exit 2 naming both', async () => {
    const r = await cli(['probe', h2Url, '--http2', '--http2-prior-knowledge']);
    assert.equal(r.code, 2);
    assert.match(r.err, /--http2.*--http2-prior-knowledge/);
  });
});

describe('/probe modules', () => {
  let server: RunningServer;
  before(async () => {
    const file = join(pki.dir, 'h2-modules.yml');
    const tls = `tls_config: {ca_file: ${pki.ca.certFile}}`;
    await writeFile(
      file,
      `
modules:
  h2:
    prober: http
    http: {enable_http2: true, valid_http_versions: ["HTTP/2.0"], ${tls}}
  h1_only:
    prober: http
    http: {valid_http_versions: ["HTTP/1.1"], ${tls}}
  h2_but_wants_11:
    prober: http
    http: {enable_http2: true, valid_http_versions: ["HTTP/1.1"], ${tls}}
  h2_fallback:
    prober: http
    http: {enable_http2: true, valid_http_versions: ["HTTP/1.1", "HTTP/2.0"], ${tls}}
`,
    );
    server = await startServer({
      listen: '127.0.0.1:0',
      configFile: file,
      engine: 'inline',
      warmUp: false,
      observability: { metrics: { listen: '127.0.0.1:0' } },
    });
  });
  after(() => server.close(0));

  async function scrape(module: string, target: string, debug = false): Promise<string> {
    const q = `target=${encodeURIComponent(target)}&module=${module}${debug ? '&debug=true' : ''}`;
    const res = await fetch(`${server.metrics!.url}/probe?${q}`);
    const text = await res.text();
    assert.equal(res.status, 200, text);
    return text;
  }
  const metric = (text: string, name: string): string | undefined =>
    new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1];

  test('enable_http2 speaks h2 (probe_http_version 2); without it HTTP/1.1', async () => {
    const h2 = await scrape('h2', h2Url);
    assert.equal(metric(h2, 'probe_success'), '1', h2);
    assert.equal(metric(h2, 'probe_http_version'), '2');
    const h1 = await scrape('h1_only', h2Url);
    assert.equal(metric(h1, 'probe_success'), '1', h1);
    assert.equal(metric(h1, 'probe_http_version'), '1.1');
    const fallback = await scrape('h2_fallback', h11Url);
    assert.equal(metric(fallback, 'probe_success'), '1', fallback);
    assert.equal(metric(fallback, 'probe_http_version'), '1.1');
  });

  test('valid_http_versions: a response of an unlisted version fails the probe, logged as blackbox does', async () => {
    const text = await scrape('h2_but_wants_11', h2Url);
    assert.equal(metric(text, 'probe_success'), '0');
    assert.equal(metric(text, 'probe_http_version'), '2');
    const debug = await scrape('h2_but_wants_11', h2Url, true);
    assert.match(debug, /msg="Invalid HTTP version number" version=HTTP\/2\.0/);
    assert.match(debug, /enable_http2: true/);
  });
});
