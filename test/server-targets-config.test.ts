// `targets:` in `prober serve --config FILE`: what a target resolves to
// (module, inline options laid over it, interval, timeout, labels), every
// error naming the file and the path (targets[2].interval), and --check
// (exit 0 with the targets listed, 2 on a bad target) on the shipped example.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadConfigFile } from '../src/server/config-file.js';
import { DEFAULT_TARGET_INTERVAL_MS, MAX_TARGETS, targetLimits } from '../src/server/config-targets.js';
import { DEFAULT_LIMITS, validateProbeInput } from '../src/probe/index.js';
import { run } from '../src/cli/run.js';
import { testIo } from './helpers/cli-io.js';
import { assertRefused, configFiles } from './helpers/config-files.js';

const EXAMPLE = fileURLToPath(new URL('../deploy/prober.example.yml', import.meta.url));

const configFile = configFiles('targets');

describe('a target resolves to', () => {
  it('defaults: http_2xx, 30s, the timeout capped by the interval, following redirects as /probe does', async () => {
    const file = await configFile(`
targets:
  - {name: a, url: "http://127.0.0.1:1/"}
  - {name: b, url: "http://127.0.0.1:1/", interval: 2s}
`);
    const [a, b] = loadConfigFile(file, DEFAULT_LIMITS).targets;
    assert.equal(a!.module, 'http_2xx');
    assert.equal(a!.intervalMs, DEFAULT_TARGET_INTERVAL_MS);
    assert.equal(a!.timeoutMs, DEFAULT_LIMITS.defaultTimeoutMs);
    assert.equal(a!.input.followRedirects, true);
    assert.equal(a!.input.repetitions, 0);
    assert.equal(a!.input.concurrency, 1);
    assert.deepEqual(a!.labels, {});
    assert.equal(b!.intervalMs, 2000);
    assert.equal(b!.timeoutMs, 2000);
  });

  it("a file module's settings; inline http keys laid over them key by key; labels", async () => {
    const file = await configFile(`
modules:
  post:
    prober: http
    timeout: 3s
    http:
      method: POST
      body: hi
      headers: {X-A: a}
      valid_status_codes: [201]
targets:
  - name: plain
    url: http://127.0.0.1:1/
    module: post
    interval: 10s
    labels: {team: payments, tier: 1}
  - name: overlay
    url: http://127.0.0.1:1/
    module: post
    timeout: 2s
    http:
      valid_status_codes: [202]
  - name: head
    url: http://127.0.0.1:1/
    module: http_head
    http:
      headers: {X-B: b}
  - name: inline
    url: http://127.0.0.1:1/
    http:
      method: PUT
      body: x
`);
    const t = Object.fromEntries(loadConfigFile(file, DEFAULT_LIMITS).targets.map((x) => [x.name, x]));
    assert.equal(t['plain']!.input.method, 'POST');
    assert.equal(t['plain']!.timeoutMs, 3000);
    assert.deepEqual(t['plain']!.labels, { team: 'payments', tier: '1' });
    assert.deepEqual(t['plain']!.input.expectedStatus, [{ min: 201, max: 201 }]);
    // Overlay: the module's method, body and headers stay; its status codes are replaced.
    assert.equal(t['overlay']!.input.method, 'POST');
    assert.deepEqual(t['overlay']!.input.headers, [{ name: 'X-A', value: 'a' }]);
    assert.deepEqual(t['overlay']!.input.expectedStatus, [{ min: 202, max: 202 }]);
    assert.equal(t['overlay']!.timeoutMs, 2000);
    assert.equal(t['overlay']!.module, 'post');
    assert.equal(t['head']!.input.method, 'HEAD');
    assert.deepEqual(t['head']!.input.headers, [{ name: 'X-B', value: 'b' }]);
    assert.equal(t['inline']!.module, 'inline');
    assert.equal(t['inline']!.input.method, 'PUT');
    assert.notEqual(t['plain']!.fingerprint, t['overlay']!.fingerprint);
  });
});

it("a target's proxy (its module's or inline) is the operator's: it loads without --allow-proxies", async () => {
  const file = await configFile(`
modules:
  via_proxy:
    prober: http
    http: {proxy_url: http://proxy.test:3128}
targets:
  - {name: a, url: http://127.0.0.1:1/, module: via_proxy}
  - {name: b, url: http://127.0.0.1:1/, http: {proxy_url: http://proxy.test:3128}}
`);
  const config = loadConfigFile(file, DEFAULT_LIMITS);
  assert.deepEqual(
    config.targets.map((t) => [t.name, t.input.proxyUrl]),
    [
      ['a', 'http://proxy.test:3128'],
      ['b', 'http://proxy.test:3128'],
    ],
  );
  // The scheduler validates each run against the same limits.
  for (const t of config.targets) assert.ok(validateProbeInput(t.input, targetLimits(DEFAULT_LIMITS)).proxy);
});

it('every target error names the file, the path and the problem', async () => {
  const ok = 'url: "http://127.0.0.1:1/"';
  const cases: [string, string, RegExp][] = [
    ['targets: {a: 1}', 'targets', /must be a list/],
    ['targets:\n  - url: http://x.test/', 'targets[0].name', /is required/],
    [`targets:\n  - {name: "has space", ${ok}}`, 'targets[0].name', /label value/],
    [
      `targets:\n  - {name: a, ${ok}}\n  - {name: a, ${ok}}`,
      'targets[1].name',
      /duplicate name "a" \(also targets\[0\]\)/,
    ],
    ['targets:\n  - {name: a}', 'targets[0].url', /is required/],
    ['targets:\n  - {name: a, url: "ftp://x.test/"}', 'targets[0].url', /endpoint/],
    [`targets:\n  - {name: a, ${ok}, colour: red}`, 'targets[0].colour', /unknown key/],
    [`targets:\n  - {name: a, ${ok}}\n  - {name: b, ${ok}, interval: 5}`, 'targets[1].interval', /duration/],
    [`targets:\n  - {name: a, ${ok}, interval: 100ms}`, 'targets[0].interval', /between 1s and 1h/],
    [`targets:\n  - {name: a, ${ok}, interval: 2h}`, 'targets[0].interval', /between 1s and 1h/],
    [`targets:\n  - {name: a, ${ok}, interval: 5s, timeout: 10s}`, 'targets[0].timeout', /at most the interval/],
    [`targets:\n  - {name: a, ${ok}, interval: 5m, timeout: 2m}`, 'targets[0].timeout', /at most 60000 ms/],
    [`targets:\n  - {name: a, ${ok}, module: nope}`, 'targets[0].module', /unknown module "nope" \(known: http_2xx/],
    [
      `modules:\n  tcp_connect: {prober: tcp}\ntargets:\n  - {name: a, ${ok}, module: tcp_connect}`,
      'targets[0].module',
      /prober "tcp", which is not supported/,
    ],
    [`targets:\n  - {name: a, ${ok}, http: {method: FOO}}`, 'targets[0].http.method', /one of GET/],
    [`targets:\n  - {name: a, ${ok}, http: {metod: GET}}`, 'targets[0].http.metod', /unknown key/],
    [`targets:\n  - {name: a, ${ok}, labels: [x]}`, 'targets[0].labels', /mapping/],
    [`targets:\n  - {name: a, ${ok}, labels: {"bad-name": x}}`, 'targets[0].labels.bad-name', /label name/],
    [`targets:\n  - {name: a, ${ok}, labels: {__x: x}}`, 'targets[0].labels.__x', /label name/],
    [`targets:\n  - {name: a, ${ok}, labels: {target: x}}`, 'targets[0].labels.target', /reserved/],
    [`targets:\n  - {name: a, ${ok}, labels: {instance: x}}`, 'targets[0].labels.instance', /reserved/],
    [`targets:\n  - {name: a, ${ok}, labels: {x: {y: 1}}}`, 'targets[0].labels.x', /must be a string/],
    [`targets:\n  - {name: a, ${ok}, labels: {x: "${'v'.repeat(300)}"}}`, 'targets[0].labels.x', /at most 256/],
  ];
  await assertRefused(configFile, cases);
});

it(`more than ${MAX_TARGETS} targets are refused`, async () => {
  const many = Array.from({ length: MAX_TARGETS + 1 }, (_, i) => `  - {name: t${i}, url: "http://127.0.0.1:1/"}`);
  const file = await configFile(`targets:\n${many.join('\n')}\n`);
  assert.throws(() => loadConfigFile(file, DEFAULT_LIMITS), /targets: at most 1000 targets \(got 1001\)/);
});

describe('serve --config --check with targets', () => {
  async function check(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const io = testIo();
    const code = await run(['serve', '--listen', '127.0.0.1:0', '--config', file, '--check'], io);
    return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
  }

  it('the shipped example (deploy/prober.example.yml) is valid: exit 0, its targets listed', async () => {
    const r = await check(EXAMPLE);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SUCCESS/);
    assert.match(r.stdout, /\d+ scheduled target\(s\): \S+ \(/);
  });

  it('a bad target: exit 2 naming the file and the path', async () => {
    const file = await configFile('targets:\n  - {name: a, url: "http://127.0.0.1:1/", interval: 0s}\n');
    const r = await check(file);
    assert.equal(r.code, 2, r.stdout);
    assert.ok(r.stderr.startsWith(`FAILED: ${file}: targets[0].interval: `), r.stderr);
  });
});
