// The predicates that name TLS and token failures, on grpc-js's own wording
// (samples as grpc-js 1.14 / Node 20 report them), and the CLI's words for them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import {
  isClientCertificateRequired,
  isExpiredCertificate,
  isHandshakeClosed,
  isPlaintextServer,
  nameMismatch,
  ProberRpcError,
  transportFailure,
  untrustedCertificate,
} from '../src/client/index.js';
import { describeRpcError } from '../src/cli/outcome.js';

const NOTE = '. Resolution note: ';
const SAMPLES = {
  untrusted: `No connection established. Last error: Error: unable to verify the first certificate${NOTE}`,
  selfSigned: `No connection established. Last error: Error: self-signed certificate in certificate chain${NOTE}`,
  expired: `No connection established. Last error: Error: certificate has expired${NOTE}`,
  mismatch:
    "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: example.com. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1. Resolution note: ",
  ipMismatch:
    "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: IP: 10.0.0.1 is not in the cert's list: 127.0.0.1. Resolution note: ",
  certRequired:
    'No connection established. Last error: 800CE4F4D27F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-01-01T00:00:00.000Z). Resolution note: ',
  notTls:
    'No connection established. Last error: Error: 805C81F6F87F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ',
  closed: 'No connection established. Last error: Failed to connect (2026-01-01T00:00:00.000Z). Resolution note: ',
  refused: `No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1${NOTE}`,
};

test('each predicate matches its sample and no other', () => {
  const preds: Array<[string, (d: string) => unknown]> = [
    ['untrusted', (d) => untrustedCertificate(d) !== undefined],
    ['expired', isExpiredCertificate],
    ['mismatch', (d) => nameMismatch(d) !== undefined],
    ['certRequired', isClientCertificateRequired],
    ['notTls', isPlaintextServer],
    ['closed', isHandshakeClosed],
  ];
  for (const [name, pred] of preds) {
    for (const [sample, text] of Object.entries(SAMPLES)) {
      const expected =
        sample === name ||
        (name === 'untrusted' && sample === 'selfSigned') ||
        (name === 'mismatch' && sample === 'ipMismatch');
      assert.equal(Boolean(pred(text)), expected, `${name} on ${sample}`);
    }
  }
  assert.deepEqual(nameMismatch(SAMPLES.mismatch), {
    requested: 'example.com',
    certNames: 'DNS:localhost, IP Address:127.0.0.1',
  });
  assert.deepEqual(nameMismatch(SAMPLES.ipMismatch), { requested: '10.0.0.1', certNames: '127.0.0.1' });
});

test('transportFailure: only UNAVAILABLE details are read; UNAUTHENTICATED is a token failure; the rest is left alone', () => {
  const err = (code: status, d: string): ProberRpcError => new ProberRpcError(code, d);
  assert.equal(transportFailure(err(status.UNAVAILABLE, SAMPLES.selfSigned))?.kind, 'untrusted');
  assert.equal(transportFailure(err(status.UNAUTHENTICATED, 'token not recognised'))?.kind, 'token-rejected');
  assert.equal(transportFailure(err(status.UNAVAILABLE, SAMPLES.refused)), undefined);
  assert.equal(transportFailure(err(status.INTERNAL, SAMPLES.selfSigned)), undefined);
});

test('describeRpcError: one line per failure; an unmatched one keeps the raw details', () => {
  const d = (details: string, code = status.UNAVAILABLE, ctx = { tls: true, clientCert: false, token: true }): string =>
    describeRpcError(new ProberRpcError(code, details), 'h:1', ctx);
  assert.equal(
    d(SAMPLES.untrusted),
    'prober at h:1: certificate not trusted: unable to verify the first certificate (is --ca right?)',
  );
  assert.equal(
    d(SAMPLES.mismatch),
    'prober at h:1: name mismatch: certificate is for DNS:localhost, IP Address:127.0.0.1, not example.com (use --server-name)',
  );
  assert.equal(d(SAMPLES.certRequired), 'prober at h:1: server requires a client certificate (--cert/--key)');
  assert.equal(
    d('token not recognised', status.UNAUTHENTICATED),
    'prober at h:1: token rejected (UNAUTHENTICATED: token not recognised)',
  );
  assert.match(
    d(SAMPLES.refused),
    /^prober at h:1: UNAVAILABLE: No connection established\. Last error: Error: connect ECONNREFUSED 127\.0\.0\.1:1\.$/,
  );
  for (const s of Object.values(SAMPLES)) assert.ok(!d(s).includes('\n'));
});
