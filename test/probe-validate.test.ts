import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_CONTINUOUS_INTERVAL_MS,
  DEFAULT_LIMITS,
  InvalidArgumentError,
  validateProbeInput,
  type ProbeInput,
  type ProbeLimits,
} from '../src/probe/index.js';
import { assumeModuleCompletes } from '../src/probe/validate.js';

const ok: ProbeInput = { endpoint: 'http://127.0.0.1:8080/ok', repetitions: 3 };

function rejects(input: unknown, field: string, pattern: RegExp, limits: ProbeLimits = DEFAULT_LIMITS): void {
  assert.throws(
    () => validateProbeInput(input as ProbeInput, limits),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(err)}`);
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.field, field);
      assert.match(err.message, pattern);
      assert.ok(err.message.startsWith(field), `message should name the field: ${err.message}`);
      return true;
    },
  );
}

test('defaults are filled in', () => {
  const spec = validateProbeInput(ok, DEFAULT_LIMITS);
  assert.equal(spec.url.href, 'http://127.0.0.1:8080/ok');
  assert.equal(spec.method, 'GET');
  assert.equal(spec.repetitions, 3);
  assert.equal(spec.timeoutMs, 5000);
  assert.equal(spec.intervalMs, 0);
  assert.equal(spec.concurrency, 1);
  assert.equal(spec.reuseConnections, false);
  assert.deepEqual(spec.expectedStatus, [{ min: 200, max: 399 }]);
  assert.equal(spec.maxBodyBytes, 10 * 1024 * 1024);
});

test('a continuous run without an interval is polite: 1 s apart; finite runs and an explicit 0 are back to back', () => {
  const streaming = { ...DEFAULT_LIMITS, allowContinuous: true };
  assert.equal(DEFAULT_CONTINUOUS_INTERVAL_MS, 1000);
  assert.equal(validateProbeInput({ ...ok, repetitions: 0 }, streaming).intervalMs, 1000);
  assert.equal(validateProbeInput({ ...ok, repetitions: 0, intervalMs: 0 }, streaming).intervalMs, 0);
  assert.equal(validateProbeInput({ ...ok, repetitions: 0, intervalMs: 250 }, streaming).intervalMs, 250);
  assert.equal(validateProbeInput({ ...ok, repetitions: 5 }, streaming).intervalMs, 0);
});

test('DEFAULT_LIMITS match the documented values', () => {
  assert.deepEqual(
    { ...DEFAULT_LIMITS },
    {
      maxRepetitions: 10000,
      maxConcurrency: 100,
      maxTimeoutMs: 60000,
      defaultTimeoutMs: 5000,
      maxIntervalMs: 3600000,
      maxBodyBytes: 10485760,
      maxUrlBytes: 8192,
      allowContinuous: false,
      maxHeaders: 64,
      maxHeaderBytes: 16384,
      maxRequestBodyBytes: 1048576,
    },
  );
});

test('explicit values are kept; concurrency 0 means 1; status max 0 means min', () => {
  const spec = validateProbeInput(
    {
      endpoint: 'https://example.test:8443/path?q=1#frag',
      repetitions: 10000,
      timeoutMs: 60000,
      intervalMs: 3600000,
      concurrency: 0,
      reuseConnections: true,
      expectedStatus: [
        { min: 204, max: 0 },
        { min: 500, max: 599 },
      ],
      method: 'HEAD',
    },
    DEFAULT_LIMITS,
  );
  assert.equal(spec.url.protocol, 'https:');
  assert.equal(spec.url.hash, '');
  assert.equal(spec.url.search, '?q=1');
  assert.equal(spec.concurrency, 1);
  assert.equal(spec.reuseConnections, true);
  assert.equal(spec.method, 'HEAD');
  assert.deepEqual(spec.expectedStatus, [
    { min: 204, max: 204 },
    { min: 500, max: 599 },
  ]);
  assert.equal(validateProbeInput({ ...ok, concurrency: 100 }, DEFAULT_LIMITS).concurrency, 100);
  assert.equal(validateProbeInput({ ...ok, expectedStatus: [] }, DEFAULT_LIMITS).expectedStatus[0]?.max, 399);
});

test('endpoint: bad URLs name the field', () => {
  rejects({ ...ok, endpoint: 'ftp://x' }, 'endpoint', /absolute http:\/\/ or https:\/\/ URL \(got "ftp:\/\/x"\)/);
  rejects({ ...ok, endpoint: 'not a url' }, 'endpoint', /got "not a url"/);
  rejects({ ...ok, endpoint: '/relative/path' }, 'endpoint', /absolute/);
  rejects({ ...ok, endpoint: '' }, 'endpoint', /got nothing/);
  rejects({ ...ok, endpoint: undefined }, 'endpoint', /got nothing/);
  rejects({ ...ok, endpoint: 42 }, 'endpoint', /absolute/);
  rejects({ ...ok, endpoint: 'file:///etc/passwd' }, 'endpoint', /absolute/);
  rejects({ ...ok, endpoint: 'http://' }, 'endpoint', /endpoint/);
  rejects({ ...ok, endpoint: `http://${'a'.repeat(500)} x` }, 'endpoint', /\.\.\."\)$/);
});

test('repetitions: range, integer, continuous only when allowed', () => {
  rejects({ ...ok, repetitions: 0 }, 'repetitions', /^repetitions must be between 1 and 10000 \(got 0\)$/);
  rejects({ ...ok, repetitions: 10001 }, 'repetitions', /between 1 and 10000 \(got 10001\)/);
  rejects({ ...ok, repetitions: -1 }, 'repetitions', /got -1/);
  rejects({ ...ok, repetitions: 1.5 }, 'repetitions', /whole number between 1 and 10000 \(got 1.5\)/);
  rejects({ ...ok, repetitions: Number.NaN }, 'repetitions', /got NaN/);
  rejects({ ...ok, repetitions: Number.POSITIVE_INFINITY }, 'repetitions', /got Infinity/);
  rejects({ ...ok, repetitions: '3' }, 'repetitions', /got "3"/);
  const streaming = { ...DEFAULT_LIMITS, allowContinuous: true };
  assert.equal(validateProbeInput({ ...ok, repetitions: 0 }, streaming).repetitions, 0);
  rejects({ ...ok, repetitions: -1 }, 'repetitions', /between 0 and 10000 \(0 = continuous\)/, streaming);
});

test('timeout: > 0 and at most the maximum', () => {
  rejects({ ...ok, timeoutMs: 0 }, 'timeout', /^timeout must be greater than 0 ms and at most 60000 ms \(got 0\)$/);
  rejects({ ...ok, timeoutMs: -5 }, 'timeout', /got -5/);
  rejects({ ...ok, timeoutMs: 60001 }, 'timeout', /at most 60000 ms/);
  rejects({ ...ok, timeoutMs: Number.NaN }, 'timeout', /got NaN/);
  assert.equal(validateProbeInput({ ...ok, timeoutMs: 250.5 }, DEFAULT_LIMITS).timeoutMs, 250.5);
});

test('interval: 0 up to the maximum', () => {
  rejects({ ...ok, intervalMs: -1 }, 'interval', /^interval must be between 0 and 3600000 ms \(got -1\)$/);
  rejects({ ...ok, intervalMs: 3600001 }, 'interval', /got 3600001/);
  rejects({ ...ok, intervalMs: Number.POSITIVE_INFINITY }, 'interval', /got Infinity/);
  assert.equal(validateProbeInput({ ...ok, intervalMs: 0 }, DEFAULT_LIMITS).intervalMs, 0);
});

test('concurrency: 1..max, integers', () => {
  rejects({ ...ok, concurrency: 101 }, 'concurrency', /between 1 and 100 \(0 means 1\) \(got 101\)/);
  rejects({ ...ok, concurrency: -1 }, 'concurrency', /got -1/);
  rejects({ ...ok, concurrency: 2.5 }, 'concurrency', /whole number/);
});

test('expected_status: 100..599, min <= max', () => {
  rejects(
    { ...ok, expectedStatus: [{ min: 99, max: 200 }] },
    'expected_status',
    /expected_status\[0\]\.min must be between 100 and 599 \(got 99\)/,
  );
  rejects(
    { ...ok, expectedStatus: [{ min: 200, max: 600 }] },
    'expected_status',
    /\.max must be between min \(200\) and 599/,
  );
  rejects(
    {
      ...ok,
      expectedStatus: [
        { min: 200, max: 299 },
        { min: 300, max: 200 },
      ],
    },
    'expected_status',
    /expected_status\[1\]\.max.*got 200/,
  );
  rejects({ ...ok, expectedStatus: [{ min: 200.5, max: 0 }] }, 'expected_status', /whole number/);
  rejects({ ...ok, expectedStatus: [{}] }, 'expected_status', /got undefined/);
  rejects({ ...ok, expectedStatus: 'x' }, 'expected_status', /list/);
});

test('method: one of the seven, upper case', () => {
  rejects(
    { ...ok, method: 'TRACE' },
    'method',
    /^method must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS \(got "TRACE"\)$/,
  );
  rejects({ ...ok, method: 'get' }, 'method', /got "get"/);
  assert.equal(validateProbeInput({ ...ok, method: 'DELETE' }).method, 'DELETE');
});

test('validation uses the limits it is given', () => {
  const tight: ProbeLimits = {
    ...DEFAULT_LIMITS,
    maxRepetitions: 5,
    maxConcurrency: 2,
    maxTimeoutMs: 100,
    defaultTimeoutMs: 50,
  };
  rejects({ ...ok, repetitions: 6 }, 'repetitions', /between 1 and 5/, tight);
  rejects({ ...ok, concurrency: 3 }, 'concurrency', /between 1 and 2/, tight);
  rejects({ ...ok, timeoutMs: 101 }, 'timeout', /at most 100 ms/, tight);
  assert.equal(validateProbeInput(ok, tight).timeoutMs, 50);
});

test('assumeModuleCompletes: only what a module could supply is assumed; the rest is still judged', () => {
  const lenient = (extra: Partial<ProbeInput>): ProbeInput => assumeModuleCompletes({ ...ok, module: 'm', ...extra });
  // A module may follow redirects, carry a body method, hold the other half of a client certificate.
  assert.equal(validateProbeInput(lenient({ maxRedirects: 3 })).maxRedirects, 3);
  assert.equal(validateProbeInput(lenient({ body: Buffer.from('x') })).body?.length, 1);
  assert.equal(validateProbeInput(lenient({ tlsKeyPem: 'judged by the server, with the pair' })).tls, undefined);
  // The request's own settings still win, so these stay wrong whatever the module says.
  rejects(lenient({ maxRedirects: 21 }), 'max_redirects', /between 1 and 20/);
  rejects(lenient({ maxRedirects: 3, followRedirects: false }), 'max_redirects', /only used with follow_redirects/);
  rejects(lenient({ method: 'GET', body: Buffer.from('x') }), 'body', /only sent with/);
  rejects(lenient({ failIfHeader: [{ name: 'X', regex: '(' }] }), 'fail_if_header', /not a valid regular expression/);
  rejects(lenient({ ipFamily: 6 }), 'ip_family', /./);
  // Without the assumption the same request is refused.
  rejects({ ...ok, maxRedirects: 3 }, 'max_redirects', /only used with follow_redirects/);
});
