// A server that probes on its own: `serve --config` with two local targets
// feeds /metrics without any gRPC client; POST /-/reload (and SIGHUP, on the
// built bin) swaps targets, removing a removed target's series; a broken
// config is refused (500 naming file and path, the old one keeps running,
// prober_config_last_reload_successful 0); a running ProbeStream survives a reload.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { startServer, type RunningServer } from '../src/server/server.js';
import { connect, probeStream } from '../src/client/index.js';
import { startTarget, type Target } from './helpers/target.js';
import { until } from './helpers/wait.js';
import { ensureDist, startServe } from './helpers/fleet.js';

let dir: string;
let target: Target;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prober-targets-e2e-'));
  target = await startTarget();
});
after(async () => {
  await target.close();
  await rm(dir, { recursive: true, force: true });
});

/** A config of local targets: name -> path on the test target. */
function config(targets: Record<string, string>, extra = ''): string {
  const list = Object.entries(targets).map(
    ([name, path]) => `  - {name: ${name}, url: "${target.url}${path}", interval: 1s, labels: {team: t-${name}}}`,
  );
  return `targets:\n${list.join('\n')}\n${extra}`;
}

async function metricsText(base: string, headers: Record<string, string> = {}): Promise<string> {
  return (await fetch(`${base}/metrics`, { headers })).text();
}

/** The value of `name{...target="T"...}` (first match), or undefined when the target has no such series. */
function sample(text: string, name: string, t: string): string | undefined {
  const re = new RegExp(`^${name}\\{[^}]*target="${t}"[^}]*\\} (\\S+)$`, 'm');
  return re.exec(text)?.[1];
}

const hasTarget = (text: string, t: string): boolean => text.includes(`target="${t}"`);

describe('serve --config with targets (in process)', () => {
  let file: string;
  let server: RunningServer;
  let base: string;

  before(async () => {
    file = join(dir, 'prober.yml');
    await writeFile(file, config({ a: '/ok', b: '/status/204' }));
    server = await startServer({
      listen: '127.0.0.1:0',
      configFile: file,
      warmUp: false,
      observability: { metrics: { listen: '127.0.0.1:0' } },
    });
    base = server.metrics!.url;
  });
  after(() => server.close(0));

  it('probes its targets on the engine thread and /metrics shows them with no client', async () => {
    let text = '';
    await until(
      async () => {
        text = await metricsText(base);
        return sample(text, 'probe_success', 'a') === '1' && sample(text, 'probe_http_status_code', 'b') === '204';
      },
      20_000,
      'probe_success of a and b',
    );
    assert.match(text, /^probe_success\{[^}]*target="a"[^}]*team="t-a"[^}]*\} 1$/m);
    assert.match(text, /^probe_success\{[^}]*target="b"[^}]*\} 1$/m);
    assert.ok(Number(sample(text, 'probe_duration_seconds', 'a')) > 0);
    assert.match(text, /^probe_http_duration_seconds\{[^}]*target="a"[^}]*phase="connect"[^}]*\} \S+$/m);
    assert.ok(Number(sample(text, 'prober_target_attempts_total', 'a')) >= 0);
    assert.match(text, /^prober_target_attempts_total\{[^}]*target="a"[^}]*result="success"[^}]*\} [1-9]/m);
    assert.match(text, /^prober_target_attempt_duration_seconds_count\{[^}]*target="b"[^}]*\} [1-9]/m);
    assert.equal(sample(text, 'prober_target_schedule_slips_total', 'a'), '0');
    assert.match(text, /^prober_targets\{[^}]*\} 2$/m);
    assert.match(text, /^prober_config_last_reload_successful\{[^}]*\} 1$/m);
    assert.match(text, /^prober_config_last_reload_success_timestamp_seconds\{[^}]*\} \d{10}/m);
    assert.deepEqual(server.targets().sort(), ['a', 'b']);
    // Scheduled probing is not ad-hoc: no endpoint series appear for it.
    assert.doesNotMatch(text, /^prober_latency_seconds\{/m);
  });

  it('GET /-/reload is 405; POST re-reads the file: b stops and its series go, c starts', async () => {
    const get = await fetch(`${base}/-/reload`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST, PUT');
    await until(
      async () => sample(await metricsText(base), 'probe_success', 'b') === '1',
      20_000,
      'b probed before the reload',
    );
    await writeFile(file, config({ a: '/ok', c: '/big?bytes=5' }));
    const res = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 200, await res.text());
    assert.deepEqual(server.targets().sort(), ['a', 'c']);
    let text = await metricsText(base);
    assert.ok(!hasTarget(text, 'b'), 'every series of b is gone once the reload answered');
    // The test target counts hits by route: b's is /status/:n, c's /big.
    const bHits = target.hits.get('/status/:n');
    await until(
      async () => {
        text = await metricsText(base);
        return sample(text, 'probe_http_content_length', 'c') === '5';
      },
      20_000,
      'c probed',
    );
    assert.ok(!hasTarget(text, 'b'));
    assert.equal(target.hits.get('/status/:n'), bHits, 'b is no longer probed');
    assert.match(text, /^prober_targets\{[^}]*\} 2$/m);
  });

  it('a broken config is refused: 500 naming file and path, the old config keeps running', async () => {
    await writeFile(file, config({ a: '/ok', d: '/ok' }, 'modules:\n  m: {prober: http, http: {method: FOO}}\n'));
    const res = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(res.status, 500);
    const body = await res.text();
    assert.ok(body.includes(`${file}: modules.m.http.method: `), body);
    await writeFile(file, config({ a: '/ok' }).replace('interval: 1s', 'interval: 1'));
    const res2 = await fetch(`${base}/-/reload`, { method: 'POST' });
    assert.equal(res2.status, 500);
    assert.ok((await res2.text()).includes(`${file}: targets[0].interval: `));
    assert.deepEqual(server.targets().sort(), ['a', 'c']);
    const hits = target.hits.get('/big') ?? 0;
    await until(() => (target.hits.get('/big') ?? 0) > hits, 20_000, 'c still probed');
    const text = await metricsText(base);
    assert.match(text, /^prober_config_last_reload_successful\{[^}]*\} 0$/m);
    assert.ok(hasTarget(text, 'a') && hasTarget(text, 'c') && !hasTarget(text, 'd'));
    // SIGHUP's reload() reports the refusal apart from the errors its caller logs (LiveConfig did).
    const r = server.reload();
    assert.equal(r.config, undefined);
    assert.match(r.configError?.message ?? '', /targets\[0\]\.interval/);
    assert.deepEqual(r.errors, []);
  });

  it('modules swap on reload: /probe and ProbeRequest.module see the new file', async () => {
    await writeFile(
      file,
      `${config({ a: '/ok' })}modules:\n  wants_404: {prober: http, http: {valid_status_codes: [404]}}\n`,
    );
    assert.equal((await fetch(`${base}/-/reload`, { method: 'PUT' })).status, 200);
    const probe = await fetch(
      `${base}/probe?module=wants_404&target=${encodeURIComponent(`${target.url}/status/404`)}`,
    );
    assert.match(await probe.text(), /^probe_success 1$/m);
    assert.match(await metricsText(base), /^prober_config_last_reload_successful\{[^}]*\} 1$/m);
  });

  it('a running ProbeStream call survives a reload', async () => {
    const conn = connect(server.address);
    try {
      const events = probeStream(conn, { endpoint: `${target.url}/ok`, repetitions: 30, intervalMs: 50 });
      let attempts = 0;
      let summary: { successes: number } | undefined;
      for await (const ev of events) {
        if (ev.kind === 'attempt') {
          attempts++;
          if (attempts === 5) {
            await writeFile(file, config({ a: '/ok', e: '/ok' }));
            assert.equal((await fetch(`${base}/-/reload`, { method: 'POST' })).status, 200);
          }
        } else summary = ev.summary;
      }
      assert.equal(attempts, 30);
      assert.equal(summary?.successes, 30);
      assert.deepEqual(server.targets().sort(), ['a', 'e']);
    } finally {
      conn.close();
    }
  });
});

it('with --web-config basic auth, /-/reload needs the credentials like /metrics', async (t) => {
  const file = join(dir, 'auth.yml');
  const web = join(dir, 'web.yml');
  await writeFile(file, config({ a: '/ok' }));
  await writeFile(web, `basic_auth_users:\n  alice: "${bcrypt.hashSync('secret', 4)}"\n`);
  const server = await startServer({
    listen: '127.0.0.1:0',
    configFile: file,
    warmUp: false,
    observability: { metrics: { listen: '127.0.0.1:0', webConfigFile: web } },
  });
  t.after(() => server.close(0));
  const url = `${server.metrics!.url}/-/reload`;
  assert.equal((await fetch(url, { method: 'POST' })).status, 401);
  const auth = { authorization: `Basic ${Buffer.from('alice:secret').toString('base64')}` };
  assert.equal((await fetch(url, { method: 'POST', headers: auth })).status, 200);
});

it('the target policy applies at probe time: a denied target loads and fails with reason policy_denied', async (t) => {
  const file = join(dir, 'denied.yml');
  await writeFile(file, config({ a: '/ok' }));
  const hits = target.requests();
  const server = await startServer({
    listen: '127.0.0.1:0',
    configFile: file,
    warmUp: false,
    targetPolicy: { deny: ['127.0.0.0/8'] },
    observability: { metrics: { listen: '127.0.0.1:0' } },
  });
  t.after(() => server.close(0));
  let text = '';
  await until(
    async () => {
      text = await metricsText(server.metrics!.url);
      return sample(text, 'probe_success', 'a') === '0';
    },
    20_000,
    'a probed and denied',
  );
  assert.match(text, /^prober_target_failures_total\{[^}]*target="a"[^}]*reason="policy_denied"[^}]*\} [1-9]/m);
  assert.equal(target.requests(), hits, 'nothing reached the target');
});

it('without --config, /-/reload is 404 and reloadConfig() rejects', async (t) => {
  const server = await startServer({
    listen: '127.0.0.1:0',
    warmUp: false,
    observability: { metrics: { listen: '127.0.0.1:0' } },
  });
  t.after(() => server.close(0));
  assert.equal((await fetch(`${server.metrics!.url}/-/reload`, { method: 'POST' })).status, 404);
  await assert.rejects(server.reloadConfig(), /without a --config file/);
  assert.deepEqual(server.targets(), []);
});

it('the built bin reloads on SIGHUP: a removed target goes, an added one appears', { timeout: 240_000 }, async (t) => {
  await ensureDist();
  const file = join(dir, 'hup.yml');
  await writeFile(file, config({ a: '/ok', b: '/ok' }));
  const serve = await startServe([
    '--listen',
    '127.0.0.1:0',
    '--metrics-addr',
    '127.0.0.1:0',
    '--config',
    file,
    '--log-level',
    'info',
  ]);
  t.after(() => serve.kill());
  await until(
    async () => {
      const text = await metricsText(serve.metrics);
      return sample(text, 'probe_success', 'a') === '1' && sample(text, 'probe_success', 'b') === '1';
    },
    30_000,
    'a and b probed',
  );
  await writeFile(file, config({ a: '/ok', c: '/ok' }));
  serve.child.kill('SIGHUP');
  await until(
    async () => {
      const text = await metricsText(serve.metrics);
      return !hasTarget(text, 'b') && sample(text, 'probe_success', 'c') === '1';
    },
    30_000,
    'b gone and c probed after SIGHUP',
  );
  await until(() => serve.log().includes('config reloaded'), 10_000, "the 'config reloaded' log line");

  // A broken file on SIGHUP: logged with file and path, the old targets keep running.
  await writeFile(file, 'targets:\n  - {name: a}\n');
  serve.child.kill('SIGHUP');
  await until(() => serve.log().includes('targets[0].url: is required'), 10_000, 'the refusal logged');
  // Once: LiveConfig logs it; the SIGHUP handler must not log it again.
  assert.equal(serve.log().split('targets[0].url: is required').length - 1, 1, serve.log());
  const text = await metricsText(serve.metrics);
  assert.match(text, /^prober_config_last_reload_successful\{[^}]*\} 0$/m);
  assert.ok(hasTarget(text, 'a') && hasTarget(text, 'c'));
  assert.equal(serve.child.exitCode, null, 'still running');
});
