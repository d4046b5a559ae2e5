// --proxy end to end: through the gRPC API (a server with and without
// --allow-proxies, its target policy, a module's own proxy_url, /probe) and
// through the CLI (embedded prober: JSON and human lines, credentials
// redacted, a refusing proxy, hop lines). Local proxy and targets only.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { connect, isProberRpcError, probeOnce, probeStream } from '../src/client/index.js';
import { prober } from '../src/generated/prober/v1/prober.js';
import type { AttemptResult } from '../src/probe/types.js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { attemptFromProto, attemptToProto } from '../src/wire/index.js';
import { createPki, type Pki } from './helpers/certs.js';
import { testIo } from './helpers/cli-io.js';
import { startProxy, type TestProxy } from './helpers/proxy.js';
import { startTarget, type Target } from './helpers/target.js';
import pb = prober.v1;

const SILENT = { error: () => {} };
const BASE: ServerInput = { listen: '127.0.0.1:0', warmUp: false, engine: 'inline', logger: SILENT };

let pki: Pki;
let tlsServer: https.Server;
let tlsUrl: string;
let target: Target;
let proxy: TestProxy;
let dir: string;

before(async () => {
  pki = await createPki();
  tlsServer = https.createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => res.end('secure\n'));
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  tlsUrl = `https://localhost:${(tlsServer.address() as AddressInfo).port}/`;
  target = await startTarget();
  proxy = await startProxy();
  dir = await mkdtemp(join(tmpdir(), 'prober-proxy-'));
});
after(async () => {
  tlsServer.closeAllConnections();
  await new Promise((resolve) => tlsServer.close(resolve));
  await target.close();
  await proxy.close();
  await pki.cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function server(t: { after(fn: () => unknown): void }, input: ServerInput): Promise<RunningServer> {
  const s = await startServer({ ...BASE, ...input });
  t.after(() => s.close(0));
  return s;
}

async function streamAttempts(address: string, input: Parameters<typeof probeStream>[1]): Promise<AttemptResult[]> {
  const conn = connect(address);
  try {
    const out: AttemptResult[] = [];
    for await (const ev of probeStream(conn, input, { deadlineMs: 20_000 }))
      if (ev.kind === 'attempt') out.push(ev.attempt);
    return out;
  } finally {
    conn.close();
  }
}

describe('through the gRPC API', () => {
  test('a server with --allow-proxies probes https:// through CONNECT; phases include proxy', async (t) => {
    // The engine on its own thread: the proxy crosses with the spec as plain data.
    const s = await server(t, { allowProxies: true, engine: 'thread' });
    const before = proxy.connects.length;
    const attempts = await streamAttempts(s.address, {
      endpoint: tlsUrl,
      repetitions: 2,
      tlsCaPem: pki.ca.cert,
      proxyUrl: proxy.url,
    });
    assert.equal(attempts.length, 2);
    for (const a of attempts) {
      assert.equal(a.error, undefined, a.error?.message);
      assert.equal(a.proxied, true);
      assert.equal(typeof a.phases.proxyMs, 'number');
      const sum = Object.values(a.phases).reduce((x, v) => x + v, 0);
      assert.ok(Math.abs(sum - a.latencyMs) < 1, `phases ${sum} ~ ${a.latencyMs}`);
    }
    assert.equal(proxy.connects.length - before, 2, 'a tunnel per attempt (fresh connections)');
  });

  test('a server without --allow-proxies refuses proxy_url: INVALID_ARGUMENT naming the field', async (t) => {
    const s = await server(t, {});
    const conn = connect(s.address);
    t.after(() => conn.close());
    await assert.rejects(
      probeOnce(conn, { endpoint: tlsUrl, repetitions: 1, proxyUrl: 'http://u:hunter2@127.0.0.1:9' }),
      (err: unknown) => {
        assert.ok(isProberRpcError(err));
        assert.ok(err.isInvalidArgument());
        assert.equal(err.field, 'proxy_url');
        assert.match(err.details, /--allow-proxies/);
        assert.ok(!err.details.includes('hunter2'));
        return true;
      },
    );
  });

  test("the target policy judges the proxy's address: PERMISSION_DENIED before any attempt", async (t) => {
    const s = await server(t, { allowProxies: true, targetPolicy: { deny: ['127.0.0.1/32'] } });
    const conn = connect(s.address);
    t.after(() => conn.close());
    const before = proxy.connects.length + proxy.requests.length;
    // The endpoint is a public name; the proxy is what the policy sees.
    await assert.rejects(
      probeOnce(conn, { endpoint: 'https://example.com/', repetitions: 1, proxyUrl: proxy.url }),
      (err: unknown) => isProberRpcError(err) && err.code === grpc.status.PERMISSION_DENIED,
    );
    assert.equal(proxy.connects.length + proxy.requests.length, before);
  });

  test("a module's own proxy_url is allowed without --allow-proxies; a caller's other proxy is not", async (t) => {
    const file = join(dir, 'proxy-modules.yml');
    await writeFile(file, `modules:\n  via_proxy:\n    prober: http\n    http:\n      proxy_url: ${proxy.url}\n`);
    const s = await server(t, { configFile: file });
    const client = new pb.ProberClient(s.address, grpc.credentials.createInsecure());
    t.after(() => client.close());
    const call = (req: Record<string, unknown>) =>
      new Promise<pb.ProbeReply>((resolve, reject) =>
        client.Probe(new pb.ProbeRequest(req), (err, reply) => (err ? reject(err) : resolve(reply!))),
      );
    const before = proxy.requests.length;
    const reply = await call({ endpoint: `${target.url}/ok`, repetitions: 1, module: 'via_proxy' });
    assert.equal(reply.summary.successes, 1);
    assert.equal(proxy.requests.length - before, 1);
    await assert.rejects(
      call({ endpoint: `${target.url}/ok`, repetitions: 1, module: 'via_proxy', proxy_url: 'http://127.0.0.1:9' }),
      (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /proxy_url/.test(err.details),
    );
  });

  test("/probe: a module's proxy_url is used (blackbox counts the CONNECT time as connect)", async (t) => {
    const file = join(dir, 'probe-modules.yml');
    await writeFile(
      file,
      `modules:\n  tls_via_proxy:\n    prober: http\n    http:\n      proxy_url: ${proxy.url}\n      tls_config: {ca_file: ${pki.ca.certFile}}\n`,
    );
    const s = await server(t, {
      configFile: file,
      observability: { metrics: { listen: '127.0.0.1:0', defaultMetrics: false } },
    });
    const before = proxy.connects.length;
    const res = await fetch(`${s.metrics!.url}/probe?module=tls_via_proxy&target=${encodeURIComponent(tlsUrl)}`);
    const body = await res.text();
    assert.equal(res.status, 200);
    assert.match(body, /^probe_success 1$/m);
    assert.equal(proxy.connects.length - before, 1);
    const connect = /^probe_http_duration_seconds\{phase="connect"\} (\S+)$/m.exec(body);
    assert.ok(connect && Number(connect[1]) > 0, body);
    assert.doesNotMatch(body, /phase="proxy"/);
  });

  test('Attempt.proxied and Phases.proxy cross the wire', () => {
    const a: AttemptResult = {
      seq: 1,
      startedAt: 1_700_000_000_000,
      latencyMs: 4,
      phases: { connectMs: 1, proxyMs: 2.5, ttfbMs: 0.5 },
      bodyBytes: 0,
      reused: false,
      proxied: true,
    };
    const back = attemptFromProto(pb.Attempt.deserializeBinary(attemptToProto(a).serializeBinary()));
    assert.equal(back.proxied, true);
    assert.deepEqual(back.phases, a.phases);
    const plain = attemptFromProto(attemptToProto({ ...a, proxied: undefined }));
    assert.equal(plain.proxied, undefined);
  });
});

describe('through the CLI (embedded prober)', () => {
  async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = testIo();
    const code = await run(argv, io);
    return { code, out: io.stdout.text(), err: io.stderr.text() };
  }

  test('stream --proxy --json: proxied attempts with a proxy phase; credentials appear nowhere', async () => {
    const auth = `http://probe:pw-s3cret@127.0.0.1:${proxy.port}`;
    const r = await cli(['stream', tlsUrl, '-n', '2', '--cacert', pki.ca.certFile, '--proxy', auth, '--json']);
    assert.equal(r.code, EXIT.OK, r.err + r.out);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const attempts = lines.filter((l) => l['type'] === 'attempt');
    assert.equal(attempts.length, 2);
    for (const a of attempts) {
      assert.equal(a['proxied'], true);
      assert.equal(typeof (a['phases'] as Record<string, unknown>)['proxyMs'], 'number');
    }
    assert.equal(proxy.authorizations.at(-1), `Basic ${Buffer.from('probe:pw-s3cret').toString('base64')}`);
    for (const secret of ['pw-s3cret', Buffer.from('probe:pw-s3cret').toString('base64')]) {
      assert.ok(!(r.out + r.err).includes(secret), secret);
    }
  });

  test('serve --allow-proxies --check says proxies are allowed; without it, refused', async () => {
    const on = await cli(['serve', '--listen', '127.0.0.1:0', '--allow-proxies', '--check']);
    assert.equal(on.code, EXIT.OK, on.err);
    assert.match(on.out, /^proxy_url: allowed \(--allow-proxies\)/m);
    const off = await cli(['serve', '--listen', '127.0.0.1:0', '--check']);
    assert.equal(off.code, EXIT.OK, off.err);
    assert.match(off.out, /^proxy_url: refused \(no --allow-proxies\)/m);
  });

  test('a refusing proxy: PROXY_REFUSED on the attempt line, exit 1', async (t) => {
    proxy.refuse = 407;
    t.after(() => {
      proxy.refuse = undefined;
    });
    const r = await cli(['stream', tlsUrl, '-n', '1', '--cacert', pki.ca.certFile, '--proxy', proxy.url]);
    assert.equal(r.code, EXIT.PROBE_FAILED, r.err + r.out);
    assert.match(r.out, /PROXY_REFUSED.*refused CONNECT: HTTP\/1\.1 407/);
  });

  test('-L through the proxy: each hop is printed under its attempt (status, latency, Location)', async () => {
    const r = await cli(['stream', `${target.url}/redirect/2`, '-n', '1', '-L', '--proxy', proxy.url]);
    assert.equal(r.code, EXIT.OK, r.err + r.out);
    const lines = r.out.split('\n');
    const first = lines.findIndex((l) => /^#1\s/.test(l));
    assert.ok(first >= 0, r.out);
    assert.match(lines[first] ?? '', /via proxy/);
    assert.match(lines[first + 1] ?? '', new RegExp(`^\\s+hop 1\\s+302\\s+.*ms\\s+-> ${target.url}/redirect/1$`));
    assert.match(lines[first + 2] ?? '', new RegExp(`^\\s+hop 2\\s+302\\s+.*ms\\s+-> ${target.url}/redirect/0$`));
  });

  test('hop lines are bounded: past five, one line counts the rest', async () => {
    const r = await cli(['stream', `${target.url}/redirect/8`, '-n', '1', '-L']);
    assert.equal(r.code, EXIT.OK, r.err + r.out);
    const hopLines = r.out.split('\n').filter((l) => /^\s+hop \d+/.test(l));
    assert.equal(hopLines.length, 5);
    assert.match(r.out, /\.\.\. 3 more hops \(--json lists every one\)/);
  });
});
