// Credentials in a URL (user:pass@) never leave the server: not in the
// INVALID_ARGUMENT message, the RPC log line, /metrics, or /probe's answer and
// debug log, whether the URL is rejected or accepted, parsable or not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { redactUrl } from '../src/common/redact.js';
import { redactEndpoint } from '../src/server/metrics.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { connect, probeOnce, type ProberConnection, ProberRpcError } from '../src/client/index.js';
import { startTarget, type Target } from './helpers/target.js';

const SECRET = 's3cretPW';

test('redactUrl: parsed URLs lose their userinfo; unparsable ones lose //…@ up to ? or #', () => {
  const cases: Array<[string, string]> = [
    ['http://user:s3cretPW@a.test/p?q=1#f', 'http://a.test/p?q=1#f'],
    ['https://s3cretPW@a.test/', 'https://a.test/'],
    ['ftp://user:s3cretPW@a.test/x', 'ftp://a.test/x'],
    ['http://a.test/p@q', 'http://a.test/p@q'],
    ['http://a.test/', 'http://a.test/'],
    // Unparsable: the fallback.
    ['http://user:s3cretPW@exa mple.test/p', 'http://exa mple.test/p'],
    ['http://user:pa/s3cretPW@a.test/', 'http://a.test/'],
    ['http://us@er:s3cretPW@[::1/', 'http://[::1/'],
    ['http://user:s3cretPW@exa mple.test?x=a@b', 'http://exa mple.test?x=a@b'],
    ['user:s3cretPW@a.test', 'a.test'],
    ['not a url', 'not a url'],
    ['', ''],
  ];
  for (const [input, want] of cases) assert.equal(redactUrl(input), want, input);
  assert.equal(redactEndpoint('http://user:s3cretPW@exa mple.test/#frag'), 'http://exa mple.test/#frag');
  assert.equal(redactEndpoint('http://user:s3cretPW@a.test/p#frag'), 'http://a.test/p');
});

const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _enc, cb) {
    lines.push(chunk.toString());
    cb();
  },
});

let target: Target;
let srv: RunningServer;
let conn: ProberConnection;

before(async () => {
  target = await startTarget();
  srv = await startServer({
    listen: '127.0.0.1:0',
    warmUp: 0,
    observability: { logger: pino({ level: 'debug' }, sink), metrics: { listen: '127.0.0.1:0' } },
  });
  conn = connect(srv.address);
});
after(async () => {
  conn.close();
  await srv.close(0);
  await target.close();
});

async function metricsText(): Promise<string> {
  assert.ok(srv.metrics);
  return (await fetch(`${srv.metrics.url}/metrics`)).text();
}

function assertNoSecret(where: string, text: string): void {
  assert.ok(!text.includes(SECRET), `${where} shows the password:\n${text}`);
  assert.ok(!text.includes('user:'), `${where} shows the userinfo:\n${text}`);
}

test('a rejected URL with credentials: not in the INVALID_ARGUMENT message, the log line or /metrics', async () => {
  const rejected = [
    `http://user:${SECRET}@exa mple.test/`, // does not parse
    `ftp://user:${SECRET}@a.test/`, // parses, wrong scheme
    `http://user:${SECRET}@/`, // no host
    `http://user:pa/${SECRET}@a.test/`, // raw '/' in the password
  ];
  for (const endpoint of rejected) {
    const err = await probeOnce(conn, { endpoint, repetitions: 1 }).then(
      () => assert.fail(`${endpoint} was accepted`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProberRpcError && err.isInvalidArgument(), String(err));
    assert.equal(err.field, 'endpoint');
    assertNoSecret(`INVALID_ARGUMENT for ${endpoint}`, err.details);
  }
  const rpcLines = lines.filter((l) => l.includes('"msg":"rpc"') && l.includes('InvalidArgument'));
  assert.ok(rpcLines.length >= rejected.length, 'each rejection was logged');
  assertNoSecret('the log', lines.join(''));
  assertNoSecret('/metrics', await metricsText());
});

test('an accepted URL with credentials: probed, but not in the log line or /metrics', async () => {
  const u = new URL(`${target.url}/ok`);
  const endpoint = `http://user:${SECRET}@${u.host}/ok`;
  const s = await probeOnce(conn, { endpoint, repetitions: 2 });
  assert.equal(s.successes, 2);
  const text = await metricsText();
  assert.ok(text.includes(`endpoint="http://${u.host}/ok"`), 'the label is the URL without credentials');
  assertNoSecret('/metrics', text);
  assertNoSecret('the log', lines.join(''));
});

test('/probe: neither a rejected nor an accepted target shows its credentials (body, debug log)', async () => {
  assert.ok(srv.metrics);
  const u = new URL(`${target.url}/ok`);
  const probe = (t: string) => fetch(`${srv.metrics?.url}/probe?target=${encodeURIComponent(t)}`);
  const bad = await probe(`http://user:${SECRET}@exa mple.test/`);
  assert.equal(bad.status, 400);
  assertNoSecret('/probe 400 body', await bad.text());
  const good = await probe(`http://user:${SECRET}@${u.host}/ok`);
  assert.equal(good.status, 200);
  assertNoSecret('/probe body', await good.text());
  const probeLines = lines.filter((l) => l.includes('"msg":"probe'));
  assert.ok(probeLines.length >= 2, 'both /probe requests were logged at debug');
  assertNoSecret('the log', lines.join(''));
});
