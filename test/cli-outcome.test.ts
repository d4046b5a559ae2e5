// Exit-code policy (src/cli/outcome.ts): typed errors in, exit codes out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { ProberRpcError } from '../src/client/index.js';
import { ConfigError, isConfigError } from '../src/common/errors.js';
import {
  EXIT,
  describeRpcError,
  exitCodeFor,
  exitCodeForFeed,
  exitCodeForStartup,
  exitCodeForStop,
  worstExitCode,
} from '../src/cli/outcome.js';
import { OUTPUT_CLOSED } from '../src/cli/io.js';
import { RunStats } from '../src/stats/index.js';
import type { FeedOutcome } from '../src/tui/feed.js';

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
  const withField = new ProberRpcError(status.INVALID_ARGUMENT, 'something about a range', {
    field: 'expected_status',
  });
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

test('stopped from outside: stdout closed is 0; SIGINT 130, SIGTERM 143, except for serve', () => {
  assert.equal(exitCodeForStop(EXIT.PROBE_FAILED, OUTPUT_CLOSED, 'watch'), EXIT.OK);
  assert.equal(exitCodeForStop(EXIT.OK, 'SIGINT', 'stream'), 130);
  assert.equal(exitCodeForStop(EXIT.PROBE_FAILED, 'SIGTERM', 'watch'), 143);
  assert.equal(exitCodeForStop(EXIT.OK, 'SIGTERM', 'serve'), EXIT.OK);
  assert.equal(exitCodeForStop(EXIT.USAGE, undefined, 'probe'), EXIT.USAGE);
});

test('quitting a watch (q) is 0 when nothing failed, 1 when attempts failed, even on a finite run', () => {
  const ok = new RunStats();
  ok.add({ latencyMs: 5, status: 200 });
  const bad = new RunStats();
  bad.add({ latencyMs: 5, error: { reason: 'RESET' } });
  const outcome = (stats: RunStats): FeedOutcome => {
    const summary = stats.summary({ elapsedMs: 5, eventsSent: 0, deadlineReached: false, backpressureWaitMs: 0 });
    return { status: 'cancelled', summary, localSummary: summary, received: 1 };
  };
  assert.equal(exitCodeForFeed(outcome(ok), 1000), EXIT.OK);
  assert.equal(exitCodeForFeed(outcome(bad), 1000), EXIT.PROBE_FAILED);
  assert.equal(exitCodeForFeed(outcome(ok), 0), EXIT.OK);
});
