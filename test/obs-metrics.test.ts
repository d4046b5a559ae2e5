import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { RunStats } from '../src/stats/index.js';
import { createMetrics, OVERFLOW_ENDPOINT, redactEndpoint } from '../src/server/metrics.js';
import type { AttemptResult } from '../src/probe/types.js';

function attempt(over: Partial<AttemptResult> = {}): AttemptResult {
  return {
    seq: 1,
    startedAt: Date.now(),
    latencyMs: 12,
    phases: { dnsMs: 1, connectMs: 2, ttfbMs: 8, transferMs: 1 },
    status: 200,
    bodyBytes: 3,
    httpVersion: '1.1',
    remoteAddress: '127.0.0.1:80',
    reused: false,
    ...over,
  };
}

async function value(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  assert.ok(metric, `metric ${name} is registered`);
  const data = await metric.get();
  const found = data.values.find((v) => {
    const mn = (v as { metricName?: string }).metricName;
    if (mn !== undefined && mn !== name) return false;
    return Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want);
  });
  return found?.value;
}

test('latency gauge: one labelled series per endpoint, latest value wins', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  m.attempt('http://a.test/ok', attempt({ latencyMs: 10 }));
  m.attempt('http://a.test/ok', attempt({ latencyMs: 30 }));
  m.attempt('http://b.test/ok', attempt({ latencyMs: 250 }));
  assert.equal(await value(registry, 'prober_latency_seconds', { endpoint: 'http://a.test/ok' }), 0.03);
  assert.equal(await value(registry, 'prober_latency_seconds', { endpoint: 'http://b.test/ok' }), 0.25);
  const text = await registry.metrics();
  assert.match(text, /prober_latency_seconds\{endpoint="http:\/\/a\.test\/ok"\} 0\.03/);
  assert.match(text, /prober_latency_seconds\{endpoint="http:\/\/b\.test\/ok"\} 0\.25/);
});

test('histogram, counters, phases and failures by bounded reason', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  const ep = 'http://a.test/x';
  m.attempt(ep, attempt({ latencyMs: 3 }));
  m.attempt(
    ep,
    attempt({
      latencyMs: 700,
      status: 503,
      error: { reason: 'BAD_STATUS', message: 'HTTP 503 is not expected', temporary: true },
    }),
  );
  m.attempt(
    ep,
    attempt({
      latencyMs: 1,
      phases: { dnsMs: 0.5 },
      status: undefined,
      error: {
        reason: 'CONNECT_REFUSED',
        message: 'connect ECONNREFUSED 10.0.0.1:80 (free text)',
        temporary: true,
        code: 'ECONNREFUSED',
      },
    }),
  );

  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: ep, result: 'success' }), 1);
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: ep, result: 'failure' }), 2);
  assert.equal(await value(registry, 'prober_failures_total', { endpoint: ep, reason: 'bad_status' }), 1);
  assert.equal(await value(registry, 'prober_failures_total', { endpoint: ep, reason: 'connect_refused' }), 1);
  assert.equal(await value(registry, 'prober_http_responses_total', { endpoint: ep, code: '200' }), 1);
  assert.equal(await value(registry, 'prober_http_responses_total', { endpoint: ep, code: '503' }), 1);

  const text = await registry.metrics();
  // The free-form message never becomes a label value.
  assert.doesNotMatch(text, /ECONNREFUSED|free text/);
  // Histogram: 3 ms lands in le=0.005, 700 ms in le=1 but not le=0.5.
  assert.match(
    text,
    /prober_attempt_duration_seconds_bucket\{le="0\.005",endpoint="http:\/\/a\.test\/x",result="success"\} 1/,
  );
  assert.match(
    text,
    /prober_attempt_duration_seconds_bucket\{le="0\.5",endpoint="http:\/\/a\.test\/x",result="failure"\} 1/,
  );
  assert.match(
    text,
    /prober_attempt_duration_seconds_bucket\{le="1",endpoint="http:\/\/a\.test\/x",result="failure"\} 2/,
  );
  assert.match(text, /prober_attempt_duration_seconds_count\{endpoint="http:\/\/a\.test\/x",result="failure"\} 2/);
  // Phases: dns seen 3 times, tls never (unset is not zero).
  assert.match(text, /prober_attempt_phase_duration_seconds_count\{endpoint="http:\/\/a\.test\/x",phase="dns"\} 3/);
  assert.match(text, /prober_attempt_phase_duration_seconds_count\{endpoint="http:\/\/a\.test\/x",phase="ttfb"\} 2/);
  assert.doesNotMatch(text, /phase="tls"/);
});

test('endpoint cardinality is capped; overflow goes to "other" and is counted', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { maxEndpoints: 2, defaultMetrics: false });
  for (const host of ['a', 'b', 'c', 'd', 'a']) m.attempt(`http://${host}.test/`, attempt());
  const text = await registry.metrics();
  const series = [...text.matchAll(/^prober_latency_seconds\{endpoint="([^"]+)"\}/gm)].map((x) => x[1]).sort();
  assert.deepEqual(series, ['http://a.test/', 'http://b.test/', OVERFLOW_ENDPOINT]);
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: OVERFLOW_ENDPOINT, result: 'success' }), 2);
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: 'http://a.test/', result: 'success' }), 2);
  assert.equal(await value(registry, 'prober_endpoint_label_overflow_total'), 2);
});

/** Every sample of the exposition that carries `endpoint="EP"`. */
function linesFor(text: string, endpoint: string): string[] {
  return text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`endpoint="${endpoint}"`));
}

test('series expiry: an endpoint without attempts for the TTL loses every series (gauges, counters, histograms, TLS)', async () => {
  let clock = 1_000_000;
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false, seriesTtlMs: 60_000, now: () => clock });
  const old = 'https://old.test/';
  const fresh = 'https://fresh.test/';
  const tls = { version: 'TLSv1.3', cipher: 'x', sessionResumed: false, earliestCertExpiry: 2e9 };
  m.attempt(old, attempt({ tls }));
  m.attempt(old, attempt({ status: 503, error: { reason: 'BAD_STATUS', message: 'HTTP 503', temporary: true }, tls }));
  let text = await registry.metrics();
  assert.ok(linesFor(text, old).length > 10, 'the endpoint has series');
  assert.equal(await value(registry, 'prober_last_attempt_timestamp_seconds', { endpoint: old }), 1000);

  clock += 40_000;
  m.attempt(fresh, attempt());
  clock += 20_000; // old: 60 s without an attempt; fresh: 20 s
  text = await registry.metrics();
  assert.deepEqual(linesFor(text, old), [], 'no series of the silent endpoint is left');
  assert.ok(linesFor(text, fresh).length > 10, 'the fresh endpoint keeps its series');
  assert.equal(await value(registry, 'prober_latency_seconds', { endpoint: fresh }), 0.012);

  // It comes back from zero when probed again.
  m.attempt(old, attempt());
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: old, result: 'success' }), 1);
});

test('series expiry frees the endpoint slot under the cap; TTL 0 keeps series for ever', async () => {
  let clock = 0;
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false, maxEndpoints: 1, seriesTtlMs: 10_000, now: () => clock });
  m.attempt('http://a.test/', attempt());
  m.attempt('http://b.test/', attempt());
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: OVERFLOW_ENDPOINT, result: 'success' }), 1);
  clock += 10_000;
  // No scrape in between: the new endpoint's arrival sweeps.
  m.attempt('http://b.test/', attempt());
  assert.equal(await value(registry, 'prober_attempts_total', { endpoint: 'http://b.test/', result: 'success' }), 1);
  const text = await registry.metrics();
  assert.deepEqual(linesFor(text, 'http://a.test/'), []);
  assert.deepEqual(linesFor(text, OVERFLOW_ENDPOINT), [], 'the overflow series expire too');

  const keep = new Registry();
  const k = createMetrics(keep, { defaultMetrics: false, seriesTtlMs: 0, now: () => clock });
  k.attempt('http://a.test/', attempt());
  clock += 365 * 86_400_000;
  assert.equal(await value(keep, 'prober_latency_seconds', { endpoint: 'http://a.test/' }), 0.012);
  assert.throws(() => createMetrics(new Registry(), { seriesTtlMs: -1 }), /seriesTtlMs must be a number of ms >= 0/);
});

test('credentials and fragments never reach a label', async () => {
  assert.equal(redactEndpoint('http://user:secret@a.test/p?q=1#frag'), 'http://a.test/p?q=1');
  assert.equal(redactEndpoint('http://a.test/p'), 'http://a.test/p');
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  m.attempt('https://user:hunter2@a.test/', attempt());
  const text = await registry.metrics();
  assert.doesNotMatch(text, /hunter2/);
  assert.match(text, /endpoint="https:\/\/a\.test\/"/);
});

test('stream health: events, backpressure time and stalls, open streams', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  m.streamOpened();
  m.streamOpened();
  m.eventSent();
  m.eventSent();
  m.eventSent();
  m.backpressureWait(250);
  m.backpressureWait(750);
  m.streamClosed();
  assert.equal(await value(registry, 'prober_streams_open'), 1);
  assert.equal(await value(registry, 'prober_stream_events_sent_total'), 3);
  assert.equal(await value(registry, 'prober_stream_backpressure_wait_seconds_total'), 1);
  assert.equal(await value(registry, 'prober_stream_backpressure_stalls_total'), 2);
});

test('self-check: per-call event-loop delay p99 and overloaded calls', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  const base = new RunStats().summary();
  m.summary('Probe', base); // not measured: not observed
  m.summary('Probe', { ...base, eventLoopDelay: { p99Ms: 2, maxMs: 3, overloaded: false } });
  m.summary('ProbeStream', { ...base, eventLoopDelay: { p99Ms: 40, maxMs: 90, overloaded: true } });
  const text = await registry.metrics();
  assert.match(text, /^prober_event_loop_delay_seconds_count 2$/m);
  assert.match(text, /^prober_event_loop_delay_seconds_bucket\{le="0.0025"\} 1$/m);
  assert.match(text, /^prober_event_loop_delay_seconds_bucket\{le="0.05"\} 2$/m);
  assert.match(text, /^prober_overloaded_calls_total 1$/m);
});

test('every metric has help text and a unit or _total suffix; process metrics included', async () => {
  const registry = new Registry();
  createMetrics(registry);
  const metrics = await registry.getMetricsAsJSON();
  const names = metrics.map((x) => x.name);
  assert.ok(names.includes('process_cpu_seconds_total'), 'default process metrics are registered');
  assert.ok(names.includes('nodejs_eventloop_lag_seconds'));
  for (const x of metrics.filter((x) => x.name.startsWith('prober_') || x.name.startsWith('grpc_'))) {
    assert.ok(x.help.length > 10, `${x.name} has help`);
    if (String(x.type) === 'counter') assert.match(x.name, /_total$/, `${x.name} is a counter ending in _total`);
    // Gauges that count things (streams) are unitless, as Prometheus names them; _info gauges carry labels, value 1.
    else if (!['prober_streams_open', 'prober_streams_blocked'].includes(x.name)) {
      assert.match(x.name, /_seconds$|_info$/, `${x.name} has a unit suffix`);
    }
  }
});

test('bad maxEndpoints is rejected with a clear message', () => {
  assert.throws(() => createMetrics(new Registry(), { maxEndpoints: 0 }), /maxEndpoints must be an integer >= 1/);
});

test('gRPC metrics use go-grpc-prometheus names and labels', async () => {
  const registry = new Registry();
  const m = createMetrics(registry, { defaultMetrics: false });
  const l = { grpc_service: 'prober.v1.Prober', grpc_method: 'Probe', grpc_type: 'unary' } as const;
  m.grpc.started(l);
  m.grpc.msgReceived(l);
  m.grpc.msgSent(l);
  m.grpc.handled(l, 'OK', 0.02);
  const text = await registry.metrics();
  assert.match(
    text,
    /grpc_server_started_total\{grpc_service="prober\.v1\.Prober",grpc_method="Probe",grpc_type="unary"\} 1/,
  );
  assert.match(
    text,
    /grpc_server_handled_total\{grpc_service="prober\.v1\.Prober",grpc_method="Probe",grpc_type="unary",grpc_code="OK"\} 1/,
  );
  assert.match(text, /grpc_server_msg_sent_total\{[^}]*\} 1/);
  assert.match(
    text,
    /grpc_server_handling_seconds_bucket\{le="0\.025",grpc_service="prober\.v1\.Prober",grpc_method="Probe",grpc_type="unary"\} 1/,
  );
});
