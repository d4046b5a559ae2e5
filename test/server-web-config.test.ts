// --web-config: the exporter-toolkit file format (every key, bad values,
// unknown keys), basic auth and its cache, and the metrics port over TLS,
// with client certificates and basic auth, including a reload under load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Registry } from 'prom-client';
import { isConfigError } from '../src/common/errors.js';
import { createBasicAuth, parseBasicAuth, AUTH_CACHE_SIZE } from '../src/server/basic-auth.js';
import { resolveServerConfig } from '../src/server/config.js';
import { startMetricsServer, type RunningMetricsServer } from '../src/server/http.js';
import { loadWebConfig } from '../src/server/web-config.js';
import { testPki, type CertPair, type Pki } from './helpers/certs.js';
import { startTarget } from './helpers/target.js';

const HASH = bcrypt.hashSync('secret', 4);

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'prober-webcfg-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function tlsYaml(pki: Pki, extra = ''): string {
  return `tls_server_config:\n  cert_file: ${pki.server.certFile}\n  key_file: ${pki.server.keyFile}\n${extra}`;
}

/** ConfigError naming --web-config whose message matches. */
function rejects(file: string, pattern: RegExp): void {
  assert.throws(
    () => loadWebConfig(file),
    (err: unknown) => {
      assert.ok(isConfigError(err), String(err));
      assert.equal(err.option, '--web-config');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('web config: an empty file is plain HTTP without users; a missing one names the file', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'web.yml');
  await writeFile(file, '');
  const web = loadWebConfig(file);
  assert.equal(web.tls, undefined);
  assert.equal(web.users.size, 0);
  assert.deepEqual(web.headers, {});
  rejects(join(dir, 'nope.yml'), /nope\.yml: no such file/);
});

test('web config: every key of tls_server_config, http_server_config and basic_auth_users', async (t) => {
  const pki = await testPki(t);
  const file = join(pki.dir, 'web.yml');
  await writeFile(
    file,
    `${tlsYaml(
      pki,
      `  client_ca_file: ${pki.ca.certFile}
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [prober-test-client, "spiffe://x"]
  min_version: TLS13
  max_version: TLS13
  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]
  prefer_server_cipher_suites: false
  curve_preferences: [X25519, CurveP256]
`,
    )}http_server_config:
  http2: true
  headers:
    X-Frame-Options: deny
    X-Content-Type-Options: nosniff
    Strict-Transport-Security: max-age=31536000
    Content-Security-Policy: ""
basic_auth_users:
  alice: ${HASH}
  bob: "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"
`,
  );
  const web = loadWebConfig(file);
  const tls = web.tls!;
  assert.equal(tls.cert, pki.server.cert);
  assert.equal(tls.clientCa, pki.ca.cert);
  assert.equal(tls.clientAuth, 'RequireAndVerifyClientCert');
  assert.deepEqual(tls.clientAllowedSans, ['prober-test-client', 'spiffe://x']);
  assert.equal(tls.minVersion, 'TLSv1.3');
  assert.equal(tls.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  assert.equal(tls.honorCipherOrder, false);
  assert.equal(tls.ecdhCurve, 'X25519:P-256');
  assert.deepEqual(web.headers, {
    'X-Frame-Options': 'deny',
    'X-Content-Type-Options': 'nosniff',
    'Strict-Transport-Security': 'max-age=31536000',
  });
  assert.deepEqual([...web.users.keys()], ['alice', 'bob']);
  assert.deepEqual(web.warnings, [
    'tls_server_config.cipher_suites: TLS_AES_128_GCM_SHA256 ignored (TLS 1.3 suites are not configurable)',
  ]);
});

test('web config: inline PEM, paths relative to the file, defaults', async (t) => {
  const pki = await testPki(t);
  const file = join(pki.dir, 'web.yml');
  const rel = (p: string): string => p.slice(pki.dir.length + 1);
  await writeFile(
    file,
    `tls_server_config:\n  cert_file: ${rel(pki.server.certFile)}\n  key: |\n${pki.server.key
      .trim()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n  client_auth_type: RequireClientCert\n`,
  );
  const tls = loadWebConfig(file).tls!;
  assert.equal(tls.key.trim(), pki.server.key.trim());
  assert.equal(tls.clientAuth, 'RequireAnyClientCert');
  assert.equal(tls.minVersion, 'TLSv1.2');
  assert.equal(tls.maxVersion, 'TLSv1.3');
  assert.equal(tls.honorCipherOrder, true);
});

test('web config: bad values and unknown keys name the file and the key', async (t) => {
  const pki = await testPki(t);
  const file = join(pki.dir, 'web.yml');
  const rogue: CertPair = pki.client;
  const cases: Array<[string, RegExp]> = [
    ['foo: 1\n', /web\.yml: foo: unknown key/],
    ['tls_server_config:\n  cert_fil: x\n', /tls_server_config\.cert_fil: unknown key/],
    ['http_server_config:\n  http3: true\n', /http_server_config\.http3: unknown key/],
    ['tls_server_config: [1]\n', /tls_server_config: must be a mapping/],
    ['a: [\n', /not valid YAML/],
    ['basic_auth_users:\n  a: x\n  a: y\n', /not valid YAML/],
    ['- 1\n', /must be a mapping/],
    [tlsYaml(pki).replace(pki.server.certFile, '/nonexistent/c.pem'), /tls_server_config\.cert_file: no such file/],
    [tlsYaml(pki).replace(pki.server.keyFile, rogue.keyFile), /cannot use the certificate and key/],
    [`tls_server_config:\n  cert_file: ${pki.server.certFile}\n`, /missing one of key or key_file/],
    [`tls_server_config:\n  key_file: ${pki.server.keyFile}\n`, /missing one of cert or cert_file/],
    ['tls_server_config:\n  min_version: TLS13\n', /TLS settings without cert_file and key_file/],
    [tlsYaml(pki, `  cert: x\n`), /tls_server_config\.cert_file: set cert or cert_file, not both/],
    [tlsYaml(pki, '  client_auth_type: Always\n'), /client_auth_type: unknown "Always"/],
    [
      tlsYaml(pki, `  client_ca_file: ${pki.ca.certFile}\n`),
      /client_ca_file is set but client_auth_type is NoClientCert/,
    ],
    [tlsYaml(pki, '  client_auth_type: RequireAndVerifyClientCert\n'), /client_ca_file: required by RequireAndVerify/],
    [
      tlsYaml(pki, `  client_ca_file: ${pki.server.keyFile}\n  client_auth_type: VerifyClientCertIfGiven\n`),
      /client_ca_file: not a PEM certificate/,
    ],
    [tlsYaml(pki, '  client_allowed_sans: [a]\n'), /client_allowed_sans: needs client_auth_type/],
    [tlsYaml(pki, '  min_version: TLS14\n'), /min_version: unknown TLS version "TLS14"/],
    [tlsYaml(pki, '  min_version: TLS13\n  max_version: TLS12\n'), /min_version: TLSv1\.3 is above max_version/],
    [tlsYaml(pki, '  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n'), /cipher_suites: unknown cipher/],
    [tlsYaml(pki, '  cipher_suites: TLS_AES_128_GCM_SHA256\n'), /cipher_suites: must be a list of strings/],
    [tlsYaml(pki, '  curve_preferences: [P256]\n'), /curve_preferences: unknown curve "P256"/],
    [tlsYaml(pki, '  prefer_server_cipher_suites: "yes"\n'), /prefer_server_cipher_suites: must be true or false/],
    ['http_server_config:\n  headers:\n    Server: x\n', /headers\.Server: header can not be configured/],
    [
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      /X-Frame-Options: must be one of deny, sameorigin/,
    ],
    ['http_server_config:\n  http2: 1\n', /http2: must be true or false/],
    ['basic_auth_users:\n  alice: plaintext\n', /basic_auth_users\.alice: must be a bcrypt hash/],
    ['basic_auth_users:\n  alice: 12\n', /basic_auth_users\.alice: must be a bcrypt hash/],
    ['basic_auth_users: [alice]\n', /basic_auth_users: must be a mapping/],
    ['rate_limit:\n  interval: 1s\n', /rate_limit: not supported/],
  ];
  for (const [yaml, pattern] of cases) {
    await writeFile(file, yaml);
    rejects(file, pattern);
  }
  // A hash that fails the check is never echoed.
  await writeFile(file, 'basic_auth_users:\n  alice: hunter2hunter2\n');
  assert.throws(
    () => loadWebConfig(file),
    (err: Error) => !err.message.includes('hunter2'),
  );
});

test('resolveServerConfig reads --web-config once and blames the flag', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'web.yml');
  await writeFile(file, `basic_auth_users:\n  alice: ${HASH}\n`);
  const names = { 'observability.metrics.webConfigFile': '--web-config' } as const;
  const settings = resolveServerConfig(
    { observability: { metrics: { listen: '127.0.0.1:0', webConfigFile: file } } },
    { names },
  );
  assert.equal(settings.metrics?.http?.web?.users.get('alice'), HASH);
  assert.throws(
    () => resolveServerConfig({ observability: { metrics: { webConfigFile: file } } }, { names }),
    (err: unknown) => isConfigError(err) && err.option === '--web-config' && /not open/.test(err.message),
  );
});

test('basic auth: header parsing as Go does it', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  assert.deepEqual(parseBasicAuth(`Basic ${b64('alice:pa:ss')}`), { user: 'alice', password: 'pa:ss' });
  assert.deepEqual(parseBasicAuth(`basic ${b64('a:')}`), { user: 'a', password: '' });
  assert.equal(parseBasicAuth(undefined), undefined);
  assert.equal(parseBasicAuth(`Bearer ${b64('a:b')}`), undefined);
  assert.equal(parseBasicAuth(`Basic ${b64('nocolon')}`), undefined);
  assert.equal(parseBasicAuth('Basic !!!!'), undefined);
});

test('basic auth: verdicts cached per (user, hash, password), bounded; unknown users cost a bcrypt too', async () => {
  let compares = 0;
  const auth = createBasicAuth(async (password, hash) => {
    compares++;
    return bcrypt.compare(password, hash);
  });
  const users = new Map([['alice', HASH]]);
  const header = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  assert.equal(await auth.check(users, header('alice', 'secret')), 'ok');
  assert.equal(await auth.check(users, header('alice', 'secret')), 'ok');
  assert.equal(compares, 1, 'second check from the cache');
  assert.equal(await auth.check(users, header('alice', 'wrong')), 'denied');
  assert.equal(await auth.check(users, header('mallory', 'fakepassword')), 'denied');
  assert.equal(compares, 3, 'an unknown user is checked against the decoy hash');
  assert.equal(await auth.check(users, undefined), 'denied');
  // A new hash for alice (config reloaded): not served from the old entry.
  const rehashed = new Map([['alice', bcrypt.hashSync('other', 4)]]);
  assert.equal(await auth.check(rehashed, header('alice', 'secret')), 'denied');
  for (let i = 0; i < AUTH_CACHE_SIZE * 2; i++) await auth.check(users, header('alice', `guess${i}`));
  assert.ok(auth.cached <= AUTH_CACHE_SIZE, `cache holds ${auth.cached}`);
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  fingerprint?: string;
}

function get(url: string, options: https.RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { agent: false, ...options }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function metricsPort(
  t: { after(fn: () => unknown): void },
  file: string,
  yaml: string,
): Promise<RunningMetricsServer> {
  await writeFile(file, yaml);
  const registry = new Registry();
  const srv = await startMetricsServer({ listen: '127.0.0.1:0', registry, webConfigFile: file });
  t.after(() => srv.close());
  return srv;
}

test('TLS + basic auth: every path needs the password; 401 says Basic; headers on every answer', async (t) => {
  const pki = await testPki(t);
  const target = await startTarget();
  t.after(() => target.close());
  const file = join(pki.dir, 'web.yml');
  const yaml = `${tlsYaml(pki)}basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n`;
  const srv = await metricsPort(t, file, yaml);
  assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = pki.ca.cert;
  const probe = `/probe?target=${encodeURIComponent(`${target.url}/ok`)}`;
  for (const path of ['/metrics', probe, '/-/healthy', '/']) {
    const anon = await get(`${srv.url}${path}`, { ca });
    assert.equal(anon.status, 401, path);
    assert.equal(anon.headers['www-authenticate'], 'Basic');
    assert.equal(anon.headers['x-content-type-options'], 'nosniff');
    assert.equal((await get(`${srv.url}${path}`, { ca, auth: 'alice:wrong' })).status, 401, path);
    assert.equal((await get(`${srv.url}${path}`, { ca, auth: 'bob:secret' })).status, 401, path);
    const ok = await get(`${srv.url}${path}`, { ca, auth: 'alice:secret' });
    assert.equal(ok.status, 200, path);
    assert.equal(ok.headers['x-content-type-options'], 'nosniff');
  }
  assert.match((await get(`${srv.url}${probe}`, { ca, auth: 'alice:secret' })).body, /probe_success 1/);
  // The server certificate is checked against the CA and the name: a client without the CA refuses.
  await assert.rejects(get(`${srv.url}/metrics`), /unable to verify|self-signed|local issuer/);
});

test('mTLS: RequireAndVerifyClientCert fails the handshake without a certificate or with one from another CA', async (t) => {
  const pki = await testPki(t);
  const rogueCa = await pki.newCa('rogue CA');
  const rogue = await pki.issue({ cn: 'rogue', usage: 'client', ca: rogueCa });
  const file = join(pki.dir, 'web.yml');
  const srv = await metricsPort(
    t,
    file,
    tlsYaml(pki, `  client_ca_file: ${pki.ca.certFile}\n  client_auth_type: RequireAndVerifyClientCert\n`),
  );
  const ca = pki.ca.cert;
  await assert.rejects(get(`${srv.url}/metrics`, { ca }), /certificate required|ECONNRESET|socket hang up/);
  await assert.rejects(
    get(`${srv.url}/metrics`, { ca, cert: rogue.cert, key: rogue.key }),
    /unknown ca|ECONNRESET|socket hang up/,
  );
  const ok = await get(`${srv.url}/metrics`, { ca, cert: pki.client.cert, key: pki.client.key });
  assert.equal(ok.status, 200);
});

test('client auth types: RequireAnyClientCert, VerifyClientCertIfGiven, client_allowed_sans', async (t) => {
  const pki = await testPki(t);
  const rogueCa = await pki.newCa('rogue CA');
  const rogue = await pki.issue({ cn: 'rogue', usage: 'client', ca: rogueCa, sans: ['DNS:rogue'] });
  const named = await pki.issue({ cn: 'scraper', usage: 'client', sans: ['DNS:scraper.example'] });
  const file = join(pki.dir, 'web.yml');
  const ca = pki.ca.cert;
  const hangsUp = /ECONNRESET|socket hang up|unknown ca|certificate/;

  const any = await metricsPort(t, file, tlsYaml(pki, '  client_auth_type: RequireAnyClientCert\n'));
  await assert.rejects(get(`${any.url}/metrics`, { ca }), hangsUp);
  assert.equal((await get(`${any.url}/metrics`, { ca, cert: rogue.cert, key: rogue.key })).status, 200);

  const ifGiven = await metricsPort(
    t,
    join(pki.dir, 'web2.yml'),
    tlsYaml(pki, `  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${pki.ca.certFile}\n`),
  );
  assert.equal((await get(`${ifGiven.url}/metrics`, { ca })).status, 200);
  await assert.rejects(get(`${ifGiven.url}/metrics`, { ca, cert: rogue.cert, key: rogue.key }), hangsUp);
  assert.equal((await get(`${ifGiven.url}/metrics`, { ca, cert: named.cert, key: named.key })).status, 200);

  const sans = await metricsPort(
    t,
    join(pki.dir, 'web3.yml'),
    tlsYaml(
      pki,
      `  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.ca.certFile}\n  client_allowed_sans: [scraper.example]\n`,
    ),
  );
  assert.equal((await get(`${sans.url}/metrics`, { ca, cert: named.cert, key: named.key })).status, 200);
  await assert.rejects(get(`${sans.url}/metrics`, { ca, cert: pki.client.cert, key: pki.client.key }), hangsUp);
});

test('reload: a new certificate and users for new connections; a running /probe finishes; a bad file changes nothing', async (t) => {
  const pki = await testPki(t);
  const target = await startTarget();
  t.after(() => target.close());
  const next = await pki.issue({ cn: 'localhost', usage: 'server' });
  const file = join(pki.dir, 'web.yml');
  const srv = await metricsPort(t, file, `${tlsYaml(pki)}basic_auth_users:\n  alice: ${HASH}\n`);
  const ca = pki.ca.cert;
  const before = await get(`${srv.url}/metrics`, { ca, auth: 'alice:secret' });
  assert.equal(before.status, 200);

  // A slow probe on a connection made before the reload.
  const slow = get(`${srv.url}/probe?target=${encodeURIComponent(`${target.url}/delay/800`)}`, {
    ca,
    auth: 'alice:secret',
  });
  await new Promise((r) => setTimeout(r, 200));
  const swapped = tlsYaml(pki).replace(pki.server.certFile, next.certFile).replace(pki.server.keyFile, next.keyFile);
  await writeFile(file, `${swapped}basic_auth_users:\n  bob: ${HASH}\n`);
  srv.reloadWebConfig();
  const running = await slow;
  assert.equal(running.status, 200, 'the request running during the reload completes');
  assert.match(running.body, /probe_success 1/);

  const after = await get(`${srv.url}/metrics`, { ca, auth: 'bob:secret' });
  assert.equal(after.status, 200);
  assert.notEqual(after.fingerprint, before.fingerprint, 'new connections get the new certificate');
  assert.equal((await get(`${srv.url}/metrics`, { ca, auth: 'alice:secret' })).status, 401);

  await writeFile(file, `${swapped}basic_auth_users:\n  bob: nothash\n`);
  assert.throws(() => srv.reloadWebConfig(), /basic_auth_users\.bob: must be a bcrypt hash/);
  await writeFile(file, '');
  assert.throws(() => srv.reloadWebConfig(), /TLS can not be turned on or off by a reload/);
  assert.equal((await get(`${srv.url}/metrics`, { ca, auth: 'bob:secret' })).status, 200, 'old config kept');
});
