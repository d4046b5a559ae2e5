import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  abortError,
  attemptError,
  badStatusError,
  bodyLengthError,
  classifyError,
  classifyTimeout,
  declaredLengthError,
  ERROR_REASONS,
  InvalidArgumentError,
  isTemporaryStatus,
  resetError,
} from '../src/probe/index.js';

function sysErr(code: string, message = `${code} happened`, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

const fresh = { connected: false, secured: false };
const up = { connected: true, secured: false };
const ready = { connected: true, secured: true };

test('DNS codes: ENOTFOUND permanent, EAI_AGAIN temporary', () => {
  const nx = classifyError(sysErr('ENOTFOUND', 'getaddrinfo ENOTFOUND x.invalid', { syscall: 'getaddrinfo' }), fresh);
  assert.deepEqual([nx.reason, nx.temporary, nx.code], ['DNS', false, 'ENOTFOUND']);
  assert.match(nx.message, /x\.invalid/);
  const again = classifyError(sysErr('EAI_AGAIN', 'getaddrinfo EAI_AGAIN x', { syscall: 'getaddrinfo' }), fresh);
  assert.deepEqual([again.reason, again.temporary], ['DNS', true]);
  // A c-ares resolver's ECONNREFUSED is a DNS failure, not a refused TCP connect.
  const resolverDown = classifyError(sysErr('ECONNREFUSED', 'queryA ECONNREFUSED x', { syscall: 'queryA' }), fresh);
  assert.equal(resolverDown.reason, 'DNS');
});

test('connect-level codes', () => {
  assert.deepEqual(
    [classifyError(sysErr('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1', { syscall: 'connect' }), fresh)].map(
      (e) => [e.reason, e.temporary],
    ),
    [['CONNECT_REFUSED', true]],
  );
  assert.equal(classifyError(sysErr('ETIMEDOUT'), fresh).reason, 'CONNECT_TIMEOUT');
  assert.equal(classifyError(sysErr('ETIMEDOUT'), ready).reason, 'TIMEOUT');
  assert.equal(classifyError(sysErr('EHOSTUNREACH'), fresh).reason, 'UNREACHABLE');
  assert.equal(classifyError(sysErr('ENETUNREACH'), fresh).reason, 'UNREACHABLE');
});

test('TLS codes', () => {
  for (const code of [
    'ERR_TLS_CERT_ALTNAME_INVALID',
    'CERT_HAS_EXPIRED',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'ERR_SSL_WRONG_VERSION_NUMBER',
  ]) {
    const e = classifyError(sysErr(code), up);
    assert.equal(e.reason, 'TLS', code);
    assert.equal(e.temporary, false, code);
    assert.equal(e.code, code);
  }
  assert.equal(classifyError(sysErr('EPROTO'), up).reason, 'TLS');
  const cut = classifyError(
    sysErr('ECONNRESET', 'Client network socket disconnected before secure TLS connection was established'),
    up,
  );
  assert.deepEqual([cut.reason, cut.temporary], ['TLS', true]);
});

test('resets, protocol errors, and the rest', () => {
  for (const code of ['ECONNRESET', 'EPIPE']) assert.equal(classifyError(sysErr(code), ready).reason, 'RESET', code);
  assert.equal(classifyError(sysErr('ECONNRESET', 'socket hang up'), ready).temporary, true);
  assert.equal(classifyError(new Error('socket hang up'), ready).reason, 'RESET');
  const parse = classifyError(sysErr('HPE_INVALID_CONSTANT', 'Parse Error: Expected HTTP/'), ready);
  assert.deepEqual([parse.reason, parse.temporary, parse.code], ['PROTOCOL', false, 'HPE_INVALID_CONSTANT']);
  const other = classifyError(sysErr('EMFILE', 'too many open files'), fresh);
  assert.deepEqual([other.reason, other.code], ['OTHER', 'EMFILE']);
  assert.match(other.message, /too many open files/);
  assert.equal(classifyError('weird', fresh).reason, 'OTHER');
});

test('every classified reason is a known ErrorReason', () => {
  const samples = [
    'ENOTFOUND',
    'ECONNREFUSED',
    'ETIMEDOUT',
    'CERT_HAS_EXPIRED',
    'ECONNRESET',
    'HPE_X',
    'EHOSTUNREACH',
    'EWHATEVER',
  ];
  for (const code of samples) {
    assert.ok((ERROR_REASONS as readonly string[]).includes(classifyError(sysErr(code), fresh).reason));
  }
});

test('temporary statuses: 5xx and 429', () => {
  assert.equal(isTemporaryStatus(500), true);
  assert.equal(isTemporaryStatus(503), true);
  assert.equal(isTemporaryStatus(429), true);
  assert.equal(isTemporaryStatus(404), false);
  assert.equal(isTemporaryStatus(302), false);
});

test('InvalidArgumentError carries code and field', () => {
  const e = new InvalidArgumentError('timeout', 'timeout must be ...');
  assert.ok(e instanceof Error);
  assert.equal(e.code, 'INVALID_ARGUMENT');
  assert.equal(e.field, 'timeout');
  assert.equal(e.name, 'InvalidArgumentError');
});

test("messages are one line: OpenSSL's multi-line errors are folded", () => {
  // What Node reports for https:// against a plain HTTP port.
  const openssl = sysErr(
    'EPROTO',
    'write EPROTO 80DC2D13A07F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n',
  );
  const e = classifyError(openssl, up);
  assert.equal(e.reason, 'TLS');
  assert.doesNotMatch(e.message, /[\r\n]/);
  assert.match(e.message, /wrong version number.*ssl3_record\.c:350:$/);
  assert.equal(classifyError(sysErr('EFOO', 'first line\r\n  second line'), ready).message, 'first line second line');
});

const url = new URL('http://probe.example:8080/x');
const limit = { timeoutMs: 250 };
const stage = { connected: false, secured: false, lookedUp: false, responded: false, bodyBytes: 0 };

test('timeout while the name is resolving is DNS; after the lookup, CONNECT_TIMEOUT', () => {
  const dns = classifyTimeout(stage, url, limit);
  assert.deepEqual([dns.reason, dns.temporary, dns.code], ['DNS', true, 'ETIMEOUT']);
  assert.equal(dns.message, 'DNS lookup of probe.example did not finish within 250 ms');
  const connect = classifyTimeout({ ...stage, lookedUp: true }, url, limit);
  assert.deepEqual([connect.reason, connect.temporary, connect.code], ['CONNECT_TIMEOUT', true, 'ETIMEDOUT']);
  assert.equal(connect.message, 'TCP connect to probe.example:8080 did not finish within 250 ms');
});

test('an IP literal is never resolving: its timeout before connect is CONNECT_TIMEOUT', () => {
  for (const literal of ['http://127.0.0.1:9/', 'http://[::1]:9/']) {
    assert.equal(classifyTimeout(stage, new URL(literal), limit).reason, 'CONNECT_TIMEOUT', literal);
  }
});

test('timeout once connected is TIMEOUT, naming the stage', () => {
  const up = { ...stage, connected: true, lookedUp: true };
  const tls = classifyTimeout(up, url, { timeoutMs: 1234.56 });
  assert.deepEqual([tls.reason, tls.temporary, tls.code], ['TIMEOUT', true, 'ETIMEDOUT']);
  assert.equal(tls.message, 'timed out after 1234.6 ms during the TLS handshake');
  const headers = classifyTimeout({ ...up, secured: true }, url, limit);
  assert.equal(headers.message, 'timed out after 250 ms waiting for response headers');
  const body = classifyTimeout({ ...up, secured: true, responded: true, bodyBytes: 42 }, url, limit);
  assert.equal(body.message, 'timed out after 250 ms reading the body (42 bytes so far)');
});

test('a deadline timeout is ABORTED at any stage', () => {
  const deadline = { timeoutMs: 250, timeoutIsDeadline: true };
  for (const s of [stage, { ...stage, connected: true, secured: true, responded: true }]) {
    const e = classifyTimeout(s, url, deadline);
    assert.deepEqual([e.reason, e.temporary, e.code], ['ABORTED', true, undefined]);
    assert.equal(e.message, "attempt aborted after 250 ms: the call's deadline arrived");
    assert.equal('code' in e, false);
  }
});

test('attemptError leaves code out rather than undefined', () => {
  assert.deepEqual(attemptError('OTHER', 'x', false), { reason: 'OTHER', message: 'x', temporary: false });
  assert.equal('code' in attemptError('OTHER', 'x', false), false);
  assert.equal(attemptError('RESET', 'y', true, 'EPIPE').code, 'EPIPE');
});

test('abort, reset, status and body-size errors', () => {
  assert.equal(abortError(true).message, 'attempt aborted: the call was cancelled');
  assert.equal(abortError(false).message, 'attempt aborted before it started: the call was cancelled');
  assert.deepEqual([abortError(true).reason, abortError(true).temporary], ['ABORTED', true]);
  assert.deepEqual(resetError('response'), {
    reason: 'RESET',
    message: 'connection closed before the response completed',
    temporary: true,
    code: 'ECONNRESET',
  });
  assert.equal(resetError('body').message, 'connection closed before the body was complete');

  const ranges = [
    { min: 200, max: 299 },
    { min: 304, max: 304 },
  ];
  assert.deepEqual(badStatusError(503, ranges), {
    reason: 'BAD_STATUS',
    message: 'status 503 is not in the expected 200-299, 304',
    temporary: true,
  });
  assert.equal(badStatusError(404, ranges).temporary, false);

  assert.equal(declaredLengthError('GET', '10', 10), undefined);
  assert.equal(declaredLengthError('GET', undefined, 10), undefined);
  assert.equal(declaredLengthError('HEAD', '11', 10), undefined);
  const declared = declaredLengthError('GET', '11', 10);
  assert.deepEqual(declared, {
    reason: 'BODY_TOO_LARGE',
    message: 'response body of 11 bytes (content-length) exceeds the limit of 10 bytes',
    temporary: false,
  });
  assert.equal(bodyLengthError(10, 10), undefined);
  assert.equal(bodyLengthError(12, 10)?.message, 'response body (over 12 bytes read) exceeds the limit of 10 bytes');
});
