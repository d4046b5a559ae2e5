// The target TLS flags of the CLI (embedded prober): --cacert, -k,
// --target-cert/--target-key, --sni, --tls-min; the human and JSON attempt
// lines carry the TLS facts; a bad file or PEM is a usage error (exit 2).
import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { run } from '../src/cli/run.js';
import { createPki, type Pki } from './helpers/certs.js';
import { testIo } from './helpers/cli-io.js';

let pki: Pki;
let mtls: https.Server;
let url: string;

before(async () => {
  pki = await createPki();
  mtls = https.createServer(
    { cert: pki.server.cert, key: pki.server.key, ca: pki.ca.cert, requestCert: true, rejectUnauthorized: true },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((resolve) => mtls.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(mtls.address() as AddressInfo).port}/`;
});
after(async () => {
  mtls.closeAllConnections();
  await new Promise((resolve) => mtls.close(resolve));
  await pki.cleanup();
});

async function cli(cmd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = testIo();
  const code = await run([cmd, url, '-n', '1', ...args], io);
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}

const client = (): string[] => ['--target-cert', pki.client.certFile, '--target-key', pki.client.keyFile];

test('--cacert and a client certificate reach an mTLS target; the attempt line says TLSv1.3', async () => {
  const r = await cli('stream', ['--cacert', pki.ca.certFile, ...client()]);
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /TLSv1\.3/);
});

test('--json attempt lines carry the TLS facts', async () => {
  const r = await cli('stream', ['--cacert', pki.ca.certFile, ...client(), '--json']);
  assert.equal(r.code, 0, r.err);
  const attempt = JSON.parse(r.out.split('\n')[0] ?? '') as { tls: Record<string, unknown> };
  assert.equal(attempt.tls.version, 'TLSv1.3');
  assert.equal(attempt.tls.sessionResumed, false);
  assert.equal(typeof attempt.tls.earliestCertExpiry, 'number');
});

test('without --cacert: a TLS failure, certificate not trusted; -k gets past it', async () => {
  const r = await cli('stream', client());
  assert.equal(r.code, 1);
  assert.match(r.out, /TLS.*certificate not trusted/);
  assert.equal((await cli('probe', ['-k', ...client()])).code, 0);
});

test('--sni other than the certificate names fails; --tls-min 1.3 is accepted', async () => {
  assert.equal((await cli('probe', ['--cacert', pki.ca.certFile, ...client(), '--sni', 'nobody.test'])).code, 1);
  assert.equal((await cli('probe', ['--cacert', pki.ca.certFile, ...client(), '--tls-min', '1.3'])).code, 0);
});

test('usage errors: a missing file, a bad PEM, --target-cert without --target-key, a bad --tls-min', async () => {
  const missing = await cli('probe', ['--cacert', join(pki.dir, 'nope.pem')]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--cacert.*cannot read/);
  const junk = join(pki.dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate\n');
  const bad = await cli('probe', ['--cacert', junk]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /tls_ca_pem|--cacert/);
  const half = await cli('probe', ['--target-cert', pki.client.certFile]);
  assert.equal(half.code, 2);
  assert.match(half.err, /tls_key_pem|--target-key/);
  const min = await cli('probe', ['--tls-min', '1.1']);
  assert.equal(min.code, 2);
  assert.match(min.err, /1\.2" or "1\.3/);
});
