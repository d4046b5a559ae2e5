// -4/-6 and --resolve (issue 12): the family option reaches the resolver,
// pinned addresses skip DNS but not the target policy, Host stays the URL's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import dns from 'node:dns';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, runAttempt, validateProbeInput, type ProbeInput } from '../src/probe/index.js';
import { DEFAULT_TARGET_POLICY } from '../src/probe/policy.js';
import { InvalidArgumentError } from '../src/probe/errors.js';
import { requestFromProto, requestToProto, attemptFromProto, attemptToProto } from '../src/wire/codec.js';

interface Seen {
  host: string | undefined;
  local: string | undefined;
}
const seen: Seen[] = [];

function server(tag: string): http.Server {
  return http.createServer((req, res) => {
    seen.push({ host: req.headers.host, local: req.socket.localAddress });
    res.end(tag);
  });
}

let v4: http.Server;
let v6: http.Server | undefined;
let other: http.Server;
let port = 0;
let otherPort = 0;
let v6Missing = '';

before(async () => {
  // One port on both 127.0.0.1 and ::1 (retried: the port may be taken on ::1).
  for (let i = 0; i < 20 && v6 === undefined; i++) {
    v4 = server('v4').listen(0, '127.0.0.1');
    await once(v4, 'listening');
    port = (v4.address() as AddressInfo).port;
    const s = server('v6');
    try {
      s.listen(port, '::1');
      await once(s, 'listening');
      v6 = s;
    } catch (err) {
      v4.close();
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        v6Missing = `::1 is unavailable (${String((err as Error).message)})`;
        v4 = server('v4').listen(port, '127.0.0.1');
        await once(v4, 'listening');
        break;
      }
    }
  }
  other = server('other').listen(0, '127.0.0.1');
  await once(other, 'listening');
  otherPort = (other.address() as AddressInfo).port;
});

after(() => {
  v4.close();
  v6?.close();
  other.close();
});

function spec(input: Partial<ProbeInput> & { endpoint: string }, policy = false) {
  return validateProbeInput(
    { repetitions: 1, timeoutMs: 3000, ...input },
    DEFAULT_LIMITS,
    policy ? { ...DEFAULT_TARGET_POLICY, denyPrivate: true } : undefined,
  );
}

const BOTH = (): string => `localhost:${port}:127.0.0.1,[::1]`;

test('--resolve with -4 and -6 picks the family; the Attempt reports it', async (t) => {
  const a4 = await runAttempt(spec({ endpoint: `http://localhost:${port}/`, ipFamily: 4, resolve: [BOTH()] }), {
    seq: 1,
    timeoutMs: 3000,
  });
  assert.equal(a4.error, undefined);
  assert.equal(a4.ipFamily, 4);
  assert.equal(a4.remoteAddress, `127.0.0.1:${port}`);
  if (v6 === undefined) {
    t.skip(v6Missing || '::1 unavailable');
    return;
  }
  const a6 = await runAttempt(spec({ endpoint: `http://localhost:${port}/`, ipFamily: 6, resolve: [BOTH()] }), {
    seq: 1,
    timeoutMs: 3000,
  });
  assert.equal(a6.error, undefined);
  assert.equal(a6.ipFamily, 6);
  assert.equal(a6.remoteAddress, `[::1]:${port}`);
  // Default: either family, the first pinned (resolver order) first.
  const any = await runAttempt(
    spec({ endpoint: `http://localhost:${port}/`, resolve: [`localhost:${port}:[::1],127.0.0.1`] }),
    { seq: 1, timeoutMs: 3000 },
  );
  assert.equal(any.ipFamily, 6);
});

test('-4 / -6 against localhost through the system resolver', async (t) => {
  const a4 = await runAttempt(spec({ endpoint: `http://localhost:${port}/`, ipFamily: 4 }), {
    seq: 1,
    timeoutMs: 3000,
  });
  assert.equal(a4.error, undefined);
  assert.equal(a4.ipFamily, 4);
  const has6 = await new Promise<boolean>((r) => dns.lookup('localhost', { family: 6 }, (e) => r(e === null)));
  if (v6 === undefined || !has6) {
    t.skip(v6Missing || 'localhost does not resolve to ::1 here (/etc/hosts)');
    return;
  }
  const a6 = await runAttempt(spec({ endpoint: `http://localhost:${port}/`, ipFamily: 6 }), {
    seq: 1,
    timeoutMs: 3000,
  });
  assert.equal(a6.error, undefined);
  assert.equal(a6.ipFamily, 6);
});

test('--resolve reaches a second backend without DNS; Host stays the URL host', async () => {
  seen.length = 0;
  const s = spec({ endpoint: `http://backend.invalid:${port}/`, resolve: [`backend.invalid:${port}:127.0.0.1`] });
  // Pinned to the other server: only the address changes, not the port in the URL.
  const a = await runAttempt(
    spec({ endpoint: `http://backend.invalid:${otherPort}/`, resolve: [`BACKEND.invalid:${otherPort}:127.0.0.1`] }),
    { seq: 1, timeoutMs: 3000 },
  );
  assert.equal(a.error, undefined);
  assert.equal(a.remoteAddress, `127.0.0.1:${otherPort}`);
  assert.deepEqual(seen.at(-1)?.host, `backend.invalid:${otherPort}`);
  // An entry for another port is unused: .invalid never resolves.
  const miss = await runAttempt(
    spec({ endpoint: `http://backend.invalid:${otherPort}/`, resolve: [`backend.invalid:1:127.0.0.1`] }),
    { seq: 1, timeoutMs: 3000 },
  );
  assert.equal(miss.error?.reason, 'DNS');
  assert.ok(s.resolve?.length === 1);
  // -6 with only an IPv4 pin: no address, reported as DNS.
  const none = await runAttempt(
    spec({
      endpoint: `http://backend.invalid:${otherPort}/`,
      ipFamily: 6,
      resolve: [`backend.invalid:${otherPort}:127.0.0.1`],
    }),
    { seq: 1, timeoutMs: 3000 },
  );
  assert.equal(none.error?.reason, 'DNS');
});

test('the target policy judges a pinned address', async () => {
  const a = await runAttempt(
    spec({ endpoint: `http://public.example:${otherPort}/`, resolve: [`public.example:${otherPort}:127.0.0.1`] }, true),
    { seq: 1, timeoutMs: 3000 },
  );
  assert.equal(a.error?.reason, 'POLICY_DENIED');
  assert.match(a.error?.message ?? '', /127\.0\.0\.1.*deny-private-targets/);
});

test('bad -4/-6 and --resolve are INVALID_ARGUMENT naming the field', () => {
  const bad = (input: Partial<ProbeInput>, field: string, message: RegExp): void => {
    assert.throws(
      () => spec({ endpoint: 'http://example.com/', ...input }),
      (err: unknown) => err instanceof InvalidArgumentError && err.field === field && message.test(err.message),
    );
  };
  bad({ ipFamily: 5 }, 'ip_family', /^ip_family must be 4, 6, or 0/);
  bad({ resolve: ['example.com:80'] }, 'resolve', /^resolve\[0\] must be "host:port:address/);
  bad({ resolve: ['example.com:80:::1'] }, 'resolve', /^resolve\[0\] address/);
  bad({ resolve: ['example.com:80:[127.0.0.1]'] }, 'resolve', /^resolve\[0\] address/);
  bad({ resolve: ['example.com:0:127.0.0.1'] }, 'resolve', /port must be between 1 and 65535/);
  bad({ resolve: ['ok:1:127.0.0.1', 'x:80:nope'] }, 'resolve', /^resolve\[1\] address "nope"/);
  bad({ resolve: Array.from({ length: 17 }, () => 'a:1:127.0.0.1') }, 'resolve', /at most 16 entries/);
  assert.throws(
    () => spec({ endpoint: 'http://127.0.0.1/', ipFamily: 6 }),
    /ip_family is 6 but the endpoint's host is an IPv4/,
  );
  const ok = spec({ endpoint: 'http://example.com/', resolve: ['Example.COM:80:[2001:db8::1],192.0.2.1'] });
  assert.deepEqual(ok.resolve, [{ host: 'example.com', port: 80, addresses: ['2001:db8::1', '192.0.2.1'] }]);
});

test('ip_family and resolve round-trip the wire', () => {
  const input = { endpoint: 'http://x/', repetitions: 1, ipFamily: 6, resolve: ['x:80:[::1]'] };
  const back = requestFromProto(requestToProto(input));
  assert.equal(back.ipFamily, 6);
  assert.deepEqual(back.resolve, ['x:80:[::1]']);
  const a = attemptFromProto(
    attemptToProto({ seq: 1, startedAt: 0, latencyMs: 1, phases: {}, bodyBytes: 0, reused: false, ipFamily: 6 }),
  );
  assert.equal(a.ipFamily, 6);
});

test('CLI: prober stream --json -4 --resolve reaches the pinned backend and reports ipFamily', async () => {
  const { run } = await import('../src/cli/run.js');
  const { testIo } = await import('./helpers/cli-io.js');
  const io = testIo();
  const code = await run(
    [
      'stream',
      `http://pinned.invalid:${otherPort}/`,
      '-n',
      '2',
      '--json',
      '-4',
      '--resolve',
      `pinned.invalid:${otherPort}:127.0.0.1`,
    ],
    io,
  );
  assert.equal(code, 0, io.stderr.text());
  const attempts = io.stdout
    .text()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((o) => o.type === 'attempt');
  assert.equal(attempts.length, 2);
  for (const a of attempts) {
    assert.equal(a.ipFamily, 4);
    assert.equal(a.remoteAddress, `127.0.0.1:${otherPort}`);
  }
});

test("preferredLookup: the preferred family's addresses first, the other's after, order kept within each", async () => {
  const { preferredLookup } = await import('../src/probe/family.js');
  const answers = [
    { address: '192.0.2.1', family: 4 },
    { address: '2001:db8::1', family: 6 },
    { address: '192.0.2.2', family: 4 },
    { address: '2001:db8::2', family: 6 },
  ];
  const base = ((_h: string, _o: dns.LookupOptions, cb: (e: null, a: typeof answers) => void) =>
    process.nextTick(cb, null, answers)) as unknown as Parameters<typeof preferredLookup>[1];
  const all = (family: 4 | 6) =>
    new Promise<string[]>((resolve, reject) =>
      preferredLookup(family, base)('h.test', { all: true }, (err, list) =>
        err ? reject(err) : resolve((list as dns.LookupAddress[]).map((a) => a.address)),
      ),
    );
  assert.deepEqual(await all(6), ['2001:db8::1', '2001:db8::2', '192.0.2.1', '192.0.2.2']);
  assert.deepEqual(await all(4), ['192.0.2.1', '192.0.2.2', '2001:db8::1', '2001:db8::2']);
  const one = await new Promise<string>((resolve) =>
    preferredLookup(6, base)('h.test', {}, (_e, address) => resolve(address as string)),
  );
  assert.equal(one, '2001:db8::1');
});
