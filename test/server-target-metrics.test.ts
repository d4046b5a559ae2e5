// Target metrics (src/server/target-metrics.ts) on a fresh registry, fed
// attempts by hand: blackbox's gauges per target as /probe computes them, a
// gauge the latest attempt lacks removed, counters by result and reason,
// slips, every series of a removed target gone, a change of the extra label
// names re-creating the metrics with the latest attempts shown at once, and
// the reload gauges.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DEFAULT_LIMITS, validateProbeInput } from '../src/probe/index.js';
import { targetLimits, type TargetDefinition } from '../src/server/config-targets.js';
import { createTargetMetrics } from '../src/server/target-metrics.js';
import { failedAttempt, okAttempt } from './helpers/tui-synthetic.js';
import { until } from './helpers/wait.js';

function def(name: string, labels: Record<string, string> = {}): TargetDefinition {
  const input = { endpoint: `http://${name}.test/`, repetitions: 0, intervalMs: 1000, timeoutMs: 1000, concurrency: 1 };
  return {
    name,
    url: input.endpoint,
    module: 'http_2xx',
    intervalMs: 1000,
    timeoutMs: 1000,
    labels,
    input,
    fingerprint: name,
  };
}
const spec = (d: TargetDefinition) => validateProbeInput(d.input, targetLimits(DEFAULT_LIMITS));

function value(text: string, series: RegExp): string | undefined {
  return new RegExp(`^${series.source} (\\S+)$`, 'm').exec(text)?.[1];
}

it('per-target gauges, counters, slips; removal; a label-name change; reload gauges', async () => {
  const registry = new Registry();
  const m = createTargetMetrics(registry);
  const a = def('a', { team: 'x' });
  m.reloaded(true, 1_700_000_000_000);
  m.configured([a]);
  let text = await registry.metrics();
  assert.equal(value(text, /prober_config_last_reload_successful/), '1');
  assert.equal(value(text, /prober_config_last_reload_success_timestamp_seconds/), '1700000000');
  assert.equal(value(text, /prober_targets/), '1');

  m.attempt(a, spec(a), okAttempt(1, 20));
  await until(async () => (await registry.metrics()).includes('probe_success{target="a"'), 5000, 'gauges of a');
  text = await registry.metrics();
  assert.equal(value(text, /probe_success\{target="a",team="x"\}/), '1');
  assert.equal(value(text, /probe_duration_seconds\{target="a",team="x"\}/), '0.02');
  assert.equal(value(text, /probe_http_status_code\{target="a",team="x"\}/), '200');
  assert.equal(value(text, /probe_ip_addr_hash\{target="a",team="x"\}/), '3668918509');
  assert.equal(value(text, /probe_http_duration_seconds\{target="a",team="x",phase="connect"\}/), '0.004');
  assert.equal(value(text, /prober_target_attempts_total\{target="a",team="x",result="success"\}/), '1');
  assert.equal(value(text, /prober_target_attempts_total\{target="a",team="x",result="failure"\}/), '0');
  assert.equal(
    value(text, /prober_target_attempt_duration_seconds_count\{target="a",team="x",result="success"\}/),
    '1',
  );
  const first = okAttempt(1, 20);
  assert.equal(
    Number(value(text, /prober_target_last_attempt_timestamp_seconds\{target="a",team="x"\}/)),
    (first.startedAt + first.latencyMs) / 1000,
  );
  assert.equal(value(text, /prober_target_interval_seconds\{target="a",team="x"\}/), '1');

  // A failure that never connected: no address, so no probe_ip_addr_hash for a any more.
  m.slip(a, 1500);
  m.attempt(a, spec(a), failedAttempt(2, 5, 'CONNECT_REFUSED'));
  await until(
    async () => value(await registry.metrics(), /probe_success\{target="a",team="x"\}/) === '0',
    5000,
    'the failure shown',
  );
  text = await registry.metrics();
  assert.equal(value(text, /probe_ip_addr_hash\{target="a",team="x"\}/), undefined);
  assert.equal(value(text, /probe_http_status_code\{target="a",team="x"\}/), '0');
  assert.equal(value(text, /prober_target_failures_total\{target="a",team="x",reason="connect_refused"\}/), '1');
  assert.equal(value(text, /prober_target_schedule_slips_total\{target="a",team="x"\}/), '1');
  assert.equal(value(text, /prober_target_schedule_slip_seconds_total\{target="a",team="x"\}/), '1.5');

  // b brings a new label name: the metrics are made again; a shows its latest attempt at once.
  const b = def('b', { env: 'prod' });
  m.configured([a, b]);
  await until(async () => (await registry.metrics()).includes('probe_success{target="a"'), 5000, 'a shown again');
  text = await registry.metrics();
  assert.equal(value(text, /probe_success\{target="a",team="x"\}/), '0');
  assert.equal(value(text, /prober_target_attempts_total\{target="a",team="x",result="failure"\}/), '0');
  m.attempt(b, spec(b), okAttempt(1, 10, 204));
  await until(async () => (await registry.metrics()).includes('probe_success{target="b"'), 5000, 'gauges of b');
  text = await registry.metrics();
  assert.equal(value(text, /probe_http_status_code\{target="b",env="prod"\}/), '204');

  m.removed(a);
  text = await registry.metrics();
  assert.ok(!text.includes('target="a"'), text);
  assert.ok(text.includes('target="b"'));

  m.reloaded(false, 1_800_000_000_000);
  text = await registry.metrics();
  assert.equal(value(text, /prober_config_last_reload_successful/), '0');
  assert.equal(value(text, /prober_config_last_reload_success_timestamp_seconds/), '1700000000');
});
