// deploy/: Prometheus config and rules checked and unit-tested with promtool;
// the Grafana dashboard well-formed and referring only to metric names the
// server really exports; /metrics and /probe output pass `promtool check metrics`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTarget, type Target } from './helpers/target.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { connect, probeOnce } from '../src/client/index.js';
import { until } from './helpers/wait.js';

const run = promisify(execFile);
const root = (p: string): string => fileURLToPath(new URL(`../${p}`, import.meta.url));
const PROM_DIR = root('deploy/prometheus');
const DASHBOARD = root('deploy/grafana/dashboards/prober.json');

/** Path of a binary, or undefined; CI (CI env set) must have it. */
function binary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : undefined;
  if (!path && process.env.CI) throw new Error(`${name} is required in CI (apt-get install -y prometheus)`);
  return path;
}
const promtool = binary('promtool');
const SKIP_PROMTOOL = promtool ? false : 'promtool not installed (Debian: apt-get install -y prometheus)';

let target: Target;
let srv: RunningServer;
let metricsText = '';
let probeText = '';
let dir: string;

before(async () => {
  target = await startTarget();
  // A scheduled target too, so its series and the config reload gauges are checked as well.
  dir = await mkdtemp(join(tmpdir(), 'prober-deploy-'));
  const configFile = join(dir, 'prober.yml');
  await writeFile(configFile, `targets:\n  - {name: local, url: "${target.url}/ok", interval: 1s}\n`);
  srv = await startServer({
    listen: '127.0.0.1:0',
    configFile,
    observability: { metrics: { listen: '127.0.0.1:0' } },
  });
  const conn = connect(srv.address);
  try {
    await probeOnce(conn, { endpoint: `${target.url}/ok`, repetitions: 2 });
    await probeOnce(conn, { endpoint: `${target.url}/status/500`, repetitions: 1 });
  } finally {
    conn.close();
  }
  await until(
    async () => {
      metricsText = await (await fetch(`${srv.metrics!.url}/metrics`)).text();
      return /^probe_success\{[^}]*target="local"/m.test(metricsText);
    },
    20_000,
    "the scheduled target's first attempt",
  );
  probeText = await (await fetch(`${srv.metrics!.url}/probe?target=${encodeURIComponent(`${target.url}/ok`)}`)).text();
});
after(async () => {
  await srv.close(0);
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

/** Metric names in text-format output, with histogram/summary sample suffixes. */
function exportedNames(...texts: string[]): Set<string> {
  const names = new Set<string>();
  for (const text of texts) {
    for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      const [, name, type] = m as unknown as [string, string, string];
      names.add(name);
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
    }
  }
  return names;
}

async function recordedNames(): Promise<string[]> {
  const rules = await readFile(`${PROM_DIR}/rules.yml`, 'utf8');
  return [...rules.matchAll(/^\s*- record: (\S+)$/gm)].map((m) => m[1]!);
}

const PROMQL_WORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'inf',
  'nan',
]);

/** Metric names a PromQL expression selects (strings, matchers, ranges, groupings and functions removed). */
export function promqlMetricNames(expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  s = s.replace(/\{[^}]*\}/g, ' ');
  s = s.replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  s = s.replace(/\$\{?\w+\}?/g, ' ');
  s = s.replace(/(^|[^\w:])\d+(\.\d+)?([eE][+-]?\d+)?/g, '$1 ');
  const names: string[] = [];
  for (const m of s.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(?!\s*\()/g)) {
    // The lookahead alone lets "rat" of "rate(" through: require a full word.
    const end = m.index! + m[0].length;
    if (/^\s*\(/.test(s.slice(end)) || /[\w:]/.test(s[end] ?? '')) continue;
    if (!PROMQL_WORDS.has(m[0].toLowerCase())) names.push(m[0]);
  }
  return names;
}

test('PromQL name extraction finds selectors, not functions, labels or keywords', () => {
  assert.deepEqual(
    promqlMetricNames(
      'histogram_quantile(0.99, sum by (endpoint, le) (rate(prober_x_bucket{job=~"$job", a="b(c)"}[$__rate_interval])))',
    ),
    ['prober_x_bucket'],
  );
  assert.deepEqual(promqlMetricNames('a / on (job) clamp_min(sum by (job) (b), 1) > 1e3 and c:rec:rate5m'), [
    'a',
    'b',
    'c:rec:rate5m',
  ]);
});

test('promtool: prometheus.yml is valid and its rule file exists', { skip: SKIP_PROMTOOL }, async () => {
  const res = await run(promtool!, ['check', 'config', `${PROM_DIR}/prometheus.yml`]);
  assert.match(res.stdout, /SUCCESS.*is valid prometheus config/);
  const cfg = await readFile(`${PROM_DIR}/prometheus.yml`, 'utf8');
  assert.match(cfg, /metrics_path: \/probe/);
  assert.match(cfg, /target_label: __param_target/);
});

test('promtool: rules check and rule unit tests pass', { skip: SKIP_PROMTOOL }, async () => {
  const check = await run(promtool!, ['check', 'rules', `${PROM_DIR}/rules.yml`]);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await run(promtool!, ['test', 'rules', 'rules.test.yml'], { cwd: PROM_DIR });
  assert.match(unit.stdout, /SUCCESS/);
  const rules = await readFile(`${PROM_DIR}/rules.yml`, 'utf8');
  for (const alert of [
    'ProberEndpointDown',
    'ProberLatencySLOBurnFast',
    'ProberLatencyP99High',
    'ProberStreamBackpressureStalls',
    'ProberEndpointNoFreshData',
    'ProbeTargetNoFreshData',
  ]) {
    assert.match(rules, new RegExp(`- alert: ${alert}\\n`));
  }
});

test('rules refer only to metrics the server exports', async () => {
  const exported = exportedNames(metricsText, probeText);
  const rules = await readFile(`${PROM_DIR}/rules.yml`, 'utf8');
  const used = new Set([...rules.matchAll(/\b(?:prober|probe|grpc_server)_[a-z0-9_]+\b/g)].map((m) => m[0]));
  assert.ok(used.size >= 5);
  for (const name of used) assert.ok(exported.has(name), `rules.yml uses ${name}, which the server does not export`);
});

test('promtool check metrics: /metrics and /probe output lint clean', { skip: SKIP_PROMTOOL }, async () => {
  for (const [what, text] of [
    ['/metrics', metricsText],
    ['/probe', probeText],
  ] as const) {
    const child = spawn(promtool!, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.end(text);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Only our own families must be clean; prom-client's defaults are its own.
    const ours = out.split('\n').filter((l) => /^(prober_|probe_|grpc_server_)/.test(l));
    assert.deepEqual(ours, [], `${what}: ${out}`);
    assert.ok(code === 0 || out.trim() !== '', `${what}: promtool exited ${code}`);
  }
});

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; expr: string; datasource?: { uid: string } }>;
}

test('Grafana dashboard: well-formed and uses only exported metric names', async () => {
  const dash = JSON.parse(await readFile(DASHBOARD, 'utf8')) as {
    uid: string;
    title: string;
    schemaVersion: number;
    panels: Panel[];
    templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
  };
  assert.ok(dash.uid && dash.title && dash.schemaVersion >= 30);
  const vars = new Set(dash.templating.list.map((v) => v.name));
  assert.ok(vars.has('datasource') && vars.has('endpoint'));

  const ids = new Set<number>();
  const exported = new Set([...exportedNames(metricsText, probeText), ...(await recordedNames())]);
  const exprs: string[] = [];
  for (const p of dash.panels) {
    assert.ok(!ids.has(p.id), `duplicate panel id ${p.id}`);
    ids.add(p.id);
    assert.ok(p.title, `panel ${p.id} has a title`);
    assert.ok(p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24, `panel ${p.title} fits the 24-column grid`);
    if (p.type === 'row') continue;
    // Grafana's variable syntax, not a template placeholder.
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${datasource} is what Grafana stores
    assert.equal(p.datasource?.uid, '${datasource}', `panel ${p.title} uses the datasource variable`);
    assert.ok(p.targets && p.targets.length > 0, `panel ${p.title} has queries`);
    for (const t of p.targets) {
      assert.ok(t.refId && t.expr, `panel ${p.title} target has refId and expr`);
      exprs.push(t.expr);
    }
  }
  for (const v of dash.templating.list)
    if (v.definition) exprs.push(v.definition.replace(/^label_values\((.*), \w+\)$/, '$1'));

  const titles = dash.panels.map((p) => p.title.toLowerCase()).join('|');
  for (const want of ['percentile', 'success ratio', 'phases', 'events sent vs. backpressure']) {
    assert.ok(titles.includes(want), `a panel about ${want}`);
  }
  const used = new Set(exprs.flatMap(promqlMetricNames));
  assert.ok(used.size >= 10, `dashboard uses ${[...used].join(', ')}`);
  for (const name of used) assert.ok(exported.has(name), `dashboard uses ${name}, which the server does not export`);
  // Variables used in queries are defined (or Grafana built-ins).
  for (const e of exprs) {
    for (const m of e.matchAll(/\$\{?(\w+)\}?/g)) {
      assert.ok(vars.has(m[1]!) || m[1]!.startsWith('__'), `undefined variable $${m[1]} in ${e}`);
    }
  }
});

test('Grafana provisioning: datasource and dashboard provider files', async () => {
  const ds = await readFile(root('deploy/grafana/provisioning/datasources/prometheus.yml'), 'utf8');
  assert.match(ds, /apiVersion: 1/);
  assert.match(ds, /type: prometheus/);
  const prov = await readFile(root('deploy/grafana/provisioning/dashboards/prober.yml'), 'utf8');
  assert.match(prov, /type: file/);
  assert.match(prov, /path: \S+/);
});
