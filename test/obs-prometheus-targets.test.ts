// A real Prometheus (Debian's `prometheus`) scraping a server that probes
// its own `targets:`: the target series appear with no gRPC client, and after
// a reload that removes a target Prometheus marks its series stale (an
// instant query returns nothing for it) while the others go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTarget } from './helpers/target.js';
import { PROMETHEUS, startPrometheus } from './helpers/prometheus.js';
import { startServer } from '../src/server/server.js';

test('Prometheus sees scheduled targets appear, and a removed target go stale', {
  skip: PROMETHEUS ? false : 'prometheus not installed (Debian: apt-get install -y prometheus); .ci/run installs it',
  timeout: 150_000,
}, async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  const dir = await mkdtemp(join(tmpdir(), 'prober-prom-targets-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'prober.yml');
  const config = (names: string[]): string =>
    `targets:\n${names.map((n) => `  - {name: ${n}, url: "${target.url}/ok", interval: 1s, labels: {team: x}}`).join('\n')}\n`;
  await writeFile(file, config(['a', 'b']));
  const srv = await startServer({
    listen: '127.0.0.1:0',
    configFile: file,
    warmUp: false,
    observability: { metrics: { listen: '127.0.0.1:0' } },
  });
  t.after(() => srv.close(0));

  await writeFile(
    join(dir, 'prometheus.yml'),
    [
      'global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}',
      'scrape_configs:',
      '  - job_name: prober',
      `    static_configs: [{targets: ["127.0.0.1:${srv.metrics!.port}"]}]`,
      '',
    ].join('\n'),
  );
  const { until, query } = await startPrometheus(t, join(dir, 'prometheus.yml'), join(dir, 'data'));

  const both = await until('probe_success of a and b', async () => {
    const r = await query('probe_success{job="prober"}');
    return r.length === 2 && r.every((s) => s.value[1] === '1') ? r : undefined;
  });
  assert.deepEqual(both.map((s) => s.metric.target).sort(), ['a', 'b']);
  assert.ok(both.every((s) => s.metric.team === 'x' && s.metric.region !== undefined));
  await until('attempt counters of b', async () => {
    const r = await query('prober_target_attempts_total{job="prober",target="b",result="success"} > 0');
    return r.length === 1 ? r : undefined;
  });

  await writeFile(file, config(['a']));
  await srv.reloadConfig();
  // Staleness marker: once a scrape no longer has the series, an instant query returns nothing for it.
  await until('b stale', async () => {
    const r = await query('{job="prober",target="b"}');
    return r.length === 0 ? true : undefined;
  });
  const a = await query('probe_success{job="prober",target="a"}');
  assert.equal(a.length, 1);
  assert.equal(a[0]!.value[1], '1');
  const reload = await query('prober_config_last_reload_successful{job="prober"}');
  assert.equal(reload[0]?.value[1], '1');
});
