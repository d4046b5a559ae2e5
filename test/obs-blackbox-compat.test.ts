// Side by side with the real thing: Debian's prometheus-blackbox-exporter and
// prober's /probe probe the same local targets with the same modules, and the
// answers are diffed: metric names, label names, and the values that must agree.
// Loopback only; both servers and the targets are stopped when the test ends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { freePort, startTarget } from './helpers/target.js';
import { testPki } from './helpers/certs.js';
import { until } from './helpers/wait.js';
import { startMetricsServer } from '../src/server/http.js';
import { DEFAULT_LIMITS } from '../src/probe/index.js';

/** The package's binary; a skip outside CI when absent, an error in CI (.ci/run installs it). */
function exporterBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v prometheus-blackbox-exporter'], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : undefined;
  if (!path && process.env.CI) {
    throw new Error('prometheus-blackbox-exporter is required in CI (apt-get install -y prometheus-blackbox-exporter)');
  }
  return path;
}
const EXPORTER = exporterBinary();

/**
 * Metric names blackbox's http prober exposes that prober does not (see
 * docs/metrics.md, "Differences to know"); any other missing name fails.
 */
const NOT_EXPORTED = new Set(['probe_ssl_last_chain_info']);

/** Values that must agree, per target. */
const MUST_AGREE = [
  'probe_success',
  'probe_http_status_code',
  'probe_http_version',
  'probe_http_ssl',
  'probe_http_redirects',
  'probe_ip_protocol',
  'probe_ip_addr_hash',
  'probe_ssl_earliest_cert_expiry',
  'probe_ssl_last_chain_expiry_timestamp_seconds',
  'probe_failed_due_to_regex',
];

interface Family {
  /** Sorted label names of each series. */
  labels: Set<string>;
  values: Map<string, number>;
}

function parse(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const [, name, labels = '', value] = m;
    const names = [...labels.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)].map((x) => x[1]).sort();
    const fam = out.get(name!) ?? { labels: new Set<string>(), values: new Map<string, number>() };
    fam.labels.add(names.join(','));
    fam.values.set(labels, Number(value));
    out.set(name!, fam);
  }
  return out;
}

test('prober /probe and Debian prometheus-blackbox-exporter agree on the same targets and modules', {
  skip: EXPORTER
    ? false
    : 'prometheus-blackbox-exporter is not installed (apt-get install prometheus-blackbox-exporter)',
  timeout: 90_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'prober-bbcompat-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const pki = await testPki(t);

  const target = await startTarget();
  t.after(() => target.close());
  const tlsTarget = https.createServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) =>
    res.end('secure\n'),
  );
  tlsTarget.listen(0, '127.0.0.1');
  await once(tlsTarget, 'listening');
  t.after(() => {
    tlsTarget.closeAllConnections();
    tlsTarget.close();
  });
  const tlsPort = (tlsTarget.address() as AddressInfo).port;

  // The module file both sides use: prober's built-in modules, in blackbox's
  // syntax (redirects not followed, as prober never follows them).
  const moduleFile = join(dir, 'blackbox.yml');
  const http = (extra: string) =>
    `    prober: http\n    timeout: 5s\n    http:\n      no_follow_redirects: true\n      tls_config:\n        ca_file: ${pki.ca.certFile}\n${extra}`;
  await writeFile(
    moduleFile,
    [
      'modules:',
      '  http_2xx:',
      http(''),
      '  http_head:',
      http('      method: HEAD\n'),
      '  http_2xx_3xx:',
      http(`      valid_status_codes: [${Array.from({ length: 200 }, (_, i) => 200 + i).join(', ')}]\n`),
    ].join('\n'),
  );

  const port = await freePort();
  let log = '';
  const proc = spawn(
    EXPORTER!,
    [`--config.file=${moduleFile}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d: Buffer) => (log += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = once(proc, 'exit');
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  });
  const exporter = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (proc.exitCode !== null) throw new Error(`blackbox exporter exited (${proc.exitCode}): ${log}`);
      return (await fetch(`${exporter}/-/healthy`).catch(() => undefined))?.ok === true;
    },
    20_000,
    'blackbox exporter ready',
    100,
  );

  const prober = await startMetricsServer({
    listen: '127.0.0.1:0',
    registry: new Registry(),
    limits: { ...DEFAULT_LIMITS, maxTimeoutMs: 10_000 },
    blackbox: { tls: { ca: pki.ca.cert } },
  });
  t.after(() => prober.close());

  const refused = await freePort();
  const cases: Array<[module: string, url: string]> = [
    ['http_2xx', `${target.url}/ok`],
    ['http_2xx', `${target.url}/status/404`],
    ['http_2xx', `${target.url}/delay/200`],
    ['http_2xx', `${target.url}/status/302`],
    ['http_2xx_3xx', `${target.url}/status/302`],
    ['http_head', `${target.url}/ok`],
    ['http_2xx', `https://localhost:${tlsPort}/`],
    ['http_2xx', `http://127.0.0.1:${refused}/`],
  ];
  const query = (module: string, url: string) => `/probe?module=${module}&target=${encodeURIComponent(url)}`;
  const scrape = async (base: string, path: string): Promise<Map<string, Family>> => {
    const res = await fetch(`${base}${path}`, { headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '5' } });
    const body = await res.text();
    assert.equal(res.status, 200, `${base}${path}: ${body}`);
    return parse(body);
  };

  const report: string[] = [];
  for (const [module, url] of cases) {
    const what = `${module} ${url}`;
    const [theirs, ours] = await Promise.all([
      scrape(exporter, query(module, url)),
      scrape(prober.url, query(module, url)),
    ]);

    // Names: ours must cover blackbox's http prober metrics, but for the documented exceptions.
    const missing = [...theirs.keys()].filter((n) => !ours.has(n) && !NOT_EXPORTED.has(n));
    assert.deepEqual(missing, [], `${what}: blackbox metrics prober lacks`);
    const extra = [...ours.keys()].filter((n) => !theirs.has(n));
    if (extra.length > 0) report.push(`${what}: only prober: ${extra.join(' ')}`);

    // Label names, metric by metric.
    for (const [name, fam] of theirs) {
      const mine = ours.get(name);
      if (!mine) continue;
      assert.deepEqual([...mine.labels].sort(), [...fam.labels].sort(), `${what}: label names of ${name}`);
    }
    assert.deepEqual(
      [...(ours.get('probe_http_duration_seconds')?.values.keys() ?? [])].sort(),
      [...(theirs.get('probe_http_duration_seconds')?.values.keys() ?? [])].sort(),
      `${what}: phases`,
    );
    const tlsVersion = (m: Map<string, Family>) => [...(m.get('probe_tls_version_info')?.values.keys() ?? [])];
    assert.deepEqual(tlsVersion(ours), tlsVersion(theirs), `${what}: probe_tls_version_info labels`);

    const v = (m: Map<string, Family>, name: string) => m.get(name)?.values.get('');
    if (url.startsWith('https:')) {
      assert.ok(
        v(theirs, 'probe_ssl_earliest_cert_expiry')! > Date.now() / 1000,
        `${what}: blackbox reports the expiry`,
      );
    }
    for (const name of MUST_AGREE) {
      assert.equal(v(ours, name), v(theirs, name), `${what}: ${name}`);
    }
    // Content length: blackbox reports the Content-Length header, prober the body bytes
    // read. They agree for a GET with a Content-Length; HEAD reads no body, so prober says 0
    // where blackbox says the header's value or -1 without one (documented).
    const cl = module === 'http_head' ? 0 : v(theirs, 'probe_http_content_length');
    if (v(theirs, 'probe_http_status_code') !== 0) {
      assert.equal(v(ours, 'probe_http_content_length'), cl, `${what}: probe_http_content_length`);
      assert.equal(
        v(ours, 'probe_http_uncompressed_body_length'),
        v(theirs, 'probe_http_uncompressed_body_length'),
        `${what}: probe_http_uncompressed_body_length`,
      );
    }
    report.push(
      `${what}: agree on success=${v(ours, 'probe_success')} status=${v(ours, 'probe_http_status_code')} ` +
        `ip_hash=${v(ours, 'probe_ip_addr_hash')} content_length=${v(ours, 'probe_http_content_length')}/${v(theirs, 'probe_http_content_length')}`,
    );
  }
  for (const line of report) t.diagnostic(line);
});
