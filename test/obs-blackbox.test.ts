// The metrics HTTP port: /metrics, and /probe answering with blackbox_exporter
// metric names for one fresh probe of a local target.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { freePort, startTarget, type Target } from './helpers/target.js';
import { startMetricsServer, parseMetricsAddr, type RunningMetricsServer } from '../src/server/http.js';
import { probeTimeoutMs, tlsVersionLabel, ipAddrHash } from '../src/server/blackbox.js';
import { createMetrics } from '../src/server/metrics.js';
import { isConfigError } from '../src/common/errors.js';
import { DEFAULT_LIMITS } from '../src/probe/index.js';

let target: Target;
let server: RunningMetricsServer;
const registry = new Registry();
const metrics = createMetrics(registry, { defaultMetrics: false });

before(async () => {
  target = await startTarget();
  server = await startMetricsServer({
    listen: '127.0.0.1:0',
    registry,
    limits: { ...DEFAULT_LIMITS, maxTimeoutMs: 10_000 },
  });
});
after(async () => {
  await server.close();
  await target.close();
});

async function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`${server.url}${path}`, { headers });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

/** Parse the text format into "name{labels}" -> value. */
function parse(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

const probe = (t: string, extra = ''): string => `/probe?target=${encodeURIComponent(t)}${extra}`;

test('/metrics serves the registry in the Prometheus text format', async () => {
  metrics.attempt('http://a.test/', {
    seq: 1,
    startedAt: Date.now(),
    latencyMs: 5,
    phases: {},
    status: 200,
    bodyBytes: 0,
    reused: false,
  });
  const r = await get('/metrics');
  assert.equal(r.status, 200);
  assert.match(r.type ?? '', /^text\/plain; version=0\.0\.4/);
  assert.match(r.body, /# HELP prober_latency_seconds /);
  assert.match(r.body, /prober_latency_seconds\{endpoint="http:\/\/a\.test\/"\} 0\.005/);
});

test('/probe of a healthy target: blackbox metric names with plausible values', async () => {
  const before = target.requests();
  const r = await get(probe(`${target.url}/ok`), { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
  assert.equal(r.status, 200, r.body);
  assert.equal(target.requests(), before + 1, 'exactly one fresh attempt');
  const m = parse(r.body);
  assert.equal(m.get('probe_success'), 1);
  assert.equal(m.get('probe_http_status_code'), 200);
  assert.equal(m.get('probe_http_version'), 1.1);
  assert.equal(m.get('probe_http_ssl'), 0);
  assert.equal(m.get('probe_ip_protocol'), 4);
  assert.equal(m.get('probe_ip_addr_hash'), 3668918509, "blackbox 0.23's value for 127.0.0.1");
  assert.equal(m.get('probe_http_content_length'), 3, '"ok\\n"');
  assert.equal(m.get('probe_http_redirects'), 0);
  assert.equal(m.get('probe_dns_lookup_time_seconds'), 0, 'IP literal: no DNS');
  const duration = m.get('probe_duration_seconds')!;
  assert.ok(duration > 0 && duration < 5, `duration ${duration}`);
  for (const phase of ['resolve', 'connect', 'tls', 'processing', 'transfer']) {
    const v = m.get(`probe_http_duration_seconds{phase="${phase}"}`);
    assert.ok(v !== undefined && v >= 0 && v <= duration, `${phase} = ${v}`);
  }
  assert.ok(m.get('probe_http_duration_seconds{phase="connect"}')! > 0);
  assert.equal(m.get('probe_http_duration_seconds{phase="tls"}'), 0);
  assert.ok(!r.body.includes('probe_ssl_earliest_cert_expiry'), 'no TLS metrics for http');
});

test('/probe: a bad status is probe_success 0 (HTTP 200), http_2xx rejects 3xx like blackbox', async () => {
  const r = await get(probe(`${target.url}/status/503`));
  assert.equal(r.status, 200);
  const m = parse(r.body);
  assert.equal(m.get('probe_success'), 0);
  assert.equal(m.get('probe_http_status_code'), 503);

  const redirect = parse((await get(probe(`${target.url}/status/302`))).body);
  assert.equal(redirect.get('probe_success'), 0);
  const lenient = parse((await get(probe(`${target.url}/status/302`, '&module=http_2xx_3xx'))).body);
  assert.equal(lenient.get('probe_success'), 1);
});

test('/probe: the built-in http_2xx follows redirects as blackbox does; http_2xx_3xx does not', async () => {
  const followed = parse((await get(probe(`${target.url}/redirect/2`))).body);
  assert.equal(followed.get('probe_success'), 1);
  assert.equal(followed.get('probe_http_status_code'), 200);
  assert.equal(followed.get('probe_http_redirects'), 2);
  const kept = parse((await get(probe(`${target.url}/redirect/2`, '&module=http_2xx_3xx'))).body);
  assert.equal(kept.get('probe_success'), 1);
  assert.equal(kept.get('probe_http_status_code'), 302);
  assert.equal(kept.get('probe_http_redirects'), 0);
});

test('/probe: refused connection is a failed probe with status 0', async () => {
  // A port that was just free: bind, note, close.
  const port = await freePort();
  const m = parse((await get(probe(`http://127.0.0.1:${port}/`))).body);
  assert.equal(m.get('probe_success'), 0);
  assert.equal(m.get('probe_http_status_code'), 0);
});

test('/probe: module http_head sends HEAD; unknown module and bad targets are 400 with a clear message', async () => {
  const before = target.hits.get('/ok') ?? 0;
  const head = parse((await get(probe(`${target.url}/ok`, '&module=http_head'))).body);
  assert.equal(head.get('probe_success'), 1);
  assert.equal(head.get('probe_http_content_length'), 0);
  assert.equal(target.hits.get('/ok'), before + 1);

  const unknown = await get(probe(`${target.url}/ok`, '&module=tcp_connect'));
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /Unknown module "tcp_connect": expected one of http_2xx, http_head/);

  const missing = await get('/probe');
  assert.equal(missing.status, 400);
  assert.match(missing.body, /Target parameter is missing/);

  const ftp = await get(probe('ftp://127.0.0.1/x'));
  assert.equal(ftp.status, 400);
  assert.match(ftp.body, /^target must be an absolute http:\/\/ or https:\/\/ URL/);

  const badHeader = await get(probe(`${target.url}/ok`), { 'X-Prometheus-Scrape-Timeout-Seconds': 'soon' });
  assert.equal(badHeader.status, 400);
  assert.match(badHeader.body, /X-Prometheus-Scrape-Timeout-Seconds must be a positive number/);
});

test("/probe debug=true: the probe log, the metrics and the module as text, in blackbox's layout", async () => {
  const ok = await get(probe(`${target.url}/ok`, '&debug=true'), { 'X-Prometheus-Scrape-Timeout-Seconds': '5' });
  assert.equal(ok.status, 200, ok.body);
  assert.match(ok.type ?? '', /^text\/plain/);
  const logs = ok.body.indexOf('Logs for the probe:\n');
  const metricsAt = ok.body.indexOf('\n\n\nMetrics that would have been returned:\n');
  const moduleAt = ok.body.indexOf('\n\n\nModule configuration:\n');
  assert.ok(logs === 0 && metricsAt > logs && moduleAt > metricsAt, ok.body);
  const log = ok.body.slice(0, metricsAt);
  assert.match(
    log,
    /^ts=\S+ module=http_2xx target=http:\/\/127\.0\.0\.1:\d+\/ok level=info msg="Beginning probe" probe=http timeout_seconds=4\.5$/m,
  );
  assert.match(log, /msg="Resolved target address" target=127\.0\.0\.1 ip=127\.0\.0\.1$/m);
  assert.match(log, /msg="Received HTTP response" status_code=200 http_version=1\.1 body_bytes=3$/m);
  assert.match(log, /msg="Probe succeeded" duration_seconds=/);
  const m = parse(ok.body.slice(metricsAt, moduleAt));
  assert.equal(m.get('probe_success'), 1);
  assert.equal(m.get('probe_http_status_code'), 200);
  assert.equal(
    ok.body.slice(moduleAt + '\n\n\nModule configuration:\n'.length),
    [
      'prober: http',
      'timeout: 4.5s',
      'http:',
      '  valid_status_codes:',
      '    - 200-299',
      '  method: GET',
      '  follow_redirects: true',
      '  max_redirects: 10',
      '  fail_if_ssl: false',
      '  fail_if_not_ssl: false',
      '  tls_config:',
      '    insecure_skip_verify: false',
      '  ip_protocol_fallback: true',
      '  enable_http2: false',
      '',
    ].join('\n'),
  );

  const bad = await get(probe(`${target.url}/status/404`, '&module=http_head&debug=true'));
  assert.equal(bad.status, 200, 'a failed probe still answers 200 with its log');
  assert.match(bad.body, /level=error msg="[^"]*404[^"]*" reason=\S+/);
  assert.match(bad.body, /msg="Probe failed"/);
  assert.match(bad.body, /\nprobe_success 0\n/);
  assert.match(bad.body, / {2}method: HEAD\n/);
  assert.equal((await get(probe(`${target.url}/ok`, '&debug=false'))).body.startsWith('# HELP'), true);
});

test('/probe: target without a scheme is probed over http, as blackbox does', async () => {
  const m = parse((await get(probe(`127.0.0.1:${target.port}/ok`))).body);
  assert.equal(m.get('probe_success'), 1);
});

test('/probe honours the scrape timeout header: a hanging target fails within it', async () => {
  const started = performance.now();
  const r = await get(probe(`${target.url}/hang`), { 'X-Prometheus-Scrape-Timeout-Seconds': '1' });
  const elapsed = performance.now() - started;
  assert.equal(r.status, 200);
  const m = parse(r.body);
  assert.equal(m.get('probe_success'), 0);
  // 1 s header minus the offset: the probe gives up well before Prometheus would.
  assert.ok(m.get('probe_duration_seconds')! < 1, `probe took ${m.get('probe_duration_seconds')} s`);
  assert.ok(elapsed < 5000, `response after ${elapsed} ms`);
});

test('timeout arithmetic: header minus offset, at least half, capped by the limit', () => {
  const limits = { ...DEFAULT_LIMITS, maxTimeoutMs: 10_000, defaultTimeoutMs: 5_000 };
  assert.equal(probeTimeoutMs('10', limits), 9_500);
  assert.equal(probeTimeoutMs('0.6', limits), 300);
  assert.equal(probeTimeoutMs('120', limits), 10_000);
  assert.equal(probeTimeoutMs(undefined, limits), 5_000);
  assert.throws(() => probeTimeoutMs('-1', limits), /positive number/);
  assert.equal(tlsVersionLabel('TLSv1.3'), 'TLS 1.3');
  assert.equal(tlsVersionLabel('TLSv1'), 'TLS 1.0');
});

test("probe_ip_addr_hash is blackbox's ipHash: FNV-1a 32 over 4 (IPv4) or 16 (IPv6) address bytes", () => {
  // Values from Debian's prometheus-blackbox-exporter 0.23 (test/obs-blackbox-compat.test.ts re-checks them live).
  assert.equal(ipAddrHash('127.0.0.1'), 3668918509);
  assert.equal(ipAddrHash('::1'), 1751717746);
  assert.equal(ipAddrHash('0:0:0:0:0:0:0:1'), 1751717746);
  assert.equal(ipAddrHash('fe80::1%eth0'), ipAddrHash('fe80::1'));
});

test('other paths: 404, 405, liveness', async () => {
  assert.equal((await get('/nope')).status, 404);
  assert.equal((await get('/-/healthy')).status, 200);
  const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
  assert.equal(post.status, 405);
  await post.text();
  assert.deepEqual(parseMetricsAddr(':9464'), { host: '0.0.0.0', port: 9464 });
  assert.throws(() => parseMetricsAddr('9464'), /metrics address must be \[host\]:port/);
  assert.throws(
    () => parseMetricsAddr('9464'),
    (e: unknown) => isConfigError(e) && e.code === 'PROBER_ERR_CONFIG',
  );
});

test('/probe of an https target reports TLS, cert expiry and version', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'prober-tls-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '30',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ]);
  } catch (err) {
    t.skip(`openssl not available to make a test certificate: ${(err as Error).message}`);
    return;
  }
  const cert = await readFile(join(dir, 'cert.pem'));
  const tlsTarget = https.createServer({ key: await readFile(join(dir, 'key.pem')), cert }, (_req, res) =>
    res.end('secure\n'),
  );
  tlsTarget.listen(0, '127.0.0.1');
  await once(tlsTarget, 'listening');
  const port = (tlsTarget.address() as AddressInfo).port;
  const tlsServer = await startMetricsServer({
    listen: '127.0.0.1:0',
    registry: new Registry(),
    blackbox: { tls: { ca: cert } },
  });
  t.after(async () => {
    await tlsServer.close();
    tlsTarget.closeAllConnections();
    tlsTarget.close();
  });

  const res = await fetch(`${tlsServer.url}${probe(`https://127.0.0.1:${port}/`)}`);
  const body = await res.text();
  const m = parse(body);
  assert.equal(m.get('probe_success'), 1, body);
  assert.equal(m.get('probe_http_ssl'), 1);
  assert.ok(m.get('probe_http_duration_seconds{phase="tls"}')! > 0);
  const expiry = m.get('probe_ssl_earliest_cert_expiry')!;
  const in30Days = Date.now() / 1000 + 30 * 86400;
  assert.ok(Math.abs(expiry - in30Days) < 2 * 86400, `expiry ${expiry} vs ${in30Days}`);
  assert.match(body, /probe_tls_version_info\{version="TLS 1\.[23]"\} 1/);

  // Without the CA the certificate is rejected: verification is never off.
  const plain = await startMetricsServer({ listen: '127.0.0.1:0', registry: new Registry() });
  t.after(() => plain.close());
  const rejected = parse(await (await fetch(`${plain.url}${probe(`https://127.0.0.1:${port}/`)}`)).text());
  assert.equal(rejected.get('probe_success'), 0);
  assert.equal(rejected.get('probe_http_ssl'), 0);
});
