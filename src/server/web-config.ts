// `--web-config FILE`: the Prometheus exporter-toolkit web configuration
// (docs/web-configuration.md in prometheus/exporter-toolkit), as
// blackbox_exporter and node_exporter read it: TLS for the metrics port,
// basic auth users with bcrypt hashes, extra response headers. Read and
// checked whole, synchronously, inside resolveServerConfig, so a bad file
// fails before anything binds; every error names the file and the key.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { ConfigError } from '../common/errors.js';

// yaml costs ~100 ms to load and tls some more: only `serve --web-config`
// pays (sync, because resolveServerConfig is).
const lazyRequire = createRequire(import.meta.url);

export const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

/** The TLS part, ready for node:tls (PEM text already read). */
export interface WebTlsSettings {
  readonly cert: string;
  readonly key: string;
  /** Client CA bundle; undefined: none configured. */
  readonly clientCa: string | undefined;
  readonly clientAuth: ClientAuthType;
  readonly clientAllowedSans: readonly string[] | undefined;
  readonly minVersion: SecureVersion;
  readonly maxVersion: SecureVersion;
  /** OpenSSL names of the TLS <= 1.2 suites; undefined: Node's defaults. */
  readonly ciphers: string | undefined;
  /** OpenSSL curve list ("X25519:P-256"); undefined: Node's defaults. */
  readonly ecdhCurve: string | undefined;
  readonly honorCipherOrder: boolean;
}

export interface WebConfig {
  /** The file as the user named it, for messages and reloads. */
  readonly file: string;
  /** The option that named it (`--web-config`), for ConfigError. */
  readonly option: string;
  /** undefined: plain HTTP. */
  readonly tls: WebTlsSettings | undefined;
  /** user -> bcrypt hash; empty: no authentication. */
  readonly users: ReadonlyMap<string, string>;
  /** Set on every response (exporter-toolkit's allowed set). */
  readonly headers: Readonly<Record<string, string>>;
  /** Accepted but without effect here; logged once at start. */
  readonly warnings: readonly string[];
}

const TLS_VERSIONS: Readonly<Record<string, SecureVersion>> = {
  TLS10: 'TLSv1',
  TLS11: 'TLSv1.1',
  TLS12: 'TLSv1.2',
  TLS13: 'TLSv1.3',
};
const VERSION_ORDER: readonly SecureVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/** Go's tls.CipherSuites() names (what exporter-toolkit accepts) -> OpenSSL names. */
const TLS12_CIPHERS: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
};
// Go lists these too but never lets a config choose TLS 1.3 suites; neither do we.
const TLS13_CIPHERS = new Set(['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']);

const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** exporter-toolkit's allowed headers; a list restricts the value. */
const EXTRA_HEADERS: Readonly<Record<string, readonly string[] | undefined>> = {
  'Strict-Transport-Security': undefined,
  'X-Content-Type-Options': ['nosniff'],
  'X-Frame-Options': ['deny', 'sameorigin'],
  'X-XSS-Protection': undefined,
  'Content-Security-Policy': undefined,
};

// bcrypt's modular crypt format: $2a$/$2b$/$2y$, cost 04..31, 53 chars of salt+hash.
const BCRYPT = /^\$2[aby]?\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

export type Node = Record<string, unknown>;

/** Reads one file's keys, failing with "<file>: <key path>: <problem>". */
/** Prometheus durations: 1h30m, 5s, 500ms (and a bare 0). */
export function parsePromDuration(text: string): number | undefined {
  if (text === '0') return 0;
  const m = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(text);
  if (!m || text === '') return undefined;
  const unit = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
  return unit.reduce((sum, ms, i) => sum + Number(m[i + 1] ?? 0) * ms, 0);
}

export class Reader {
  readonly warnings: string[] = [];
  constructor(
    readonly file: string,
    readonly option: string,
  ) {}

  fail(path: string, problem: string, cause?: unknown): never {
    throw new ConfigError(this.option, `${this.file}: ${path ? `${path}: ` : ''}${problem}`, { cause });
  }

  /** A mapping (null/absent: empty) whose keys must all be in `known`. */
  mapping(value: unknown, path: string, known?: readonly string[]): Node {
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) this.fail(path, `must be a mapping (got ${kind(value)})`);
    const node = value as Node;
    if (known) {
      for (const key of Object.keys(node)) {
        if (!known.includes(key)) this.fail(join(path, key), `unknown key (known: ${known.join(', ')})`);
      }
    }
    return node;
  }

  string(node: Node, key: string, path: string): string | undefined {
    const v = node[key];
    if (v === null || v === undefined || v === '') return undefined;
    if (typeof v !== 'string') this.fail(join(path, key), `must be a string (got ${kind(v)})`);
    return v;
  }

  bool(node: Node, key: string, path: string, fallback: boolean): boolean {
    const v = node[key];
    if (v === null || v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(join(path, key), `must be true or false (got ${kind(v)})`);
    return v;
  }

  /** A Prometheus duration (parsePromDuration), in ms. */
  duration(node: Node, key: string, path: string): number | undefined {
    const v = node[key];
    if (v === null || v === undefined) return undefined;
    const ms = typeof v === 'string' ? parsePromDuration(v) : undefined;
    if (ms === undefined) this.fail(join(path, key), `must be a duration such as 5s or 1m30s (got ${kind(v)})`);
    return ms;
  }

  strings(node: Node, key: string, path: string): string[] | undefined {
    const v = node[key];
    if (v === null || v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      this.fail(join(path, key), `must be a list of strings (got ${kind(v)})`);
    return v as string[];
  }

  /** A file's text; relative paths are relative to the web config's directory, as in exporter-toolkit. */
  readFile(rel: string, path: string): string {
    const abs = resolve(dirname(this.file), rel);
    try {
      return readFileSync(abs, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      this.fail(path, code === 'ENOENT' ? `no such file: ${abs}` : `cannot read ${abs}: ${message(err)}`, err);
    }
  }
}

export function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export function kind(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : JSON.stringify(v);
}

export function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Inline PEM (`cert`) or a file (`cert_file`); both set is ambiguous, so an error. */
function pem(r: Reader, node: Node, inline: string, fileKey: string, path: string): string | undefined {
  const text = r.string(node, inline, path);
  const file = r.string(node, fileKey, path);
  if (text !== undefined && file !== undefined) r.fail(join(path, fileKey), `set ${inline} or ${fileKey}, not both`);
  return file !== undefined ? r.readFile(file, join(path, fileKey)) : text;
}

function tlsVersion(r: Reader, node: Node, key: string, path: string, fallback: SecureVersion): SecureVersion {
  const v = r.string(node, key, path);
  if (v === undefined) return fallback;
  const mapped = TLS_VERSIONS[v];
  if (mapped === undefined) r.fail(join(path, key), `unknown TLS version ${JSON.stringify(v)} (use TLS12 or TLS13)`);
  return mapped;
}

function cipherList(r: Reader, node: Node, path: string): string | undefined {
  const names = r.strings(node, 'cipher_suites', path);
  if (names === undefined || names.length === 0) return undefined;
  const openssl: string[] = [];
  for (const name of names) {
    const mapped = TLS12_CIPHERS[name];
    if (mapped !== undefined) openssl.push(mapped);
    else if (TLS13_CIPHERS.has(name))
      r.warnings.push(`tls_server_config.cipher_suites: ${name} ignored (TLS 1.3 suites are not configurable)`);
    else r.fail(join(path, 'cipher_suites'), `unknown cipher ${JSON.stringify(name)} (Go's tls.CipherSuites() names)`);
  }
  return openssl.length > 0 ? openssl.join(':') : undefined;
}

function curveList(r: Reader, node: Node, path: string): string | undefined {
  const names = r.strings(node, 'curve_preferences', path);
  if (names === undefined || names.length === 0) return undefined;
  return names
    .map((name) => {
      const mapped = CURVES[name];
      if (mapped === undefined)
        r.fail(
          join(path, 'curve_preferences'),
          `unknown curve ${JSON.stringify(name)} (${Object.keys(CURVES).join(', ')})`,
        );
      return mapped;
    })
    .join(':');
}

const TLS_KEYS = [
  'cert',
  'key',
  'client_ca',
  'cert_file',
  'key_file',
  'client_auth_type',
  'client_ca_file',
  'client_allowed_sans',
  'min_version',
  'max_version',
  'cipher_suites',
  'prefer_server_cipher_suites',
  'curve_preferences',
] as const;

function clientAuthType(r: Reader, node: Node, path: string): ClientAuthType {
  const v = r.string(node, 'client_auth_type', path) ?? 'NoClientCert';
  // "RequireClientCert" is exporter-toolkit's older spelling, still accepted there.
  if (v === 'RequireClientCert') return 'RequireAnyClientCert';
  if (!(CLIENT_AUTH_TYPES as readonly string[]).includes(v))
    r.fail(join(path, 'client_auth_type'), `unknown ${JSON.stringify(v)} (one of ${CLIENT_AUTH_TYPES.join(', ')})`);
  return v as ClientAuthType;
}

/** undefined when no TLS key is set (exporter-toolkit's TLSConfig.IsEnabled). */
function readTls(r: Reader, value: unknown): WebTlsSettings | undefined {
  const path = 'tls_server_config';
  const node = r.mapping(value, path, TLS_KEYS);
  const enabling = ['cert', 'key', 'client_ca', 'cert_file', 'key_file', 'client_ca_file', 'client_auth_type'];
  if (!enabling.some((k) => r.string(node, k, path) !== undefined)) {
    if (Object.keys(node).some((k) => node[k] !== null))
      r.fail(path, 'TLS settings without cert_file and key_file: set both to serve TLS');
    return undefined;
  }
  const cert = pem(r, node, 'cert', 'cert_file', path) ?? r.fail(path, 'missing one of cert or cert_file');
  const key = pem(r, node, 'key', 'key_file', path) ?? r.fail(path, 'missing one of key or key_file');
  const clientCa = pem(r, node, 'client_ca', 'client_ca_file', path);
  const clientAuth = clientAuthType(r, node, path);
  const verifies = clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert';
  if (clientCa !== undefined && clientAuth === 'NoClientCert')
    r.fail(join(path, 'client_auth_type'), 'client_ca_file is set but client_auth_type is NoClientCert');
  // Stricter than exporter-toolkit (which falls back to system roots): verifying
  // client certificates against every public CA is never what was meant.
  if (verifies && clientCa === undefined) r.fail(join(path, 'client_ca_file'), `required by ${clientAuth}`);
  const sans = r.strings(node, 'client_allowed_sans', path);
  if (sans !== undefined && clientAuth !== 'RequireAnyClientCert' && clientAuth !== 'RequireAndVerifyClientCert')
    r.fail(
      join(path, 'client_allowed_sans'),
      'needs client_auth_type RequireAnyClientCert or RequireAndVerifyClientCert',
    );
  const minVersion = tlsVersion(r, node, 'min_version', path, 'TLSv1.2');
  const maxVersion = tlsVersion(r, node, 'max_version', path, 'TLSv1.3');
  if (VERSION_ORDER.indexOf(minVersion) > VERSION_ORDER.indexOf(maxVersion))
    r.fail(join(path, 'min_version'), `${minVersion} is above max_version ${maxVersion}`);
  const settings: WebTlsSettings = {
    cert,
    key,
    clientCa,
    clientAuth,
    clientAllowedSans: sans === undefined ? undefined : Object.freeze([...sans]),
    minVersion,
    maxVersion,
    ciphers: cipherList(r, node, path),
    ecdhCurve: curveList(r, node, path),
    honorCipherOrder: r.bool(node, 'prefer_server_cipher_suites', path, true),
  };
  checkSecureContext(r, settings, path);
  return Object.freeze(settings);
}

/** node:tls options for the metrics port (server side). */
export function secureContextOptions(t: WebTlsSettings): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: t.cert,
    key: t.key,
    ...(t.clientCa !== undefined ? { ca: t.clientCa } : {}),
    minVersion: t.minVersion,
    maxVersion: t.maxVersion,
    ...(t.ciphers !== undefined ? { ciphers: t.ciphers } : {}),
    ...(t.ecdhCurve !== undefined ? { ecdhCurve: t.ecdhCurve } : {}),
    honorCipherOrder: t.honorCipherOrder,
    requestCert: t.clientAuth !== 'NoClientCert',
    // Only this mode fails the handshake itself; the others are checked after it (http.ts).
    rejectUnauthorized: t.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/** The certificate, key (and their match), CA bundle and lists as OpenSSL will see them. */
function checkSecureContext(r: Reader, t: WebTlsSettings, path: string): void {
  const tls = lazyRequire('node:tls') as typeof import('node:tls');
  const { X509Certificate } = lazyRequire('node:crypto') as typeof import('node:crypto');
  const parse = (pemText: string, key: string): void => {
    try {
      new X509Certificate(pemText);
    } catch (err) {
      r.fail(join(path, key), `not a PEM certificate: ${message(err)}`, err);
    }
  };
  parse(t.cert, 'cert_file');
  if (t.clientCa !== undefined) parse(t.clientCa, 'client_ca_file');
  try {
    tls.createSecureContext(secureContextOptions(t));
  } catch (err) {
    r.fail(path, `cannot use the certificate and key: ${message(err)}`, err);
  }
}

function readHeaders(r: Reader, value: unknown): Record<string, string> {
  const path = 'http_server_config';
  const node = r.mapping(value, path, ['http2', 'headers']);
  // Node's http server speaks HTTP/1.1; Prometheus negotiates it, so http2 has no effect.
  r.bool(node, 'http2', path, true);
  const headersPath = join(path, 'headers');
  const headers = r.mapping(node['headers'], headersPath);
  const out: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    if (!(name in EXTRA_HEADERS))
      r.fail(
        join(headersPath, name),
        `header can not be configured (allowed: ${Object.keys(EXTRA_HEADERS).join(', ')})`,
      );
    const text = r.string(headers, name, headersPath);
    if (text === undefined) continue; // blank: unset
    const allowed = EXTRA_HEADERS[name];
    if (allowed && !allowed.includes(text))
      r.fail(join(headersPath, name), `must be one of ${allowed.join(', ')} (got ${JSON.stringify(text)})`);
    out[name] = text;
  }
  return out;
}

function readUsers(r: Reader, value: unknown): Map<string, string> {
  const path = 'basic_auth_users';
  const node = r.mapping(value, path);
  const users = new Map<string, string>();
  for (const user of Object.keys(node)) {
    const hash = node[user];
    // Never echo the value: it is a password hash.
    if (typeof hash !== 'string' || !BCRYPT.test(hash))
      r.fail(join(path, user), 'must be a bcrypt hash ($2a$, $2b$ or $2y$, cost 4..31; e.g. htpasswd -nBC 10 "")');
    users.set(user, hash);
  }
  return users;
}

export function parseYaml(r: Reader, text: string): unknown {
  const YAML = lazyRequire('yaml') as typeof import('yaml');
  try {
    return YAML.parse(text, { uniqueKeys: true, prettyErrors: false });
  } catch (err) {
    return r.fail('', `not valid YAML: ${message(err).split('\n')[0]}`, err);
  }
}

/**
 * Reads and checks a web config file. An empty file means plain HTTP without
 * authentication, as in exporter-toolkit. Throws ConfigError naming `option`,
 * with a message "<file>: <key>: <problem>".
 */
export function loadWebConfig(file: string, option = '--web-config'): WebConfig {
  const r = new Reader(file, option);
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    r.fail('', code === 'ENOENT' ? 'no such file' : `cannot read: ${message(err)}`, err);
  }
  const root = r.mapping(parseYaml(r, text), '', [
    'tls_server_config',
    'http_server_config',
    'basic_auth_users',
    'rate_limit',
  ]);
  if (root['rate_limit'] !== undefined && root['rate_limit'] !== null)
    r.fail('rate_limit', 'not supported by prober (see /probe concurrency limits)');
  const config: WebConfig = {
    file,
    option,
    tls: readTls(r, root['tls_server_config']),
    users: readUsers(r, root['basic_auth_users']),
    headers: Object.freeze(readHeaders(r, root['http_server_config'])),
    warnings: Object.freeze([...r.warnings]),
  };
  return Object.freeze(config);
}
