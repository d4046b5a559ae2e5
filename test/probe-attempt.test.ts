import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { once } from 'node:events';
import {
  DEFAULT_LIMITS,
  runAttempt,
  validateProbeInput,
  type AttemptResult,
  type ProbeInput,
  type ProbeSpec,
} from '../src/probe/index.js';
import { freePort, startTarget, type Target } from './helpers/target.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

function spec(path: string, extra: Partial<ProbeInput> = {}, base = target.url): ProbeSpec {
  return validateProbeInput({ endpoint: `${base}${path}`, repetitions: 1, ...extra }, DEFAULT_LIMITS);
}

function attempt(
  s: ProbeSpec,
  timeoutMs = 5000,
  extra: { signal?: AbortSignal; agent?: http.Agent } = {},
): Promise<AttemptResult> {
  return runAttempt(s, {
    seq: 7,
    signal: extra.signal ?? new AbortController().signal,
    timeoutMs,
    ...(extra.agent ? { agent: extra.agent } : {}),
  });
}

function phaseSum(r: AttemptResult): number {
  const p = r.phases;
  return (p.dnsMs ?? 0) + (p.connectMs ?? 0) + (p.tlsMs ?? 0) + (p.ttfbMs ?? 0) + (p.transferMs ?? 0);
}

function assertPhasesSumToLatency(r: AttemptResult): void {
  // Only the tick between start and socket assignment is unaccounted for.
  assert.ok(
    Math.abs(phaseSum(r) - r.latencyMs) < Math.max(5, r.latencyMs * 0.1),
    `phases ${JSON.stringify(r.phases)} vs latency ${r.latencyMs}`,
  );
}

test('success on /ok via an IP literal: no DNS phase, the rest measured', async () => {
  const before = Date.now();
  const r = await attempt(spec('/ok'));
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.seq, 7);
  assert.equal(r.status, 200);
  assert.equal(r.httpVersion, '1.1');
  assert.equal(r.bodyBytes, 3);
  assert.equal(r.reused, false);
  assert.equal(r.remoteAddress, `127.0.0.1:${target.port}`);
  assert.ok(r.startedAt >= before && r.startedAt <= Date.now());
  assert.equal(r.phases.dnsMs, undefined);
  assert.equal(r.phases.tlsMs, undefined);
  assert.ok(r.phases.connectMs !== undefined && r.phases.connectMs >= 0);
  assert.ok(r.phases.ttfbMs !== undefined && r.phases.ttfbMs >= 0);
  assert.ok(r.phases.transferMs !== undefined && r.phases.transferMs >= 0);
  assert.equal(r.scheduleDelayMs, undefined);
  assertPhasesSumToLatency(r);
});

test('a host name gets a DNS phase', async () => {
  const r = await attempt(spec('/ok', {}, `http://localhost:${target.port}`));
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.ok(r.phases.dnsMs !== undefined && r.phases.dnsMs >= 0);
  assert.ok(r.phases.connectMs !== undefined);
  assertPhasesSumToLatency(r);
});

test('the request carries the prober User-Agent', async () => {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers['user-agent'] ?? '');
    res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const r = await attempt(spec('/', {}, `http://127.0.0.1:${port}`));
    assert.equal(r.error, undefined);
    assert.match(seen[0] ?? '', /^prober\/\d/);
  } finally {
    server.close();
  }
});

test('/status/500 is BAD_STATUS, temporary, with status and latency', async () => {
  const r = await attempt(spec('/status/500'));
  assert.equal(r.error?.reason, 'BAD_STATUS');
  assert.equal(r.error?.temporary, true);
  assert.match(r.error?.message ?? '', /500/);
  assert.equal(r.status, 500);
  assert.ok(r.latencyMs > 0);
  assert.ok(r.phases.ttfbMs !== undefined);
});

test('4xx is BAD_STATUS and not temporary; 429 is temporary; expected_status widens success', async () => {
  const r404 = await attempt(spec('/status/404'));
  assert.equal(r404.error?.reason, 'BAD_STATUS');
  assert.equal(r404.error?.temporary, false);
  const r429 = await attempt(spec('/status/429'));
  assert.equal(r429.error?.temporary, true);
  const accepted = await attempt(spec('/status/404', { expectedStatus: [{ min: 404, max: 0 }] }));
  assert.equal(accepted.error, undefined);
  assert.equal(accepted.status, 404);
  const redirectNotWanted = await attempt(spec('/status/302', { expectedStatus: [{ min: 200, max: 299 }] }));
  assert.equal(redirectNotWanted.error?.reason, 'BAD_STATUS');
});

test('refused connection is CONNECT_REFUSED', async () => {
  const port = await freePort();
  const r = await attempt(spec('/ok', {}, `http://127.0.0.1:${port}`));
  assert.equal(r.error?.reason, 'CONNECT_REFUSED');
  assert.equal(r.error?.code, 'ECONNREFUSED');
  assert.equal(r.error?.temporary, true);
  assert.equal(r.status, undefined);
  assert.equal(r.remoteAddress, undefined);
});

test('unresolvable name under .invalid is DNS (system resolver)', async () => {
  const r = await attempt(spec('/', {}, 'http://no-such-host.invalid'), 3000);
  // A resolver that cannot answer offline times out instead; both are DNS.
  assert.equal(r.error?.reason, 'DNS', JSON.stringify(r.error));
  assert.equal(r.status, undefined);
});

test('an injected resolver failing with ENOTFOUND is DNS, not temporary', async () => {
  const lookup: LookupFunction = (hostname, _options, callback) => {
    const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: 'ENOTFOUND',
      syscall: 'getaddrinfo',
      hostname,
    });
    setImmediate(() => callback(err, '', 4));
  };
  const r = await attempt({ ...spec('/', {}, 'http://blocked.example'), lookup });
  assert.equal(r.error?.reason, 'DNS');
  assert.equal(r.error?.code, 'ENOTFOUND');
  assert.equal(r.error?.temporary, false);
  assert.ok(r.phases.dnsMs !== undefined);
});

test('spec.lookup is used to resolve the host', async () => {
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    asked.push(hostname);
    const cb = callback as unknown as (err: Error | null, address: unknown, family?: number) => void;
    if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  };
  const r = await attempt({ ...spec('/ok', {}, `http://probe-target.test:${target.port}`), lookup });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.deepEqual(asked, ['probe-target.test']);
  assert.equal(r.remoteAddress, `127.0.0.1:${target.port}`);
});

test('/hang with a small timeout is TIMEOUT', async () => {
  const r = await attempt(spec('/hang'), 150);
  assert.equal(r.error?.reason, 'TIMEOUT');
  assert.equal(r.error?.temporary, true);
  assert.match(r.error?.message ?? '', /response headers/);
  assert.ok(r.latencyMs >= 140, `latency ${r.latencyMs}`);
  assert.ok(r.phases.connectMs !== undefined);
  assert.equal(r.phases.ttfbMs, undefined);
  await target.waitForClientAborts(1);
});

test('a timeout while the name is still resolving is DNS (documented choice)', async () => {
  const lookup: LookupFunction = (_h, options, callback) => {
    const cb = callback as unknown as (err: Error | null, address: unknown, family?: number) => void;
    const t = setTimeout(
      () => (options.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)),
      300,
    );
    t.unref();
  };
  const r = await attempt({ ...spec('/ok', {}, `http://slow-dns.test:${target.port}`), lookup }, 50);
  assert.equal(r.error?.reason, 'DNS');
  assert.equal(r.error?.temporary, true);
  assert.match(r.error?.message ?? '', /did not finish within/);
});

test('a timeout before the TCP connection is up is CONNECT_TIMEOUT', async () => {
  // A SYN that is never answered cannot be staged on loopback portably, so
  // hand the request a socket that stays "connecting" forever.
  class StuckAgent extends http.Agent {
    override createConnection(): net.Socket {
      const s = new net.Socket();
      (s as unknown as { connecting: boolean }).connecting = true;
      return s;
    }
  }
  const agent = new StuckAgent();
  const r = await attempt(spec('/ok'), 80, { agent });
  assert.equal(r.error?.reason, 'CONNECT_TIMEOUT', JSON.stringify(r.error));
  assert.equal(r.error?.temporary, true);
  assert.equal(r.phases.connectMs, undefined);
  assert.equal(r.remoteAddress, undefined);
});

test('/reset is RESET', async () => {
  const r = await attempt(spec('/reset'));
  assert.equal(r.error?.reason, 'RESET', JSON.stringify(r.error));
  assert.equal(r.error?.temporary, true);
  assert.equal(r.status, undefined);
});

test('/garbage is PROTOCOL', async () => {
  const r = await attempt(spec('/garbage'));
  assert.equal(r.error?.reason, 'PROTOCOL', JSON.stringify(r.error));
  assert.match(r.error?.code ?? '', /^HPE_/);
});

test('/big over the cap is BODY_TOO_LARGE (content-length)', async () => {
  const s = { ...spec('/big?bytes=300000'), maxBodyBytes: 100_000 };
  const r = await attempt(s);
  assert.equal(r.error?.reason, 'BODY_TOO_LARGE');
  assert.equal(r.status, 200);
  assert.match(r.error?.message ?? '', /100000/);
});

test('a chunked body over the cap is BODY_TOO_LARGE (counted)', async () => {
  const s = { ...spec('/slow-body?chunks=10&every=5'), maxBodyBytes: 250 };
  const r = await attempt(s);
  assert.equal(r.error?.reason, 'BODY_TOO_LARGE');
  assert.ok(r.bodyBytes > 250 && r.bodyBytes <= 400, `bodyBytes ${r.bodyBytes}`);
});

test('a body under the cap is read and counted', async () => {
  const r = await attempt({ ...spec('/big?bytes=200000'), maxBodyBytes: 200_000 });
  assert.equal(r.error, undefined);
  assert.equal(r.bodyBytes, 200_000);
});

test('/slow-body: transfer covers the body', async () => {
  const r = await attempt(spec('/slow-body?chunks=4&every=40'));
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.bodyBytes, 400);
  // Headers go out at once; chunks follow 40 ms apart (timers fire no earlier).
  assert.ok(r.phases.transferMs !== undefined && r.phases.transferMs >= 100, `transfer ${r.phases.transferMs}`);
  assertPhasesSumToLatency(r);
});

test('HEAD reads no body', async () => {
  const r = await attempt(spec('/big?bytes=5000', { method: 'HEAD' }));
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.status, 200);
  assert.equal(r.bodyBytes, 0);
});

test('reuse: the second attempt on a keep-alive agent is reused, without dns/connect', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const s = spec('/ok', { reuseConnections: true }, `http://localhost:${target.port}`);
    const first = await attempt(s, 5000, { agent });
    const second = await attempt(s, 5000, { agent });
    assert.equal(first.error, undefined);
    assert.equal(first.reused, false);
    assert.ok(first.phases.connectMs !== undefined);
    assert.equal(second.error, undefined);
    assert.equal(second.reused, true);
    assert.equal(second.phases.dnsMs, undefined);
    assert.equal(second.phases.connectMs, undefined);
    assert.ok(second.phases.ttfbMs !== undefined);
    assert.equal(second.remoteAddress, `127.0.0.1:${target.port}`);
    assertPhasesSumToLatency(second);
  } finally {
    agent.destroy();
  }
});

test('abort mid-/hang is ABORTED and the target sees the client go away', async () => {
  const abortsBefore = target.clientAborts();
  const ac = new AbortController();
  const pending = attempt(spec('/hang'), 5000, { signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  const r = await pending;
  assert.equal(r.error?.reason, 'ABORTED');
  assert.ok(r.latencyMs < 4000);
  await target.waitForClientAborts(abortsBefore + 1);
});

test('an already-aborted signal sends nothing', async () => {
  const before = target.requests();
  const r = await attempt(spec('/ok'), 5000, { signal: AbortSignal.abort() });
  assert.equal(r.error?.reason, 'ABORTED');
  assert.equal(target.requests(), before);
});

test('deadline-bounded timeout is reported as ABORTED', async () => {
  const r = await runAttempt(spec('/hang'), {
    seq: 1,
    signal: new AbortController().signal,
    timeoutMs: 50,
    timeoutIsDeadline: true,
  });
  assert.equal(r.error?.reason, 'ABORTED');
  assert.match(r.error?.message ?? '', /deadline/);
});

// Self-signed for localhost / 127.0.0.1, valid 2000..2099; test-only key.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBZjCCAQ2gAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjA5OTEyMzEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABDHznJ+zwH4WfJ8H
E0Mc4KF/dZcZtU70OHZSjW8pXcX/eicoA13JSRQ/VUpcI39mnnnqZ38QYEy680+/
g8SE7SWjTjBMMA8GA1UdEwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIJbG9jYWxob3N0
hwR/AAABMB0GA1UdDgQWBBS8bPNl9/VPMQSFOvf2R92vq/dLUjAKBggqhkjOPQQD
AgNHADBEAiBSSQFTHOb7CgH3ZoicIZ25IKBfWe/N2559B6/7M/EDQwIgOeKKZaNy
C+MPc4AX7Z4Y/V2iPBR4FtdnRI94jNbhF6U=
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXao96/WPCnG3Xjgl
YGip6E4mjACefgXxXkMkOz97l3KhRANCAAQx85yfs8B+FnyfBxNDHOChf3WXGbVO
9Dh2Uo1vKV3F/3onKANdyUkUP1VKXCN/Zp556md/EGBMuvNPv4PEhO0l
-----END PRIVATE KEY-----
`;

async function withTlsServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = https.createServer({ cert: CERT, key: KEY }, (_req, res) => res.end('tls ok\n'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    await fn((server.address() as AddressInfo).port);
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

test('https with an untrusted certificate is TLS, not temporary', async () => {
  await withTlsServer(async (port) => {
    const r = await attempt(spec('/', {}, `https://127.0.0.1:${port}`));
    assert.equal(r.error?.reason, 'TLS', JSON.stringify(r.error));
    assert.equal(r.error?.temporary, false);
    assert.equal(r.error?.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.ok(r.phases.connectMs !== undefined);
  });
});

test('https with a trusted certificate measures the TLS phase', async () => {
  await withTlsServer(async (port) => {
    const agent = new https.Agent({ ca: CERT });
    try {
      const r = await attempt(spec('/', {}, `https://localhost:${port}`), 5000, { agent });
      assert.equal(r.error, undefined, JSON.stringify(r.error));
      assert.equal(r.status, 200);
      assert.ok(r.phases.dnsMs !== undefined);
      assert.ok(r.phases.connectMs !== undefined);
      assert.ok(r.phases.tlsMs !== undefined && r.phases.tlsMs > 0);
      assertPhasesSumToLatency(r);
    } finally {
      agent.destroy();
    }
  });
});

test('an https peer that is not TLS is TLS', async () => {
  const r = await attempt(spec('/ok', {}, `https://127.0.0.1:${target.port}`));
  assert.equal(r.error?.reason, 'TLS', JSON.stringify(r.error));
});

test('a connection cut mid-body is RESET, keeping status and bytes read', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write('x'.repeat(100), () => setTimeout(() => req.socket.destroy(), 20));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const r = await attempt(spec('/', {}, `http://127.0.0.1:${port}`));
    assert.equal(r.error?.reason, 'RESET', JSON.stringify(r.error));
    assert.equal(r.status, 200);
    assert.equal(r.bodyBytes, 100);
    assert.ok(r.phases.transferMs !== undefined);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('IPv6 literal: remoteAddress is bracketed', async (t) => {
  const server = http.createServer((_req, res) => res.end('v6'));
  try {
    server.listen(0, '::1');
    await once(server, 'listening');
  } catch {
    t.skip('no IPv6 loopback here');
    return;
  }
  try {
    const { port } = server.address() as AddressInfo;
    const r = await attempt(spec('/', {}, `http://[::1]:${port}`));
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    assert.equal(r.remoteAddress, `[::1]:${port}`);
    assert.equal(r.phases.dnsMs, undefined);
  } finally {
    server.close();
  }
});
