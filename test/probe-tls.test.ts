// TLS to targets: -k, --cacert, client certificates, SNI, minimum version,
// cold handshakes in fresh-connection mode, and the TLS facts of an Attempt.
// Loopback targets with throwaway certificates (test/helpers/certs.ts).
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';
import { MAX_PEM_BYTES } from '../src/probe/tls.js';
import type { AttemptResult, ProbeInput } from '../src/probe/types.js';
import { InvalidArgumentError } from '../src/probe/errors.js';
import { validateProbeInput } from '../src/probe/validate.js';
import { createPki, type Pki } from './helpers/certs.js';
import { ok, runInput } from './helpers/engine.js';

async function listen(t: { after(fn: () => unknown): void }, options: https.ServerOptions): Promise<string> {
  const server = https.createServer(options, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function probe(endpoint: string, extra: Partial<ProbeInput> = {}, repetitions = 1): Promise<AttemptResult[]> {
  return runInput({ endpoint, repetitions, ...extra });
}

function tlsFailure(a: AttemptResult | undefined, message?: RegExp): void {
  assert.ok(a);
  assert.equal(a.error?.reason, 'TLS', a.error?.message);
  if (message) assert.match(a.error?.message ?? '', message);
}

// One PKI for the file: openssl is the slow part.
let pkiPromise: Promise<Pki> | undefined;
function pki(_t: unknown): Promise<Pki> {
  pkiPromise ??= createPki();
  return pkiPromise;
}
test.after(async () => (await pkiPromise)?.cleanup());

test('-k probes a self-signed target; without it the attempt fails with reason TLS', async (t) => {
  const p = await pki(t);
  // The CA certificate serves as its own (self-signed) server certificate.
  const url = await listen(t, { cert: p.ca.cert, key: p.ca.key });
  tlsFailure((await probe(url))[0]);
  const a = ok((await probe(url, { tlsInsecure: true }))[0]);
  assert.equal(a.status, 200);
});

test('--cacert trusts a private CA; without it: TLS, certificate not trusted', async (t) => {
  const p = await pki(t);
  const url = await listen(t, { cert: p.server.cert, key: p.server.key });
  tlsFailure((await probe(url))[0], /certificate not trusted/);
  const a = ok((await probe(url, { tlsCaPem: p.ca.cert }))[0]);
  assert.equal(a.status, 200);
});

test('a client certificate reaches an mTLS target; without it the attempt fails', async (t) => {
  const p = await pki(t);
  const url = await listen(t, {
    cert: p.server.cert,
    key: p.server.key,
    ca: p.ca.cert,
    requestCert: true,
    rejectUnauthorized: true,
  });
  const without = (await probe(url, { tlsCaPem: p.ca.cert }))[0];
  assert.ok(without?.error, 'expected a failure without a client certificate');
  assert.ok(['TLS', 'RESET'].includes(without.error.reason), without.error.message);
  ok((await probe(url, { tlsCaPem: p.ca.cert, tlsCertPem: p.client.cert, tlsKeyPem: p.client.key }))[0]);
});

test('--sni picks the certificate of that name on a target with two', async (t) => {
  const p = await pki(t);
  const other = await p.issue({ cn: 'other.test', usage: 'server', sans: ['DNS:other.test'] });
  const contexts: Record<string, tls.SecureContext> = {
    'other.test': tls.createSecureContext({ cert: other.cert, key: other.key }),
  };
  const url = await listen(t, {
    cert: p.server.cert,
    key: p.server.key,
    SNICallback: (name, cb) => cb(null, contexts[name]),
  });
  const base = { tlsCaPem: p.ca.cert };
  // Default name (127.0.0.1, no SNI sent for an IP): the localhost certificate.
  ok((await probe(url, base))[0]);
  // other.test: the other certificate, valid for that name.
  ok((await probe(url, { ...base, tlsServerName: 'other.test' }))[0]);
  // A name neither certificate carries: the default one, which does not match.
  tlsFailure((await probe(url, { ...base, tlsServerName: 'nobody.test' }))[0], /altnames|not in the cert/i);
});

test('--tls-min 1.3 against a TLS 1.2-only target fails with reason TLS', async (t) => {
  const p = await pki(t);
  const url = await listen(t, { cert: p.server.cert, key: p.server.key, maxVersion: 'TLSv1.2' });
  const a = ok((await probe(url, { tlsCaPem: p.ca.cert }))[0]);
  assert.equal(a.tls?.version, 'TLSv1.2');
  tlsFailure((await probe(url, { tlsCaPem: p.ca.cert, tlsMinVersion: '1.3' }))[0]);
});

test('fresh connections never resume a TLS session; the Attempt carries the TLS facts', async (t) => {
  const p = await pki(t);
  const url = await listen(t, { cert: p.server.cert, key: p.server.key, maxVersion: 'TLSv1.2' });
  const attempts = await probe(url, { tlsCaPem: p.ca.cert }, 3);
  assert.equal(attempts.length, 3);
  const notAfter = Math.floor(
    Date.parse(new (await import('node:crypto')).X509Certificate(p.server.cert).validTo) / 1000,
  );
  for (const a of attempts.map(ok)) {
    assert.equal(a.reused, false);
    assert.ok(a.tls);
    assert.equal(a.tls.sessionResumed, false);
    assert.equal(a.tls.version, 'TLSv1.2');
    assert.match(a.tls.cipher, /\w/);
    assert.equal(a.tls.alpnProtocol, undefined);
    // The CA expires later than the 2-day server certificate: the leaf is the earliest.
    assert.equal(a.tls.earliestCertExpiry, notAfter);
    assert.ok(a.phases.tlsMs !== undefined && a.phases.tlsMs > 0);
  }
});

test('control: the same target does resume when a client offers its session', async (t) => {
  const p = await pki(t);
  const url = new URL(await listen(t, { cert: p.server.cert, key: p.server.key, maxVersion: 'TLSv1.2' }));
  const connect = (session?: Buffer): Promise<{ resumed: boolean; session: Buffer | undefined }> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({
        host: url.hostname,
        port: Number(url.port),
        ca: p.ca.cert,
        ...(session ? { session } : {}),
      });
      s.once('secureConnect', () => {
        const out = { resumed: s.isSessionReused(), session: s.getSession() };
        s.end();
        resolve(out);
      });
      s.once('error', reject);
    });
  const first = await connect();
  assert.equal(first.resumed, false);
  assert.equal((await connect(first.session)).resumed, true);
});

test('with --reuse a kept-alive connection reports the TLS facts of its one handshake', async (t) => {
  const p = await pki(t);
  const url = await listen(t, { cert: p.server.cert, key: p.server.key });
  const attempts = (await probe(url, { tlsCaPem: p.ca.cert, reuseConnections: true }, 3)).map(ok);
  assert.deepEqual(
    attempts.map((a) => a.reused),
    [false, true, true],
  );
  for (const a of attempts) assert.equal(a.tls?.version, 'TLSv1.3');
  assert.equal(attempts[1]?.phases.tlsMs, undefined);
});

test('http:// targets carry no TLS facts and ignore TLS options', async () => {
  const { startTarget } = await import('./helpers/target.js');
  const target = await startTarget();
  try {
    const a = ok((await probe(`${target.url}/ok`, { tlsInsecure: true }))[0]);
    assert.equal(a.tls, undefined);
  } finally {
    await target.close();
  }
});

test('bad TLS fields are INVALID_ARGUMENT naming the field', async (t) => {
  const p = await pki(t);
  const base = { endpoint: 'https://127.0.0.1/', repetitions: 1 };
  const field = (extra: Partial<ProbeInput>): string => {
    try {
      validateProbeInput({ ...base, ...extra });
    } catch (err) {
      assert.ok(err instanceof InvalidArgumentError, String(err));
      return `${err.field}: ${err.message}`;
    }
    assert.fail('expected INVALID_ARGUMENT');
  };
  assert.match(field({ tlsCaPem: 'not a pem' }), /^tls_ca_pem: .*PEM certificate/);
  assert.match(
    field({ tlsCaPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }),
    /^tls_ca_pem: .*not a valid X.509/,
  );
  assert.match(field({ tlsCaPem: 'x'.repeat(MAX_PEM_BYTES + 1) }), /^tls_ca_pem: .*at most 65536 bytes/);
  assert.match(field({ tlsCertPem: p.client.cert }), /^tls_key_pem: .*required/);
  assert.match(field({ tlsKeyPem: p.client.key }), /^tls_cert_pem: .*required/);
  assert.match(field({ tlsCertPem: p.client.cert, tlsKeyPem: 'nope' }), /^tls_key_pem: .*not a PEM private key/);
  assert.match(field({ tlsCertPem: p.client.cert, tlsKeyPem: p.server.key }), /^tls_key_pem: .*does not match/);
  assert.match(field({ tlsServerName: '127.0.0.1' }), /^tls_server_name: /);
  assert.match(field({ tlsServerName: 'a b' }), /^tls_server_name: /);
  assert.match(field({ tlsMinVersion: '1.1' }), /^tls_min_version: .*"1.2" or "1.3"/);
  // The valid combination is a plain, structured-clone safe spec.
  const spec = validateProbeInput({ ...base, tlsInsecure: true, tlsCertPem: p.client.cert, tlsKeyPem: p.client.key });
  assert.deepEqual(structuredClone(spec.tls), spec.tls);
  assert.equal(validateProbeInput(base).tls, undefined);
});
