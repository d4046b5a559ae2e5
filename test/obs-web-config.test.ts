// The real Prometheus (Debian's `prometheus`) scraping /metrics and /probe
// over mTLS with basic auth, using the two YAML blocks of docs/metrics.md
// ("Securing the metrics port") with paths and addresses rewritten; a wrong
// password and a missing client certificate leave their targets down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { testPki } from './helpers/certs.js';
import { startTarget } from './helpers/target.js';
import { PROMETHEUS, startPrometheus } from './helpers/prometheus.js';
import { startServer } from '../src/server/server.js';

const DOC = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));

const prometheus = PROMETHEUS;

/** The ```yaml block after `<!-- marker …-->` in docs/metrics.md. */
function docBlock(doc: string, marker: string): string {
  const at = doc.indexOf(`<!-- ${marker}`);
  assert.ok(at >= 0, `docs/metrics.md has no <!-- ${marker} block`);
  const m = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(m, `no yaml block after ${marker}`);
  return m[1]!;
}

function replaceAll(text: string, pairs: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(pairs)) {
    assert.ok(out.includes(from), `docs/metrics.md block no longer contains ${from}`);
    out = out.split(from).join(to);
  }
  return out;
}

test('Prometheus scrapes /metrics and /probe over mTLS with basic auth; wrong password and no client cert: down', {
  skip: prometheus ? false : 'prometheus not installed (Debian: apt-get install -y prometheus)',
  timeout: 120_000,
}, async (t) => {
  const pki = await testPki(t);
  const scraper = await pki.issue({ cn: 'prometheus', usage: 'client' });
  const target = await startTarget();
  t.after(() => target.close());
  const doc = await readFile(DOC, 'utf8');

  const webConfig = join(pki.dir, 'web-config.yml');
  await writeFile(
    webConfig,
    replaceAll(docBlock(doc, 'web-config.yml'), {
      '/etc/prober/tls/metrics.crt': pki.server.certFile,
      '/etc/prober/tls/metrics.key': pki.server.keyFile,
      '/etc/prober/tls/scrapers-ca.crt': pki.ca.certFile,
    }),
  );
  const srv = await startServer({
    listen: '127.0.0.1:0',
    observability: { metrics: { listen: '127.0.0.1:0', webConfigFile: webConfig } },
  });
  t.after(() => srv.close(0));
  const metricsAddr = `127.0.0.1:${srv.metrics!.port}`;

  const passwordFile = join(pki.dir, 'password');
  await writeFile(passwordFile, 'change-me');
  const wrongFile = join(pki.dir, 'wrong');
  await writeFile(wrongFile, 'change-you');
  const scrape = replaceAll(docBlock(doc, 'prometheus.yml'), {
    '/etc/prometheus/prober-ca.crt': pki.ca.certFile,
    '/etc/prometheus/scraper.crt': scraper.certFile,
    '/etc/prometheus/scraper.key': scraper.keyFile,
    '/etc/prometheus/prober-password': passwordFile,
    'prober.example:9464': metricsAddr,
    'https://example.com/': `${target.url}/ok`,
  });
  // Two negatives beside the documented jobs.
  const negatives = `
  - job_name: wrong_password
    scheme: https
    tls_config: *prober_tls
    basic_auth: { username: prometheus, password_file: ${wrongFile} }
    static_configs: [{ targets: ['${metricsAddr}'] }]
  - job_name: no_client_cert
    scheme: https
    tls_config: { ca_file: ${pki.ca.certFile} }
    basic_auth: *prober_auth
    static_configs: [{ targets: ['${metricsAddr}'] }]
`;
  const config = join(pki.dir, 'prometheus.yml');
  await writeFile(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\n${scrape}${negatives}`);

  const { api, until, query } = await startPrometheus(t, config, join(pki.dir, 'data'));

  const ups = await until('every job scraped once', async () => {
    const r = await query('up');
    return r.length === 4 ? new Map(r.map((s) => [s.metric.job, s.value[1]])) : undefined;
  });
  assert.deepEqual(
    Object.fromEntries(ups),
    { prober: '1', prober_probe: '1', wrong_password: '0', no_client_cert: '0' },
    `targets: ${JSON.stringify(await (await fetch(`${api}/api/v1/targets`)).json())}`,
  );
  const probe = await query('probe_success{job="prober_probe"}');
  assert.equal(probe[0]?.value[1], '1');
  assert.equal(probe[0]?.metric.instance, `${target.url}/ok`);
  assert.ok((await query('process_start_time_seconds{job="prober"}')).length === 1, 'prober /metrics scraped');

  const targets = (await (await fetch(`${api}/api/v1/targets`)).json()) as {
    data: { activeTargets: Array<{ labels: { job: string }; lastError: string }> };
  };
  const lastError = (job: string): string => targets.data.activeTargets.find((a) => a.labels.job === job)!.lastError;
  assert.match(lastError('wrong_password'), /401 Unauthorized/);
  assert.match(lastError('no_client_cert'), /certificate required|tls|EOF|reset/i);
  assert.equal(lastError('prober'), '');
});
