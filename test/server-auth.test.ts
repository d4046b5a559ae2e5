// The token file format and the constant-time check, without a server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenFile, matchToken, tokenFingerprint } from '../src/server/token-file.js';
import { authenticate } from '../src/server/auth.js';
import { isConfigError } from '../src/common/errors.js';
import { isLoopbackHost } from '../src/common/address.js';

const A = 'aaaaaaaaaaaaaaaa-1';
const B = 'bbbbbbbbbbbbbbbb+/=';

test('format: comments, blank lines, named and unnamed tokens', () => {
  const set = parseTokenFile(`# who may call\n\n  ci-east: ${A}\r\n${B}\n`, 'f', '--auth-token-file');
  assert.deepEqual(
    set.entries.map((e) => e.name),
    ['ci-east', tokenFingerprint(B)],
  );
  assert.match(tokenFingerprint(B), /^sha256:[0-9a-f]{8}$/);
  assert.equal(matchToken(set, A)?.name, 'ci-east');
  assert.equal(matchToken(set, B)?.name, tokenFingerprint(B));
  assert.equal(matchToken(set, `${A}x`), undefined);
});

test('bad files fail naming the option and the line, never echoing a token', () => {
  const cases: Array<[string, RegExp]> = [
    ['short\n', /f:1: token shorter than 16/],
    [`${A}\n${A}\n`, /f:2: same token or name as line 1/],
    [`x: ${A}\nx: ${B}\n`, /f:2: same token or name/],
    [`bad name: ${A}\n`, /f:1: a name is/],
    [`${A} ${B}\n`, /f:1: a token is one word/],
    ['# nothing\n\n', /has no tokens/],
  ];
  for (const [text, re] of cases) {
    assert.throws(
      () => parseTokenFile(text, 'f', '--auth-token-file'),
      (err: unknown) =>
        isConfigError(err) && err.option === '--auth-token-file' && re.test(err.message) && !err.message.includes(A),
      text,
    );
  }
});

test('authenticate: Bearer scheme (any case), missing and unknown tokens refused', () => {
  const set = parseTokenFile(`ci: ${A}\n`, 'f', 'o');
  assert.deepEqual(authenticate(set, `Bearer ${A}`), { name: 'ci' });
  assert.deepEqual(authenticate(set, `bearer ${A}`), { name: 'ci' });
  assert.ok('refused' in authenticate(set, undefined));
  assert.ok('refused' in authenticate(set, A));
  assert.ok('refused' in authenticate(set, `Basic ${A}`));
  assert.ok('refused' in authenticate(set, `Bearer ${B}`));
});

test('isLoopbackHost', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1'])
    assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1', 'localhost.example.com'])
    assert.ok(!isLoopbackHost(h), h);
});
