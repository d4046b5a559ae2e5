import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, resolveLogLevel, LOG_LEVEL_ENV } from '../src/server/logger.js';
import { sleep } from './helpers/wait.js';
import { isConfigError } from '../src/common/errors.js';

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

test('level: flag beats env, env beats default, bad values name their source', () => {
  assert.equal(resolveLogLevel(undefined, {}), 'info');
  assert.equal(resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: 'DEBUG' }), 'debug');
  assert.equal(resolveLogLevel('warn', { [LOG_LEVEL_ENV]: 'debug' }), 'warn');
  assert.throws(
    () => resolveLogLevel('loud', {}),
    /invalid --log-level "loud": expected one of fatal, error, warn, info, debug, trace, silent/,
  );
  assert.throws(() => resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: 'verbose' }), /invalid PROBER_LOG_LEVEL "verbose"/);
  assert.throws(
    () => resolveLogLevel('loud', {}),
    (e: unknown) => isConfigError(e) && e.option === '--log-level',
  );
  assert.throws(
    () => resolveLogLevel(undefined, { [LOG_LEVEL_ENV]: 'x' }),
    (e: unknown) => isConfigError(e) && e.option === LOG_LEVEL_ENV,
  );
});

test('JSON lines by default, filtered by level', async () => {
  const c = collector();
  const log = createLogger({ level: 'info', destination: c.stream, env: {} });
  log.debug('hidden');
  log.info({ method: '/prober.v1.Prober/Probe', code: 'OK' }, 'rpc');
  await new Promise((r) => setImmediate(r));
  const lines = c.text().trim().split('\n');
  assert.equal(lines.length, 1);
  const obj = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(obj.msg, 'rpc');
  assert.equal(obj.method, '/prober.v1.Prober/Probe');
  assert.equal(obj.level, 30);
  assert.equal(obj.name, 'prober');
});

test('pretty output is human-readable, one line per entry', async () => {
  const c = collector();
  const log = createLogger({ pretty: true, destination: c.stream, env: {} });
  log.info({ code: 'OK', attempts: 3 }, 'rpc');
  await sleep(20);
  const out = c.text();
  assert.throws(() => JSON.parse(out));
  assert.match(out, /INFO.*rpc.*"code":"OK".*"attempts":3/);
  assert.equal(out.trim().split('\n').length, 1);
});

test('silent level writes nothing', async () => {
  const c = collector();
  const log = createLogger({ level: 'silent', destination: c.stream, env: {} });
  log.error('nope');
  await new Promise((r) => setImmediate(r));
  assert.equal(c.text(), '');
});
