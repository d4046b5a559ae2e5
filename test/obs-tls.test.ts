// TLS options and facts through the real server: the request's PEM fields
// cross gRPC and the engine thread, the Attempt's TlsInfo comes back, and
// /metrics exports the chain's earliest expiry and the TLS version.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type ProberConnection, ProberRpcError, connect, probeStream } from '../src/client/index.js';
import type { AttemptResult } from '../src/probe/types.js';
import { type RunningServer, startServer } from '../src/server/server.js';
import { createPki, type Pki } from './helpers/certs.js';
import { withoutRegion } from './helpers/prometheus.js';

let pki: Pki;
let target: https.Server;
let url: string;
let srv: RunningServer;
let conn: ProberConnection;

before(async () => {
  pki = await createPki();
  target = https.createServer({ cert: pki.server.cert, key: pki.server.key }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(target.address() as AddressInfo).port}/`;
  srv = await startServer({ listen: '127.0.0.1:0', observability: { metrics: { listen: '127.0.0.1:0' } } });
  conn = connect(srv.address);
});
after(async () => {
  conn.close();
  await srv.close(0);
  target.closeAllConnections();
  await new Promise((resolve) => target.close(resolve));
  await pki.cleanup();
});

async function attempts(extra: object): Promise<AttemptResult[]> {
  const out: AttemptResult[] = [];
  for await (const ev of probeStream(conn, { endpoint: url, repetitions: 2, ...extra })) {
    if (ev.kind === 'attempt') out.push(ev.attempt);
  }
  return out;
}

test('a gRPC probe with tls_ca_pem gets TLS facts per attempt and on /metrics', async () => {
  const got = await attempts({ tlsCaPem: pki.ca.cert });
  assert.equal(got.length, 2);
  const notAfter = Math.floor(Date.parse(new X509Certificate(pki.server.cert).validTo) / 1000);
  for (const a of got) {
    assert.equal(a.error, undefined, a.error?.message);
    assert.equal(a.tls?.version, 'TLSv1.3');
    assert.equal(a.tls?.sessionResumed, false);
    assert.equal(a.tls?.earliestCertExpiry, notAfter);
    assert.ok(a.tls?.cipher);
  }
  assert.ok(srv.metrics);
  const text = withoutRegion(await (await fetch(`${srv.metrics.url}/metrics`)).text());
  assert.ok(
    text.includes(`prober_ssl_earliest_cert_expiry_seconds{endpoint="${url}"} ${notAfter}`),
    text
      .split('\n')
      .filter((l) => l.includes('ssl'))
      .join('\n'),
  );
  assert.ok(text.includes(`prober_tls_version_info{endpoint="${url}",version="TLS 1.3"} 1`));
});

test('without the CA the attempts fail with reason TLS, certificate not trusted', async () => {
  for (const a of await attempts({})) {
    assert.equal(a.error?.reason, 'TLS');
    assert.match(a.error?.message ?? '', /certificate not trusted/);
    assert.equal(a.tls, undefined);
  }
});

test('a bad PEM is INVALID_ARGUMENT naming the field', async () => {
  await assert.rejects(attempts({ tlsCaPem: 'nope' }), (err: unknown) => {
    assert.ok(err instanceof ProberRpcError);
    assert.equal(err.codeName, 'INVALID_ARGUMENT');
    assert.equal(err.field, 'tls_ca_pem');
    return true;
  });
});
