// TLS, mTLS and bearer tokens end to end over loopback, with throwaway
// certificates made by openssl for this run (test/helpers/tls-certs.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import {
  connect,
  probeOnce,
  probeStream,
  ProberRpcError,
  transportFailure,
  type ConnectOptions,
} from '../src/client/index.js';
import { startServer, type RunningServer, type ServerInput } from '../src/server/server.js';
import { tokenFingerprint } from '../src/server/token-file.js';
import { makeTlsFiles, type TlsFiles } from './helpers/tls-certs.js';
import { startTarget, type Target } from './helpers/target.js';

const TOKEN_CI = 'ci-token-0123456789abcdef';
const TOKEN_ANON = 'anon-token-fedcba9876543210';

let files: TlsFiles;
let target: Target;
let tokenFile: string;
const servers: RunningServer[] = [];
const logLines: Array<Record<string, unknown>> = [];
let rawLog = '';

before(async () => {
  files = await makeTlsFiles();
  target = await startTarget();
  tokenFile = join(files.dir, 'tokens');
  writeFileSync(tokenFile, `# test tokens\n\nci: ${TOKEN_CI}\n${TOKEN_ANON}\n`);
});
after(async () => {
  for (const s of servers) await s.close(0);
  await target.close();
  await files.remove();
});

const pem = (p: string): Buffer => readFileSync(p);

async function serve(input: ServerInput): Promise<RunningServer> {
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      rawLog += chunk.toString();
      for (const l of chunk.toString().split('\n'))
        if (l.trim()) logLines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  const s = await startServer({
    listen: '127.0.0.1:0',
    observability: { logger: pino({ level: 'debug' }, sink), reflection: false },
    ...input,
  });
  servers.push(s);
  return s;
}

async function probe(address: string, options: ConnectOptions): Promise<ProberRpcError | undefined> {
  const conn = connect(address, options);
  try {
    await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 1 }, { deadlineMs: 5000 });
    return undefined;
  } catch (err) {
    assert.ok(err instanceof ProberRpcError, String(err));
    return err;
  } finally {
    conn.close();
  }
}

const tlsServer = (clientCa?: string): Promise<RunningServer> =>
  serve({
    tls: { certFile: files.serverCert, keyFile: files.serverKey, ...(clientCa ? { clientCaFile: clientCa } : {}) },
  });

test('TLS: a client trusting the CA probes; one trusting only system roots gets "untrusted"', async () => {
  const s = await tlsServer();
  assert.equal(await probe(`localhost:${s.port}`, { tls: { ca: pem(files.caCert) } }), undefined);
  const err = await probe(`localhost:${s.port}`, { tls: true });
  assert.equal(transportFailure(err!)?.kind, 'untrusted', err?.details);
});

test('TLS: a name the certificate lacks is a name mismatch; --server-name fixes it', async () => {
  const s = await tlsServer();
  const err = await probe(`127.0.0.1:${s.port}`, { tls: { ca: pem(files.caCert), serverName: 'prober.example' } });
  const f = transportFailure(err!);
  assert.equal(f?.kind, 'name-mismatch', err?.details);
  assert.equal(f?.kind === 'name-mismatch' && f.requested, 'prober.example');
  assert.equal(
    await probe(`127.0.0.1:${s.port}`, { tls: { ca: pem(files.caCert), serverName: 'localhost' } }),
    undefined,
  );
});

test('mTLS: no client certificate, one from another CA, and a good one', async () => {
  const s = await tlsServer(files.caCert);
  const addr = `localhost:${s.port}`;
  const none = await probe(addr, { tls: { ca: pem(files.caCert) } });
  assert.equal(transportFailure(none!)?.kind, 'client-cert-required', none?.details);
  const wrong = await probe(addr, {
    tls: { ca: pem(files.caCert), cert: pem(files.otherClientCert), key: pem(files.otherClientKey) },
  });
  assert.equal(transportFailure(wrong!)?.kind, 'handshake-closed', wrong?.details);
  const good = await probe(addr, {
    tls: { ca: pem(files.caCert), cert: pem(files.clientCert), key: pem(files.clientKey) },
  });
  assert.equal(good, undefined);
});

/** grpc.health.v1.Health/Check with no token: an empty request, the raw reply. */
function healthCheck(address: string, creds: grpc.ChannelCredentials): Promise<grpc.ServiceError | null> {
  const client = new grpc.Client(address, creds);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      { deadline: Date.now() + 5000 },
      (err) => {
        client.close();
        resolve(err);
      },
    );
  });
}

test('tokens: none and wrong are UNAUTHENTICATED, right ones pass, health needs none; logs name, never show, tokens', async () => {
  const s = await serve({ tls: { certFile: files.serverCert, keyFile: files.serverKey }, auth: { tokenFile } });
  const addr = `localhost:${s.port}`;
  const tls = { ca: pem(files.caCert) };
  const none = await probe(addr, { tls });
  assert.equal(none?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(transportFailure(none!)?.kind, 'token-rejected');
  const wrong = await probe(addr, { tls, token: 'not-a-known-token-at-all' });
  assert.equal(wrong?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(await probe(addr, { tls, token: TOKEN_CI }), undefined);
  assert.equal(await probe(addr, { tls, token: TOKEN_ANON }), undefined);
  assert.equal(await healthCheck(addr, grpc.credentials.createSsl(pem(files.caCert))), null);

  const rpc = logLines.filter((l) => l.msg === 'rpc' && l.method === '/prober.v1.Prober/Probe');
  assert.deepEqual(
    rpc.slice(-4).map((l) => [l.code, l.token]),
    [
      ['Unauthenticated', undefined],
      ['Unauthenticated', undefined],
      ['OK', 'ci'],
      ['OK', tokenFingerprint(TOKEN_ANON)],
    ],
  );
  assert.ok(logLines.some((l) => l.method === '/grpc.health.v1.Health/Check' && l.code === 'OK'));
  for (const secret of [TOKEN_CI, TOKEN_ANON, 'not-a-known-token-at-all']) assert.ok(!rawLog.includes(secret));
});

test('a token over plaintext goes to loopback only', async () => {
  const s = await serve({ auth: { tokenFile } });
  assert.equal(await probe(`127.0.0.1:${s.port}`, { token: TOKEN_CI }), undefined);
  assert.throws(() => connect(`192.0.2.1:${s.port}`, { token: TOKEN_CI }), /only over TLS/);
});

/** The certificate a new TLS connection is served, as a serial number. */
function servedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: pem(files.caCert),
      ALPNProtocols: ['h2'],
    });
    sock.once('secureConnect', () => {
      resolve(sock.getPeerCertificate().serialNumber);
      sock.destroy();
    });
    sock.once('error', reject);
  });
}

test('reload: a renewed certificate reaches new connections while a running stream goes on', async () => {
  const s = await tlsServer();
  const before = await servedSerial(s.port);
  const conn = connect(`localhost:${s.port}`, { tls: { ca: pem(files.caCert) } });
  const ac = new AbortController();
  let seen = 0;
  let seenAtReload = -1;
  const reading = (async () => {
    for await (const ev of probeStream(
      conn,
      { endpoint: `${target.url}/ok`, repetitions: 0, intervalMs: 20 },
      { signal: ac.signal },
    )) {
      if (ev.kind === 'attempt') seen++;
    }
  })().catch((err: unknown) => err);
  while (seen < 3) await new Promise((r) => setTimeout(r, 10));

  await files.renewServer();
  const fresh = new X509Certificate(pem(files.serverCert)).serialNumber;
  assert.notEqual(fresh, before);
  const r = s.reload();
  assert.deepEqual(r.errors, []);
  seenAtReload = seen;
  await new Promise((r2) => setTimeout(r2, 50)); // grpc-js applies the update on the next tick
  assert.equal(await servedSerial(s.port), fresh);
  while (seen < seenAtReload + 5) await new Promise((r2) => setTimeout(r2, 10));
  ac.abort();
  const ended = await reading;
  assert.ok(ended === undefined || (ended instanceof ProberRpcError && ended.isCancelled()), String(ended));
  conn.close();

  // A bad file on reload keeps the certificate being served.
  writeFileSync(files.serverKey, 'not a key');
  const bad = s.reload();
  assert.match(bad.errors[0]?.message ?? '', /tls.keyFile|keyFile/);
  assert.equal(await servedSerial(s.port), fresh);
});

test('reload: the token file is re-read; a broken one keeps the old tokens', async () => {
  const file = join(files.dir, 'tokens-reload');
  writeFileSync(file, `old: ${TOKEN_CI}\n`);
  const s = await serve({ auth: { tokenFile: file } });
  const addr = `127.0.0.1:${s.port}`;
  writeFileSync(file, `new: ${TOKEN_ANON}\n`);
  assert.equal(s.reload().tokens, 1);
  assert.equal((await probe(addr, { token: TOKEN_CI }))?.code, grpc.status.UNAUTHENTICATED);
  assert.equal(await probe(addr, { token: TOKEN_ANON }), undefined);
  writeFileSync(file, 'short\n');
  assert.equal(s.reload().errors.length, 1);
  assert.equal(await probe(addr, { token: TOKEN_ANON }), undefined);
});
