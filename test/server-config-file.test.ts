// `prober serve --config FILE`: blackbox_exporter's `modules:` section.
// Debian's stock blackbox.yml loads (http modules in, others listed as
// warnings); each mapped key reaches the request /probe sends; every bad
// config names the file and the key path; --check exits 0/2 without
// serving; a gRPC ProbeRequest can name a module.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { prober } from '../src/generated/prober/v1/prober.js';
import { summaryFromProto } from '../src/wire/index.js';
import { stringify } from 'yaml';
import { loadConfigFile, parsePromDuration } from '../src/server/config-file.js';
import { BUILTIN_NODES } from '../src/server/config-targets.js';
import { BLACKBOX_MODULES } from '../src/server/modules.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { DEFAULT_LIMITS } from '../src/probe/index.js';
import { startTarget, type Target } from './helpers/target.js';
import { createPki, type Pki } from './helpers/certs.js';
import { assertRefused, configFiles } from './helpers/config-files.js';

import pb = prober.v1;

const FIXTURE = fileURLToPath(new URL('./fixtures/blackbox-debian.yml', import.meta.url));
const DEBIAN = '/etc/prometheus/blackbox.yml';
const NON_HTTP = ['tcp_connect', 'pop3s_banner', 'grpc', 'grpc_plain', 'ssh_banner', 'irc_banner', 'icmp', 'icmp_ttl5'];
const MAIN = new URL('../src/cli/main.ts', import.meta.url).href;

const configFile = configFiles('config');

describe("Debian's stock blackbox.yml", () => {
  for (const file of [FIXTURE, ...(existsSync(DEBIAN) ? [DEBIAN] : [])]) {
    it(`loads ${file}: http modules, a warning naming each other module`, () => {
      const config = loadConfigFile(file, DEFAULT_LIMITS);
      assert.deepEqual(Object.keys(config.modules), ['http_2xx', 'http_post_2xx']);
      assert.equal(config.modules['http_post_2xx']!.method, 'POST');
      assert.deepEqual(config.modules['http_2xx']!.expectedStatus, [{ min: 200, max: 299 }]);
      assert.deepEqual(
        config.unsupported.map((u) => u.name),
        NON_HTTP,
      );
      for (const name of NON_HTTP) {
        assert.ok(
          config.warnings.some((w) => w.startsWith(`${file}: modules.${name}: prober`) && w.includes('not supported')),
          name,
        );
      }
    });
  }
});

it('Prometheus durations', () => {
  assert.equal(parsePromDuration('5s'), 5000);
  assert.equal(parsePromDuration('1m30s'), 90_000);
  assert.equal(parsePromDuration('250ms'), 250);
  assert.equal(parsePromDuration('0'), 0);
  assert.equal(parsePromDuration('5'), undefined);
  assert.equal(parsePromDuration('1.5s'), undefined);
});

it('keys the engine cannot honour yet are accepted with one warning each', async () => {
  const file = await configFile(`
modules:
  m:
    prober: http
    http:
      valid_http_versions: ["HTTP/1.1"]
      no_follow_redirects: false
      fail_if_ssl: true
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      enable_http2: true
      fail_if_header_matches: [{header: X-A, regexp: b}]
      tls_config: {insecure_skip_verify: true, server_name: x.test, min_version: TLS10, max_version: TLS13}
  quiet:
    prober: http
    http:
      no_follow_redirects: true
      enable_http2: false
      fail_if_ssl: false
      ip_protocol_fallback: true
  p:
    prober: http
    http:
      proxy_url: http://proxy.test:3128
`);
  const config = loadConfigFile(file, DEFAULT_LIMITS);
  const keys = config.warnings.map((w) => w.replace(`${file}: `, '').replace(/: accepted but not applied yet.*/, ''));
  assert.equal(config.modules['m']!.tlsInsecure, true);
  assert.equal(config.modules['m']!.tlsServerName, 'x.test');
  assert.equal(config.modules['m']!.followRedirects, true);
  assert.equal(config.modules['quiet']!.followRedirects, false);
  // Applied, so not warned about: fail_if_ssl, preferred_ip_protocol with ip_protocol_fallback,
  // fail_if_header_matches, proxy_url (the operator's proxy); enable_http2 and valid_http_versions
  // (test/server-h2.test.ts).
  assert.deepEqual(config.modules['m']!.failIfHeader, [{ name: 'X-A', regex: 'b' }]);
  assert.equal(config.modules['m']!.failIfSsl, true);
  assert.equal(config.modules['m']!.ipFamily, 4);
  assert.equal(config.modules['quiet']!.failIfSsl, undefined);
  assert.equal(config.modules['quiet']!.preferFamily, undefined);
  assert.equal(config.modules['p']!.proxyUrl, 'http://proxy.test:3128');
  assert.equal(config.modules['m']!.httpVersion, '2');
  assert.deepEqual(config.modules['m']!.validHttpVersions, ['HTTP/1.1']);
  assert.equal(config.modules['quiet']!.httpVersion, undefined);
  assert.deepEqual(keys.sort(), ['modules.m.http.tls_config.max_version', 'modules.m.http.tls_config.min_version']);
});

it('every config error names the file, the key path and the problem', async () => {
  const cases: [string, string, RegExp][] = [
    ['modules: [1]', 'modules', /must be a mapping/],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      proxy_url: http://p.test:3128\n      enable_http2: true',
      'modules.a.http.proxy_url',
      /cannot be combined with http_version/,
    ],
    ['modules:\n  a:\n    http: {}', 'modules.a.prober', /is required/],
    ['modules:\n  a:\n    prober: ftp', 'modules.a.prober', /unknown prober "ftp"/],
    ['modules:\n  a:\n    prober: http\n    colour: red', 'modules.a.colour', /unknown key/],
    ['modules:\n  a:\n    prober: http\n    timeout: 5', 'modules.a.timeout', /duration/],
    ['modules:\n  a:\n    prober: http\n    timeout: 10m', 'modules.a.timeout', /timeout/],
    [
      'modules:\n  http_post_2xx:\n    prober: http\n    http:\n      method: FOO',
      'modules.http_post_2xx.http.method',
      /one of GET/,
    ],
    ['modules:\n  a:\n    prober: http\n    http:\n      metod: GET', 'modules.a.http.metod', /unknown key/],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      valid_status_codes: [abc]',
      'modules.a.http.valid_status_codes',
      /status codes/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      valid_status_codes: [700]',
      'modules.a.http.valid_status_codes',
      /expected_status/,
    ],
    ['modules:\n  a:\n    prober: http\n    http:\n      body: x', 'modules.a.http.body', /body/],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      proxy_url: socks5://u:SECRET@proxy.test:1080',
      'modules.a.http.proxy_url',
      /http:\/\/ scheme/,
    ],
    ['modules:\n  a:\n    prober: http\n    http:\n      headers: {"Bad Name": x}', 'modules.a.http.headers', /header/],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      headers: {X-A: [1]}',
      'modules.a.http.headers.X-A',
      /must be a string/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      fail_if_body_matches_regexp: ["("]',
      'modules.a.http.fail_if_body_matches_regexp',
      /regular expression/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      fail_if_body_not_matches_regexp: 1',
      'modules.a.http.fail_if_body_not_matches_regexp',
      /list of strings/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      fail_if_header_not_matches: [{header: X}]',
      'modules.a.http.fail_if_header_not_matches[0].regexp',
      /required/,
    ],
    [
      "modules:\n  a:\n    prober: http\n    http:\n      fail_if_header_matches: [{header: X, regexp: '('}]",
      'modules.a.http.fail_if_header_matches',
      /fail_if_header\[0\]\.regex is not a valid regular expression/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      fail_if_header_matches: [{header: X, regexp: x, allow_missing: 1}]',
      'modules.a.http.fail_if_header_matches[0].allow_missing',
      /true or false/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      tls_config: {ca_file: /nonexistent/ca.pem}',
      'modules.a.http.tls_config.ca_file',
      /no such file/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      tls_config: {min_version: SSL3}',
      'modules.a.http.tls_config.min_version',
      /TLS10/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      tls_config: {verify: no}',
      'modules.a.http.tls_config.verify',
      /unknown key/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      preferred_ip_protocol: ip5',
      'modules.a.http.preferred_ip_protocol',
      /ip4 or ip6/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      fail_if_ssl: true\n      fail_if_not_ssl: true',
      'modules.a.http.fail_if_not_ssl',
      /every probe fails/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      ip_protocol_fallback: maybe',
      'modules.a.http.ip_protocol_fallback',
      /true or false/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      enable_http2: yes please',
      'modules.a.http.enable_http2',
      /true or false/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      bearer_token: t\n      basic_auth: {username: u}',
      'modules.a.http.bearer_token',
      /at most one/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      basic_auth: {username: u, password: p, password_file: f}',
      'modules.a.http.basic_auth.password_file',
      /either/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      headers: {Authorization: x}\n      bearer_token: t',
      'modules.a.http.bearer_token',
      /Authorization/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      tls_config: {ca: not a pem}',
      'modules.a.http.tls_config.ca_file',
      /tls_ca_pem/,
    ],
    [
      'modules:\n  a:\n    prober: http\n    http:\n      no_follow_redirects: true\n      follow_redirects: true',
      'modules.a.http.follow_redirects',
      /either/,
    ],
    ['targets:\n  - url: http://x.test/', 'targets[0].name', /is required/],
    ['mdoules: {}', 'mdoules', /unknown key/],
    ['modules: {a: [', '', /not valid YAML/],
  ];
  await assertRefused(configFile, cases);
  const missing = join(dirname(await configFile('')), 'missing.yml');
  assert.throws(() => loadConfigFile(missing, DEFAULT_LIMITS), /missing\.yml: no such file/);
});

it('secrets never appear in errors', async () => {
  const file = await configFile(
    'modules:\n  a:\n    prober: http\n    http:\n      bearer_token: SECRET-TOKEN\n      headers: {Authorization: SECRET-HEADER}\n      proxy_url: https://u:SECRET-PROXY@p.test',
  );
  assert.throws(
    () => loadConfigFile(file, DEFAULT_LIMITS),
    (err: Error) => !err.message.includes('SECRET'),
  );
});

describe('modules on a running server', () => {
  let target: Target;
  let server: RunningServer;
  let client: pb.ProberClient;
  let secretFile: string;
  let pki: Pki;
  let tlsTarget: https.Server;

  before(async () => {
    target = await startTarget();
    pki = await createPki();
    tlsTarget = https.createServer({ key: pki.server.key, cert: pki.server.cert }, (_req, res) => res.end('ok\n'));
    tlsTarget.listen(0, '127.0.0.1');
    await once(tlsTarget, 'listening');
    secretFile = await configFile('pa55\n');
    const file = await configFile(`
modules:
  echo_put:
    prober: http
    timeout: 4s
    http:
      method: PUT
      headers: {X-Probe: from-module, Content-Type: text/plain}
      body: hello module
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp: ['"method":"PUT"', '"X-Probe","from-module"', '"body":"hello module"']
      fail_if_body_matches_regexp: ['never-there']
      fail_if_header_not_matches: [{header: X-Echo-Method, regexp: '^PUT$'}]
  echo_bearer:
    prober: http
    http:
      bearer_token: t0ken
      fail_if_body_not_matches_regexp: ['"Authorization","Bearer t0ken"']
  echo_basic:
    prober: http
    http:
      basic_auth: {username: alice, password_file: ${secretFile}}
      fail_if_body_not_matches_regexp: ['"Authorization","Basic ${Buffer.from('alice:pa55').toString('base64')}"']
  wants_201:
    prober: http
    http:
      valid_status_codes: [201]
  body_forbidden:
    prober: http
    http:
      fail_if_body_matches_regexp: ['"method":"GET"']
  http_2xx:
    prober: http
    http:
      method: HEAD
  follows:
    prober: http
    http:
      valid_status_codes: [200]
  no_follow:
    prober: http
    http:
      no_follow_redirects: true
      valid_status_codes: [302]
  tls_trusted:
    prober: http
    http:
      tls_config: {ca_file: ${pki.ca.certFile}, server_name: localhost, min_version: TLS12}
  tls_untrusted:
    prober: http
  tls_insecure:
    prober: http
    http:
      tls_config: {insecure_skip_verify: true}
  no_ssl:
    prober: http
    http:
      fail_if_ssl: true
      tls_config: {insecure_skip_verify: true}
  must_ssl:
    prober: http
    http:
      fail_if_not_ssl: true
      tls_config: {insecure_skip_verify: true}
  only_ip6:
    prober: http
    http:
      preferred_ip_protocol: ip6
      ip_protocol_fallback: false
  prefer_ip6:
    prober: http
    http:
      preferred_ip_protocol: ip6
  only_ip4:
    prober: http
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  hdr_forbidden:
    prober: http
    http:
      fail_if_header_matches: [{header: x-echo-method, regexp: '^GET$'}]
  hdr_not_forbidden:
    prober: http
    http:
      fail_if_header_matches: [{header: Content-Type, regexp: '^text/'}]
  hdr_missing_required:
    prober: http
    http:
      fail_if_header_matches: [{header: X-Nope, regexp: x}]
  hdr_missing_allowed:
    prober: http
    http:
      fail_if_header_matches: [{header: X-Nope, regexp: x, allow_missing: true}]
      fail_if_header_not_matches: [{header: X-Also-Nope, regexp: y, allow_missing: true}]
  hdr_present_wrong:
    prober: http
    http:
      fail_if_header_not_matches: [{header: Content-Type, regexp: '^text/', allow_missing: true}]
  tcp_connect:
    prober: tcp
`);
    server = await startServer({
      listen: '127.0.0.1:0',
      configFile: file,
      engine: 'inline',
      warmUp: false,
      observability: { metrics: { listen: '127.0.0.1:0' } },
    });
    client = new pb.ProberClient(server.address, grpc.credentials.createInsecure());
  });
  after(async () => {
    client.close();
    await server.close(0);
    await target.close();
    tlsTarget.close();
    await pki.cleanup();
  });

  async function probe(
    module: string,
    path = '/echo',
    base = target.url,
    query = '',
  ): Promise<{ status: number; text: string }> {
    const url = `${server.metrics!.url}/probe?target=${encodeURIComponent(`${base}${path}`)}&module=${module}${query}`;
    const res = await fetch(url);
    return { status: res.status, text: await res.text() };
  }
  const success = (text: string): string | undefined => /^probe_success (\S+)$/m.exec(text)?.[1];

  const REGEX_FAILS = new Set(['body_forbidden', 'hdr_forbidden', 'hdr_missing_required', 'hdr_present_wrong']);
  for (const [module, expected] of [
    ['echo_put', '1'],
    ['echo_bearer', '1'],
    ['echo_basic', '1'],
    ['wants_201', '0'],
    ['body_forbidden', '0'],
    // fail_if_header_matches and allow_missing as blackbox: a missing header fails unless allowed.
    ['hdr_forbidden', '0'],
    ['hdr_not_forbidden', '1'],
    ['hdr_missing_required', '0'],
    ['hdr_missing_allowed', '1'],
    ['hdr_present_wrong', '0'],
  ] as const) {
    it(`/probe?module=${module}: probe_success ${expected}`, async () => {
      const r = await probe(module);
      assert.equal(r.status, 200, r.text);
      assert.equal(success(r.text), expected, r.text);
      // As blackbox: 1 only when a body or header regex failed the probe.
      const regex = REGEX_FAILS.has(module) ? '1' : '0';
      assert.match(r.text, new RegExp(`^probe_failed_due_to_regex ${regex}$`, 'm'));
    });
  }

  it('redirects: followed by default (as blackbox), not with no_follow_redirects', async () => {
    const followed = (await probe('follows', '/redirect/2')).text;
    assert.equal(success(followed), '1');
    assert.match(followed, /^probe_http_redirects 2$/m);
    assert.equal(success((await probe('no_follow', '/redirect/2')).text), '1');
    assert.equal(success((await probe('follows', '/redirect-loop')).text), '0');
  });

  it('tls_config: ca_file and server_name, insecure_skip_verify', async () => {
    const base = `https://127.0.0.1:${(tlsTarget.address() as AddressInfo).port}`;
    assert.equal(success((await probe('tls_trusted', '/', base)).text), '1');
    assert.equal(success((await probe('tls_untrusted', '/', base)).text), '0');
    assert.equal(success((await probe('tls_insecure', '/', base)).text), '1');
    const s = summaryFromProto((await call({ endpoint: `${base}/`, repetitions: 1, module: 'tls_trusted' })).summary);
    assert.equal(s.successes, 1, JSON.stringify(s.errors));
  });

  it('fail_if_ssl / fail_if_not_ssl judge the final request (after redirects), with the reason in the debug log', async () => {
    const base = `https://127.0.0.1:${(tlsTarget.address() as AddressInfo).port}`;
    assert.equal(success((await probe('no_ssl', '/ok')).text), '1');
    const overTls = await probe('no_ssl', '/', base, '&debug=true');
    assert.match(overTls.text, /\nprobe_success 0\n/);
    assert.match(overTls.text, /level=error msg="fail_if_ssl: final request was over SSL" reason=SSL_CHECK/);
    assert.match(overTls.text, / {2}fail_if_ssl: true\n/);
    assert.equal(success((await probe('must_ssl', '/', base)).text), '1');
    assert.equal(success((await probe('must_ssl', '/ok')).text), '0');
    const toTls = `/redirect-to?url=${encodeURIComponent(`${base}/`)}`;
    assert.equal(success((await probe('must_ssl', toTls)).text), '1', 'http redirected to https ends over TLS');
    // Through gRPC too: the module's checks ride on the validated spec.
    const s = summaryFromProto((await call({ endpoint: `${base}/`, repetitions: 1, module: 'no_ssl' })).summary);
    assert.deepEqual(
      s.errors.map((e) => e.reason),
      ['SSL_CHECK'],
    );
  });

  it('debug=true prints the resolved module: headers (credentials as <secret>), body checks, TLS, redirects', async () => {
    const put = (await probe('echo_put', '/echo', target.url, '&debug=true')).text;
    const config = put.slice(put.indexOf('Module configuration:\n'));
    for (const line of [
      '  method: PUT',
      '    X-Probe: from-module',
      '  body: hello module',
      '  follow_redirects: true',
      '  fail_if_body_matches_regexp:\n    - never-there',
      '    - \'"method":"PUT"\'',
      '  fail_if_header_not_matches:\n    - header: X-Echo-Method\n      regexp: ^PUT$\n      allow_missing: false',
    ])
      assert.ok(config.includes(line), `${line} in:\n${config}`);
    const bearer = (await probe('echo_bearer', '/echo', target.url, '&debug=true')).text;
    assert.match(bearer, / {4}Authorization: <secret>\n/);
    assert.doesNotMatch(bearer, /Authorization: Bearer/);
    const base = `https://127.0.0.1:${(tlsTarget.address() as AddressInfo).port}`;
    const tls = (await probe('tls_trusted', '/', base, '&debug=true')).text;
    assert.match(
      tls,
      / {2}tls_config:\n {4}insecure_skip_verify: false\n {4}server_name: localhost\n {4}min_version: TLS12\n {4}ca: <PEM>\n/,
    );
    const noFollow = (await probe('no_follow', '/ok', target.url, '&debug=true')).text;
    assert.match(noFollow, / {2}follow_redirects: false\n/);
  });

  it('preferred_ip_protocol / ip_protocol_fallback: blackbox semantics against a name with only an IPv4 address', async () => {
    // localhost is 127.0.0.1 only on the test machines that lack ::1 in /etc/hosts; the target listens on IPv4.
    const base = `http://localhost:${target.port}`;
    assert.equal(success((await probe('only_ip4', '/ok', base)).text), '1');
    assert.equal(success((await probe('prefer_ip6', '/ok', base)).text), '1', 'falls back to IPv4');
    const strict = await probe('only_ip6', '/ok', base);
    assert.equal(success(strict.text), '0', 'ip6 without fallback never reaches the IPv4-only target');
    assert.match(
      (await probe('prefer_ip6', '/ok', base, '&debug=true')).text,
      / {2}preferred_ip_protocol: ip6\n {2}ip_protocol_fallback: true\n/,
    );
  });

  it("the file's http_2xx replaces the built-in one; built-ins stay; other probers are unknown", async () => {
    const r = await probe('http_2xx');
    assert.equal(success(r.text), '1');
    assert.equal(target.hits.get('/echo') !== undefined, true);
    assert.equal(success((await probe('http_2xx_3xx')).text), '1');
    const tcp = await probe('tcp_connect');
    assert.equal(tcp.status, 400);
    assert.match(tcp.text, /Unknown module "tcp_connect"/);
    const index = await (await fetch(`${server.metrics!.url}/`)).text();
    assert.match(index, /echo_put: PUT/);
  });

  function call(req: ConstructorParameters<typeof pb.ProbeRequest>[0]): Promise<pb.ProbeReply> {
    return new Promise((resolve, reject) => {
      client.Probe(new pb.ProbeRequest(req), (err, reply) => (err ? reject(err) : resolve(reply!)));
    });
  }

  it('a gRPC ProbeRequest naming a module gets its settings', async () => {
    const s = summaryFromProto(
      (await call({ endpoint: `${target.url}/echo`, repetitions: 2, module: 'echo_put' })).summary,
    );
    assert.equal(s.successes, 2, JSON.stringify(s.errors));
    const bearer = summaryFromProto(
      (await call({ endpoint: `${target.url}/echo`, repetitions: 1, module: 'echo_bearer' })).summary,
    );
    assert.equal(bearer.successes, 1);
  });

  it('fail_if_header over gRPC: from a module, and as the request field with allow_missing', async () => {
    const reasons = async (req: ConstructorParameters<typeof pb.ProbeRequest>[0]): Promise<string[]> =>
      summaryFromProto((await call({ endpoint: `${target.url}/echo`, repetitions: 1, ...req })).summary).errors.map(
        (e) => e.reason,
      );
    assert.deepEqual(await reasons({ module: 'hdr_forbidden' }), ['HEADER_MISMATCH']);
    const check = (regex: string, allow_missing = false) =>
      new pb.HeaderMatch({ name: 'X-Echo-Method', regex, allow_missing });
    assert.deepEqual(await reasons({ fail_if_header: [check('GET')] }), ['HEADER_MISMATCH']);
    assert.deepEqual(await reasons({ fail_if_header: [check('^POST$')] }), []);
    const missing = new pb.HeaderMatch({ name: 'X-Nope', regex: 'x' });
    assert.deepEqual(await reasons({ fail_if_header: [missing] }), ['HEADER_MISMATCH']);
    missing.allow_missing = true;
    assert.deepEqual(await reasons({ fail_if_header: [missing], expect_header: [missing] }), []);
    // The request's list replaces the module's whole.
    assert.deepEqual(await reasons({ module: 'hdr_forbidden', fail_if_header: [check('^PUT$')] }), []);
  });

  it('debug=true prints fail_if_header_matches with allow_missing', async () => {
    const text = (await probe('hdr_missing_allowed', '/echo', target.url, '&debug=true')).text;
    assert.ok(
      text.includes('  fail_if_header_matches:\n    - header: X-Nope\n      regexp: x\n      allow_missing: true\n'),
      text,
    );
  });

  it("the request's own fields win over the module's", async () => {
    // wants_201 fails on /echo's 200 unless the request says 200 is fine.
    const failed = summaryFromProto(
      (await call({ endpoint: `${target.url}/echo`, repetitions: 1, module: 'wants_201' })).summary,
    );
    assert.equal(failed.failures, 1);
    const ok = summaryFromProto(
      (
        await call({
          endpoint: `${target.url}/echo`,
          repetitions: 1,
          module: 'wants_201',
          expected_status: [new pb.StatusRange({ min: 200, max: 200 })],
        })
      ).summary,
    );
    assert.equal(ok.successes, 1);
  });

  it('an unknown module is INVALID_ARGUMENT naming module', async () => {
    for (const module of ['nope', 'tcp_connect', '__proto__']) {
      await assert.rejects(
        call({ endpoint: `${target.url}/echo`, repetitions: 1, module }),
        (err: grpc.ServiceError) => {
          assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
          assert.match(err.details, /module/);
          return true;
        },
      );
    }
  });
});

describe('serve --config --check', () => {
  async function check(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const script = `process.argv.splice(1, 0, 'prober'); const { main } = await import(${JSON.stringify(MAIN)}); await main();`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, 'serve', '--listen', '127.0.0.1:0', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout, stderr };
  }

  it('a valid file: exit 0 and a summary with the warnings', async () => {
    const r = await check(['--config', FIXTURE, '--check']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /SUCCESS/);
    assert.match(r.stdout, /2 http module\(s\) loaded: http_2xx, http_post_2xx/);
    assert.match(r.stdout, /8 module\(s\) not supported: tcp_connect \(tcp\)/);
    assert.match(r.stdout, /warning: .*modules\.icmp_ttl5: prober icmp is not supported/);
  });

  it('a bad file: exit 2 naming file and path; serving never starts', async () => {
    const file = await configFile('modules:\n  http_post_2xx:\n    prober: http\n    http:\n      method: FOO\n');
    const r = await check(['--config', file, '--check']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(`FAILED: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: modules\\.http_post_2xx\\.http\\.method: `),
    );
    assert.doesNotMatch(r.stdout + r.stderr, /listening/);
  });

  it('without --check a bad file stops the start with exit 2', async () => {
    const file = await configFile('targets: {}\nmodules:\n  a: {prober: http}\n');
    const r = await check(['--config', file, '--metrics-addr', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /targets: must be a list/);
  });
});

describe('built-in modules', () => {
  // config-targets.ts keeps them in module syntax too (inline `http:` keys are laid
  // over that); both forms must mean the same probe.
  it('BUILTIN_NODES parse to the BLACKBOX_MODULES they stand for', async () => {
    const names = Object.keys(BLACKBOX_MODULES);
    assert.deepEqual(Object.keys(BUILTIN_NODES).sort(), [...names].sort());
    const file = await configFile(
      stringify({ modules: Object.fromEntries(names.map((n) => [`x_${n}`, BUILTIN_NODES[n]])) }),
    );
    const parsed = loadConfigFile(file, DEFAULT_LIMITS).modules;
    const accepts = (ranges: readonly { min: number; max: number }[]) =>
      Array.from({ length: 500 }, (_, i) => 100 + i).filter((c) => ranges.some((r) => c >= r.min && c <= r.max));
    for (const name of names) {
      const want = BLACKBOX_MODULES[name]!;
      const got = parsed[`x_${name}`]!;
      assert.equal(got.method, want.method, name);
      assert.deepEqual(accepts(got.expectedStatus), accepts(want.expectedStatus), name);
      // Unset in BLACKBOX_MODULES means "follow" for /probe and targets, as blackbox.
      assert.equal(got.followRedirects, want.followRedirects ?? true, name);
    }
  });
});
