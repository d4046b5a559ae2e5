// Exit-code policy (src/cli/outcome.ts): typed errors in, exit codes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ProberRpcError } from '../src/client/index.js';
import { ConfigError, isConfigError } from '../src/common/errors.js';
import { EXIT, describeRpcError, exitCodeFor, exitCodeForStartup, worstExitCode } from '../src/cli/outcome.js';

test('a ConfigError at start-up is a usage error (2); anything else is 3', () => {
  const err = new ConfigError('--max-timeout', 'max timeout must be greater than 0');
  assert.equal(err.code, 'PROBER_ERR_CONFIG');
  assert.equal(err.option, '--max-timeout');
  assert.ok(isConfigError(err));
  assert.equal(exitCodeForStartup(err), EXIT.USAGE);
  // The code is the identity (another module copy, e.g. a worker's).
  const alike = Object.assign(new Error('x'), { code: 'PROBER_ERR_CONFIG', option: 'listen' });
  assert.equal(exitCodeForStartup(alike), EXIT.USAGE);
  assert.equal(exitCodeForStartup(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' })), EXIT.RPC);
  assert.equal(exitCodeForStartup(new RangeError('not a config error')), EXIT.RPC);
});

test('RPC errors map by numeric status', () => {
  assert.equal(exitCodeFor(new ProberRpcError(status.INVALID_ARGUMENT, 'x')), EXIT.USAGE);
  assert.equal(exitCodeFor(new ProberRpcError(status.DEADLINE_EXCEEDED, 'x')), EXIT.PROBE_FAILED);
  assert.equal(exitCodeFor(new ProberRpcError(status.UNAVAILABLE, 'x')), EXIT.RPC);
});

test('the flag hint comes from the typed field, never from the message', () => {
  const withField = new ProberRpcError(status.INVALID_ARGUMENT, 'something about a range', { field: 'expected_status' });
  assert.equal(describeRpcError(withField, undefined), 'invalid argument: something about a range (--expect)');
  // A message that starts like a field name but carries no field gets no hint.
  const noField = new ProberRpcError(status.INVALID_ARGUMENT, 'timeout must be greater than 0 ms');
  assert.equal(describeRpcError(noField, undefined), 'invalid argument: timeout must be greater than 0 ms');
});

test('worst of several: usage > rpc > probe failed > ok', () => {
  assert.equal(worstExitCode([]), EXIT.OK);
  assert.equal(worstExitCode([EXIT.OK, EXIT.PROBE_FAILED]), EXIT.PROBE_FAILED);
  assert.equal(worstExitCode([EXIT.USAGE, EXIT.RPC, EXIT.PROBE_FAILED]), EXIT.USAGE);
  assert.equal(worstExitCode([EXIT.PROBE_FAILED, EXIT.RPC, EXIT.OK]), EXIT.RPC);
});
