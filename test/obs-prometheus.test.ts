// A real Prometheus (Debian's `prometheus` binary) scraping a running prober
// with deploy/prometheus/prometheus.yml (addresses, targets and intervals
// rewritten for 127.0.0.1), asserted through its HTTP API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTarget } from './helpers/target.js';
import { PROMETHEUS, startPrometheus } from './helpers/prometheus.js';
import { startServer } from '../src/server/server.js';
import { connect, probeOnce } from '../src/client/index.js';

const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));

const prometheus = PROMETHEUS;

/** Rewrite the shipped config for this test; fails loudly if its shape changed. */
export function localConfig(shipped: string, metricsAddr: string, targets: string[], rulesPath: string): string {
  const replace = (s: string, from: RegExp, to: string): string => {
    assert.match(s, from, `deploy/prometheus/prometheus.yml no longer contains ${from}`);
    return s.replace(from, to);
  };
  let c = shipped;
  c = replace(c, /scrape_interval: 15s/, 'scrape_interval: 1s');
  c = replace(c, /scrape_timeout: 10s/, 'scrape_timeout: 1s');
  c = replace(c, /evaluation_interval: 15s/, 'evaluation_interval: 1s');
  c = replace(c, /- rules\.yml/, `- ${rulesPath}`);
  c = replace(c, /prober:9464/g, metricsAddr);
  c = replace(
    c,
    / {10}- https:\/\/example\.com\/\n {10}- http:\/\/example\.org\/healthz\n/,
    targets.map((t) => `          - ${t}\n`).join(''),
  );
  return c;
}

test('Prometheus scrapes /metrics and /probe: both gauge series, the histogram, blackbox relabelling', {
  skip: prometheus ? false : 'prometheus not installed (Debian: apt-get install -y prometheus); .ci/run installs it',
  timeout: 120_000,
}, async (t) => {
  const targetA = await startTarget();
  const targetB = await startTarget();
  t.after(() => targetA.close());
  t.after(() => targetB.close());
  const srv = await startServer({ listen: '127.0.0.1:0', observability: { metrics: { listen: '127.0.0.1:0' } } });
  t.after(() => srv.close(0));
  const metricsAddr = `127.0.0.1:${srv.metrics!.port}`;

  const dir = await mkdtemp(join(tmpdir(), 'prober-prom-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const endpointA = `${targetA.url}/ok`;
  const endpointB = `${targetB.url}/delay/50`;
  const shipped = await readFile(root('deploy/prometheus/prometheus.yml'), 'utf8');
  await writeFile(
    join(dir, 'prometheus.yml'),
    localConfig(shipped, metricsAddr, [endpointA, endpointB], root('deploy/prometheus/rules.yml')),
  );

  const { api, until, query } = await startPrometheus(t, join(dir, 'prometheus.yml'), join(dir, 'data'));

  const conn = connect(srv.address);
  try {
    await probeOnce(conn, { endpoint: endpointA, repetitions: 5 });
    await probeOnce(conn, { endpoint: endpointB, repetitions: 3 });
  } finally {
    conn.close();
  }

  // Both labelled gauge series, with plausible latencies.
  const gauges = await until('two prober_latency_seconds series', async () => {
    const r = await query('prober_latency_seconds{job="prober"}');
    return r.length === 2 ? r : undefined;
  });
  const gauge = new Map(gauges.map((s) => [s.metric.endpoint, Number(s.value[1])]));
  assert.deepEqual([...gauge.keys()].sort(), [endpointA, endpointB].sort());
  assert.ok(gauge.get(endpointA)! > 0 && gauge.get(endpointA)! < 5, `A latency ${gauge.get(endpointA)}`);
  assert.ok(
    gauge.get(endpointB)! >= 0.045 && gauge.get(endpointB)! < 5,
    `B latency ${gauge.get(endpointB)} (50 ms delay)`,
  );

  // The histogram: counts per endpoint, and a median that matches the delay.
  const counts = await query('prober_attempt_duration_seconds_count{job="prober",result="success"}');
  assert.deepEqual(
    new Map(counts.map((s) => [s.metric.endpoint, Number(s.value[1])])),
    new Map([
      [endpointA, 5],
      [endpointB, 3],
    ]),
  );
  const medians = await query(
    'histogram_quantile(0.5, sum by (endpoint, le) (prober_attempt_duration_seconds_bucket{job="prober"}))',
  );
  const median = new Map(medians.map((s) => [s.metric.endpoint, Number(s.value[1])]));
  // B waits 50 ms: its median lies in or above the (0.05, 0.1] bucket.
  assert.ok(median.get(endpointB)! >= 0.05 && median.get(endpointB)! < 5, `B median ${median.get(endpointB)}`);
  assert.ok(median.get(endpointA)! > 0 && median.get(endpointA)! < 5, `A median ${median.get(endpointA)}`);
  const buckets = await query(`prober_attempt_duration_seconds_bucket{endpoint="${endpointA}",le="+Inf"}`);
  assert.equal(Number(buckets[0]?.value[1]), 5);

  // gRPC server metrics, scraped.
  const handled = await query('grpc_server_handled_total{grpc_method="Probe",grpc_code="OK"}');
  assert.equal(Number(handled[0]?.value[1]), 2);

  // /probe through the shipped relabelling: instance = target, success = 1.
  const probes = await until('probe_success for both targets', async () => {
    const r = await query('probe_success{job="prober_probe"}');
    return r.length === 2 ? r : undefined;
  });
  assert.deepEqual(
    probes.map((s) => [s.metric.instance, s.value[1]]).sort(),
    [
      [endpointA, '1'],
      [endpointB, '1'],
    ].sort(),
  );
  const phase = await query(
    `probe_http_duration_seconds{job="prober_probe",phase="processing",instance="${endpointB}"}`,
  );
  assert.ok(Number(phase[0]?.value[1]) >= 0.045, `processing phase of the delayed target ${phase[0]?.value[1]}`);

  // Recording rules load and evaluate over the scraped data.
  const recorded = await until('recording rule prober:attempts:rate5m', async () => {
    const r = await query('prober:attempts:rate5m');
    return r.length === 2 ? r : undefined;
  });
  assert.deepEqual(recorded.map((s) => s.metric.endpoint).sort(), [endpointA, endpointB].sort());
  const rules = (await (await fetch(`${api}/api/v1/rules`)).json()) as {
    data: { groups: Array<{ rules: Array<{ health: string; name: string; lastError?: string }> }> };
  };
  for (const r of rules.data.groups.flatMap((g) => g.rules)) {
    assert.notEqual(r.health, 'err', `rule ${r.name}: ${r.lastError}`);
  }

  // Every dashboard query parses and runs on a real Prometheus.
  const dash = JSON.parse(await readFile(root('deploy/grafana/dashboards/prober.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>;
  };
  for (const expr of dash.panels.flatMap((p) => p.targets ?? []).map((x) => x.expr)) {
    const q = expr.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$endpoint', '.*');
    await query(q);
  }
});
