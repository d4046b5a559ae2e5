// `prober serve --config FILE`: YAML whose `modules:` section is
// blackbox_exporter's own (https://github.com/prometheus/blackbox_exporter/blob/master/CONFIGURATION.md),
// so an existing blackbox.yml loads as it is. `prober: http` modules become
// BlackboxModules; other probers (tcp, icmp, dns, grpc) are listed as
// warnings and skipped. Keys the engine cannot honour yet are accepted and
// reported one warning each, never dropped silently. Read and checked whole,
// synchronously, inside resolveServerConfig; every error names the file and
// the key path ("modules.http_post_2xx.http.method").
// `targets:` (scheduled probing) is read by config-targets.ts.
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, validateProbeInput } from '../probe/index.js';
import { HTTP_METHODS, type HeaderField, type HeaderMatch, type HttpMethod, type ProbeLimits } from '../probe/types.js';
import { BLACKBOX_MODULES, type BlackboxModule, type ModuleTable } from './modules.js';
import { readTargets, type TargetDefinition } from './config-targets.js';
import { join, kind, message, parsePromDuration, parseYaml, Reader, type Node } from './web-config.js';

export interface ConfigFile {
  /** The file as the user named it. */
  readonly file: string;
  /** The option that named it (`--config`), for ConfigError. */
  readonly option: string;
  /** The file's http modules, by name. */
  readonly modules: ModuleTable;
  /** Modules of other probers, by name, with their prober: listed, not loaded. */
  readonly unsupported: readonly { readonly name: string; readonly prober: string }[];
  /** One line per key accepted without effect, and per skipped module. */
  readonly warnings: readonly string[];
  /** Targets probed on the server's own schedule, in file order. */
  readonly targets: readonly TargetDefinition[];
}

const PROBERS = ['http', 'tcp', 'icmp', 'dns', 'grpc'] as const;
const MODULE_KEYS = ['prober', 'timeout', ...PROBERS] as const;

/** blackbox's http prober keys (HTTPProbe with the inlined HTTPClientConfig). */
const HTTP_KEYS = [
  'valid_status_codes',
  'valid_http_versions',
  'method',
  'headers',
  'body',
  'body_size_limit',
  'compression',
  'no_follow_redirects',
  'follow_redirects',
  'fail_if_ssl',
  'fail_if_not_ssl',
  'fail_if_body_matches_regexp',
  'fail_if_body_not_matches_regexp',
  'fail_if_header_matches',
  'fail_if_header_not_matches',
  'tls_config',
  'preferred_ip_protocol',
  'ip_protocol_fallback',
  'basic_auth',
  'bearer_token',
  'bearer_token_file',
  'authorization',
  'proxy_url',
  'enable_http2',
] as const;

const TLS_CONFIG_KEYS = [
  'insecure_skip_verify',
  'ca_file',
  'cert_file',
  'key_file',
  'server_name',
  'min_version',
  'max_version',
  'ca',
  'cert',
  'key',
] as const;
const TLS_VERSIONS = ['TLS10', 'TLS11', 'TLS12', 'TLS13'];

/** Which engine setting a ProbeInput field's error belongs to, as a key under the module. */
const FIELD_KEY: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  method: 'http.method',
  headers: 'http.headers',
  body: 'http.body',
  expected_status: 'http.valid_status_codes',
  expect_body: 'http.fail_if_body_not_matches_regexp',
  fail_if_body: 'http.fail_if_body_matches_regexp',
  expect_header: 'http.fail_if_header_not_matches',
  fail_if_header: 'http.fail_if_header_matches',
  follow_redirects: 'http.follow_redirects',
  tls_insecure: 'http.tls_config.insecure_skip_verify',
  tls_ca_pem: 'http.tls_config.ca_file',
  tls_cert_pem: 'http.tls_config.cert_file',
  tls_key_pem: 'http.tls_config.key_file',
  tls_server_name: 'http.tls_config.server_name',
  tls_min_version: 'http.tls_config.min_version',
  ip_family: 'http.preferred_ip_protocol',
  proxy_url: 'http.proxy_url',
  http_version: 'http.enable_http2',
};

const NOT_APPLIED = 'accepted but not applied yet';

class ModuleReader {
  readonly headers: HeaderField[] = [];
  readonly expectHeader: HeaderMatch[] = [];
  readonly failIfHeader: HeaderMatch[] = [];
  readonly tls: {
    tlsInsecure?: boolean;
    tlsCaPem?: string;
    tlsCertPem?: string;
    tlsKeyPem?: string;
    tlsServerName?: string;
    tlsMinVersion?: string;
  } = {};
  constructor(
    readonly r: Reader,
    readonly path: string,
  ) {}

  warn(key: string, why: string): void {
    this.r.warnings.push(`${this.r.file}: ${join(this.path, key)}: ${NOT_APPLIED} (${why})`);
  }

  fail(key: string, problem: string): never {
    return this.r.fail(join(this.path, key), problem);
  }
}

export { parsePromDuration };

function timeoutOf(r: Reader, node: Node, path: string): number | undefined {
  const ms = r.duration(node, 'timeout', path);
  return ms === 0 ? undefined : ms;
}

function statusCodes(m: ModuleReader, node: Node): { min: number; max: number }[] {
  const v = node['valid_status_codes'];
  if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) return [{ min: 200, max: 299 }];
  if (!Array.isArray(v) || !v.every((c) => Number.isInteger(c)))
    m.fail('http.valid_status_codes', `must be a list of status codes (got ${kind(v)})`);
  return (v as number[]).map((c) => ({ min: c, max: c }));
}

function method(m: ModuleReader, node: Node): HttpMethod {
  const v = m.r.string(node, 'method', join(m.path, 'http'));
  if (v === undefined) return 'GET';
  const upper = v.toUpperCase() as HttpMethod;
  if (!HTTP_METHODS.includes(upper))
    m.fail('http.method', `must be one of ${HTTP_METHODS.join(', ')} (got ${kind(v)})`);
  return upper;
}

function headers(m: ModuleReader, node: Node): void {
  const path = join(m.path, 'http.headers');
  const map = m.r.mapping(node['headers'], path);
  for (const name of Object.keys(map)) {
    const value = map[name];
    if (typeof value !== 'string') m.r.fail(join(path, name), `must be a string (got ${kind(value)})`);
    m.headers.push({ name, value });
  }
}

function secret(m: ModuleReader, node: Node, key: string, fileKey: string, path: string): string | undefined {
  const inline = m.r.string(node, key, path);
  const file = m.r.string(node, fileKey, path);
  if (inline !== undefined && file !== undefined) m.r.fail(join(path, fileKey), `give either ${key} or ${fileKey}`);
  return file === undefined ? inline : m.r.readFile(file, join(path, fileKey)).trim();
}

/** basic_auth, bearer_token(_file) and authorization all become the Authorization header. */
function authorization(m: ModuleReader, node: Node): void {
  const path = join(m.path, 'http');
  const given = ['basic_auth', 'bearer_token', 'bearer_token_file', 'authorization'].filter(
    (k) => node[k] !== undefined && node[k] !== null,
  );
  if (given.length === 0) return;
  if (
    given.length > 1 &&
    !(given.length === 2 && given.includes('bearer_token') && given.includes('bearer_token_file'))
  )
    m.r.fail(join(path, given[1]!), `at most one of ${given.join(', ')} may be set`);
  if (m.headers.some((h) => h.name.toLowerCase() === 'authorization'))
    m.r.fail(join(path, given[0]!), 'headers already set Authorization');
  let value: string;
  if (given[0] === 'basic_auth') {
    const p = join(path, 'basic_auth');
    const ba = m.r.mapping(node['basic_auth'], p, ['username', 'password', 'password_file']);
    const user = m.r.string(ba, 'username', p) ?? '';
    const password = secret(m, ba, 'password', 'password_file', p) ?? '';
    value = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  } else if (given[0] === 'authorization') {
    const p = join(path, 'authorization');
    const a = m.r.mapping(node['authorization'], p, ['type', 'credentials', 'credentials_file']);
    value = `${m.r.string(a, 'type', p) ?? 'Bearer'} ${secret(m, a, 'credentials', 'credentials_file', p) ?? ''}`;
  } else {
    value = `Bearer ${secret(m, node, 'bearer_token', 'bearer_token_file', path) ?? ''}`;
  }
  m.headers.push({ name: 'Authorization', value });
}

function regexList(m: ModuleReader, node: Node, key: string): string[] | undefined {
  const list = m.r.strings(node, key, join(m.path, 'http'));
  return list === undefined || list.length === 0 ? undefined : list;
}

function headerChecks(m: ModuleReader, node: Node): void {
  for (const key of ['fail_if_header_matches', 'fail_if_header_not_matches'] as const) {
    const v = node[key];
    if (v === null || v === undefined) continue;
    const path = join(m.path, `http.${key}`);
    if (!Array.isArray(v)) m.r.fail(path, `must be a list (got ${kind(v)})`);
    v.forEach((entry: unknown, i) => {
      const p = `${path}[${i}]`;
      const e = m.r.mapping(entry, p, ['header', 'regexp', 'allow_missing']);
      const header = m.r.string(e, 'header', p);
      const regex = m.r.string(e, 'regexp', p);
      if (header === undefined) m.r.fail(join(p, 'header'), 'is required');
      if (regex === undefined) m.r.fail(join(p, 'regexp'), 'is required');
      const allowMissing = m.r.bool(e, 'allow_missing', p, false);
      const check: HeaderMatch = { name: header, regex, ...(allowMissing ? { allowMissing } : {}) };
      (key === 'fail_if_header_matches' ? m.failIfHeader : m.expectHeader).push(check);
    });
  }
}

/** blackbox's tls_config onto the engine's target TLS options (PEM text read here, at load time). */
function tlsConfig(m: ModuleReader, node: Node): void {
  const path = join(m.path, 'http.tls_config');
  const tls = m.r.mapping(node['tls_config'], path, TLS_CONFIG_KEYS);
  const pem = (inline: string, fileKey: string): string | undefined => {
    const text = m.r.string(tls, inline, path);
    const file = m.r.string(tls, fileKey, path);
    if (text !== undefined && file !== undefined) m.r.fail(join(path, fileKey), `give either ${inline} or ${fileKey}`);
    return file === undefined ? text : m.r.readFile(file, join(path, fileKey));
  };
  const out = m.tls;
  if (m.r.bool(tls, 'insecure_skip_verify', path, false)) out.tlsInsecure = true;
  const ca = pem('ca', 'ca_file');
  const cert = pem('cert', 'cert_file');
  const key = pem('key', 'key_file');
  if (ca !== undefined) out.tlsCaPem = ca;
  if (cert !== undefined) out.tlsCertPem = cert;
  if (key !== undefined) out.tlsKeyPem = key;
  const serverName = m.r.string(tls, 'server_name', path);
  if (serverName !== undefined) out.tlsServerName = serverName;
  for (const key of ['min_version', 'max_version'] as const) {
    const v = m.r.string(tls, key, path);
    if (v === undefined) continue;
    if (!TLS_VERSIONS.includes(v))
      m.r.fail(join(path, key), `must be one of ${TLS_VERSIONS.join(', ')} (got ${kind(v)})`);
    if (key === 'max_version') m.warn('http.tls_config.max_version', 'no engine support');
    else if (v === 'TLS12' || v === 'TLS13') out.tlsMinVersion = v === 'TLS12' ? '1.2' : '1.3';
    else m.warn('http.tls_config.min_version', "the engine's lowest is TLS 1.2");
  }
}

/** no_follow_redirects (older) and follow_redirects (newer); blackbox follows by default. */
function redirects(m: ModuleReader, node: Node): boolean {
  const p = join(m.path, 'http');
  const set = (k: string): boolean => node[k] !== undefined && node[k] !== null;
  if (set('no_follow_redirects') && set('follow_redirects'))
    m.r.fail(join(p, 'follow_redirects'), 'give either follow_redirects or no_follow_redirects');
  if (set('no_follow_redirects')) return !m.r.bool(node, 'no_follow_redirects', p, false);
  return m.r.bool(node, 'follow_redirects', p, true);
}

/** Go's names for the versions (resp.Proto), as blackbox compares them. */
const BLACKBOX_HTTP_VERSIONS = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/2.0'];

/**
 * enable_http2 (true: h2 via ALPN, falling back to 1.1; blackbox's default is
 * false) and valid_http_versions (checked by /probe on the response).
 */
function httpVersions(m: ModuleReader, node: Node): Pick<BlackboxModule, 'httpVersion' | 'validHttpVersions'> {
  const p = join(m.path, 'http');
  const enable = node['enable_http2'] !== undefined && node['enable_http2'] !== null;
  const h2 = enable && m.r.bool(node, 'enable_http2', p, false);
  const valid = m.r.strings(node, 'valid_http_versions', p);
  for (const v of valid ?? []) {
    if (!BLACKBOX_HTTP_VERSIONS.includes(v))
      m.r.warnings.push(
        `${m.r.file}: ${join(p, 'valid_http_versions')}: ${kind(v)} never matches (responses are ${BLACKBOX_HTTP_VERSIONS.join(', ')})`,
      );
  }
  return {
    ...(h2 ? { httpVersion: '2' as const } : {}),
    ...(valid !== undefined && valid.length > 0 ? { validHttpVersions: Object.freeze([...valid]) } : {}),
  };
}

/** Keys with no engine support: checked for type, then a warning unless their value is what the engine does anyway. */
function unappliedKeys(m: ModuleReader, node: Node): void {
  const p = join(m.path, 'http');
  if (m.r.string(node, 'compression', p) !== undefined) m.warn('http.compression', 'no engine support');
  if (node['body_size_limit'] !== undefined && node['body_size_limit'] !== null)
    m.warn('http.body_size_limit', "the server's body cap applies");
}

/**
 * preferred_ip_protocol / ip_protocol_fallback as blackbox reads them (ip6
 * preferred by default): without fallback, that family only (ip_family);
 * with it, that family's addresses first. Neither key set: the resolver's
 * order, both families (blackbox would try ip6 first).
 */
function ipProtocol(m: ModuleReader, node: Node): Pick<BlackboxModule, 'ipFamily' | 'preferFamily'> {
  const p = join(m.path, 'http');
  const protocol = m.r.string(node, 'preferred_ip_protocol', p);
  // blackbox also takes "tcp4"/"tcp6" there (it strips the prefix).
  const family = protocol === undefined ? undefined : ({ ip4: 4, ip6: 6, tcp4: 4, tcp6: 6 } as const)[protocol];
  if (protocol !== undefined && family === undefined)
    m.fail('http.preferred_ip_protocol', `must be ip4 or ip6 (got ${kind(protocol)})`);
  const fallback = m.r.bool(node, 'ip_protocol_fallback', p, true);
  if (!fallback) return { ipFamily: family ?? 6 };
  return family === undefined ? {} : { preferFamily: family };
}

/** fail_if_ssl / fail_if_not_ssl: checked on the final request, after redirects. */
function sslChecks(m: ModuleReader, node: Node): Pick<BlackboxModule, 'failIfSsl' | 'failIfNotSsl'> {
  const p = join(m.path, 'http');
  const failIfSsl = m.r.bool(node, 'fail_if_ssl', p, false);
  const failIfNotSsl = m.r.bool(node, 'fail_if_not_ssl', p, false);
  if (failIfSsl && failIfNotSsl) m.fail('http.fail_if_not_ssl', 'with fail_if_ssl every probe fails: set one');
  return { ...(failIfSsl ? { failIfSsl } : {}), ...(failIfNotSsl ? { failIfNotSsl } : {}) };
}

/** A module in blackbox syntax; errors are named under `path` (`modules.NAME`, or a target's `targets[2]`). */
function httpModule(r: Reader, path: string, node: Node, limits: ProbeLimits): BlackboxModule {
  const m = new ModuleReader(r, path);
  const http = r.mapping(node['http'], join(m.path, 'http'), HTTP_KEYS);
  for (const key of ['tcp', 'icmp', 'dns', 'grpc']) {
    if (node[key] !== undefined && node[key] !== null)
      r.warnings.push(`${r.file}: ${join(m.path, key)}: ignored (the module's prober is http)`);
  }
  headers(m, http);
  authorization(m, http);
  headerChecks(m, http);
  unappliedKeys(m, http);
  tlsConfig(m, http);
  const followRedirects = redirects(m, http);
  const body = r.string(http, 'body', join(m.path, 'http'));
  // The operator's proxy: allowed without --allow-proxies (docs/security.md).
  const proxyUrl = r.string(http, 'proxy_url', join(m.path, 'http'));
  const timeoutMs = timeoutOf(r, node, m.path);
  const expectBody = regexList(m, http, 'fail_if_body_not_matches_regexp');
  const failIfBody = regexList(m, http, 'fail_if_body_matches_regexp');
  const expectedStatus = statusCodes(m, http);
  const verb = method(m, http);
  const mod: BlackboxModule = {
    method: verb,
    expectedStatus,
    description: describe(verb, expectedStatus, r.file),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    ...(m.headers.length > 0 ? { headers: m.headers } : {}),
    ...(body !== undefined ? { body: new Uint8Array(Buffer.from(body)) } : {}),
    ...(expectBody ? { expectBody } : {}),
    ...(failIfBody ? { failIfBody } : {}),
    ...(m.expectHeader.length > 0 ? { expectHeader: m.expectHeader } : {}),
    ...(m.failIfHeader.length > 0 ? { failIfHeader: m.failIfHeader } : {}),
    followRedirects,
    ...m.tls,
    ...ipProtocol(m, http),
    ...sslChecks(m, http),
    ...(proxyUrl !== undefined && proxyUrl !== '' ? { proxyUrl } : {}),
    ...httpVersions(m, http),
  };
  checkAgainstEngine(m, mod, limits);
  return Object.freeze(mod);
}

function describe(verb: HttpMethod, codes: readonly { min: number; max: number }[], file: string): string {
  const ok = codes.map((c) => (c.min === c.max ? String(c.min) : `${c.min}-${c.max}`)).join(', ');
  return `${verb}, success on ${ok} (from ${file})`;
}

/** The engine's own validation, so a bad header or regex fails at load time, named by its key. */
function checkAgainstEngine(m: ModuleReader, mod: BlackboxModule, limits: ProbeLimits): void {
  try {
    validateProbeInput(
      { endpoint: 'https://module.invalid/', repetitions: 1, ...mod },
      { ...limits, allowProxy: true },
    );
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    const base = err.field.replace(/\[.*$/, '');
    m.fail(FIELD_KEY[base] ?? 'http', err.message);
  }
}

function readModules(r: Reader, value: unknown, limits: ProbeLimits): Pick<ConfigFile, 'modules' | 'unsupported'> {
  const nodes = r.mapping(value, 'modules');
  const modules: Record<string, BlackboxModule> = {};
  const unsupported: { name: string; prober: string }[] = [];
  for (const name of Object.keys(nodes)) {
    const path = join('modules', name);
    const node = r.mapping(nodes[name], path, MODULE_KEYS);
    const prober = r.string(node, 'prober', path);
    if (prober === undefined) r.fail(join(path, 'prober'), `is required (one of ${PROBERS.join(', ')})`);
    if (!(PROBERS as readonly string[]).includes(prober))
      r.fail(join(path, 'prober'), `unknown prober ${kind(prober)} (one of ${PROBERS.join(', ')})`);
    if (prober === 'http') {
      modules[name] = httpModule(r, path, node, limits);
      continue;
    }
    unsupported.push({ name, prober });
    r.warnings.push(`${r.file}: ${path}: prober ${prober} is not supported (only http); module not loaded`);
  }
  return { modules: Object.freeze(modules), unsupported: Object.freeze(unsupported) };
}

/**
 * Reads and checks a config file against the server's limits. Throws
 * ConfigError naming `option`, with a message "<file>: <key path>: <problem>".
 */
export function loadConfigFile(file: string, limits: ProbeLimits, option = '--config'): ConfigFile {
  const r = new Reader(file, option);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    r.fail('', code === 'ENOENT' ? 'no such file' : `cannot read: ${message(err)}`, err);
  }
  const root = r.mapping(parseYaml(r, text), '', ['modules', 'targets']);
  const { modules, unsupported } = readModules(r, root['modules'], limits);
  const tools = {
    parseModule: (path: string, node: Node) => httpModule(r, path, node, limits),
  };
  const all: ModuleTable = { ...BLACKBOX_MODULES, ...modules };
  const targets = readTargets(r, root['targets'], tools, all, root['modules'], limits);
  return Object.freeze({ file, option, modules, unsupported, warnings: Object.freeze([...r.warnings]), targets });
}
