// The multi-target exporter pattern: GET /probe?target=URL&module=NAME runs
// ONE fresh attempt through the engine and answers with blackbox_exporter's
// HTTP prober metric names, so its dashboards and alert rules work unchanged.
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { Gauge, Registry } from 'prom-client';
import { stringify as toYaml } from 'yaml';
import {
  earliestExpiry,
  runAttempt,
  validateProbeInput,
  InvalidArgumentError,
  preflightTarget,
  connectTarget,
} from '../probe/index.js';
import type { AttemptResult, HeaderMatch, ProbeLimits, ProbeSpec } from '../probe/types.js';
import { PHASES, PHASE_FIELD, type Phase } from '../stats/phases.js';
import { DEFAULT_TIMEOUT_OFFSET_MS, type ProbeEndpointSettings } from './config.js';
import { redactUrl } from '../common/redact.js';
import { DEFAULT_MODULE, findModule, moduleInput, withModuleSpec } from './modules.js';

export { BLACKBOX_MODULES, DEFAULT_MODULE, type BlackboxModule } from './modules.js';

/**
 * blackbox_exporter's probe_http_duration_seconds phase names; a new Phase must
 * be mapped here. blackbox has no proxy phase: the CONNECT round trip counts
 * as connecting (phases sharing a name are summed), so the phases still add
 * up to the duration.
 */
export const BLACKBOX_PHASE: Readonly<Record<Phase, string>> = Object.freeze({
  dns: 'resolve',
  connect: 'connect',
  proxy: 'connect',
  tls: 'tls',
  ttfb: 'processing',
  transfer: 'transfer',
});

/** Milliseconds per blackbox phase name, in PHASES order (phases sharing a name summed; none happened: 0). */
function blackboxPhases(p: AttemptResult['phases']): Map<string, number> {
  const out = new Map<string, number>();
  for (const phase of PHASES) {
    const name = BLACKBOX_PHASE[phase];
    out.set(name, (out.get(name) ?? 0) + (p[PHASE_FIELD[phase]] ?? 0));
  }
  return out;
}

export { DEFAULT_TIMEOUT_OFFSET_MS };
export const SCRAPE_TIMEOUT_HEADER = 'x-prometheus-scrape-timeout-seconds';

/** A request the exporter refuses: HTTP 400 with `message` as the body. */
export class BlackboxRequestError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'BlackboxRequestError';
  }
}

/**
 * Attempt timeout for one scrape: the scrape timeout header minus the offset
 * (at most half the header, so a short scrape timeout still gets a probe),
 * capped by the limits' maxTimeoutMs. Without the header: defaultTimeoutMs.
 */
export function probeTimeoutMs(
  header: string | undefined,
  limits: ProbeLimits,
  offsetMs = DEFAULT_TIMEOUT_OFFSET_MS,
): number {
  if (header === undefined || header.trim() === '') return Math.min(limits.defaultTimeoutMs, limits.maxTimeoutMs);
  const seconds = Number(header.trim());
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new BlackboxRequestError(
      `X-Prometheus-Scrape-Timeout-Seconds must be a positive number of seconds (got ${JSON.stringify(header)})`,
      'X-Prometheus-Scrape-Timeout-Seconds',
    );
  }
  const ms = seconds * 1000;
  return Math.min(Math.max(ms - offsetMs, ms / 2), limits.maxTimeoutMs);
}

/** Blackbox accepts targets without a scheme and probes them over http; other schemes fail validation. */
export function targetToEndpoint(target: string): string {
  const t = target.trim();
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(t) ? t : `http://${t}`;
}

export interface ProbeParams {
  readonly target: string | null | undefined;
  readonly module?: string | null | undefined;
  /** Raw X-Prometheus-Scrape-Timeout-Seconds header. */
  readonly scrapeTimeoutHeader?: string | undefined;
  readonly signal?: AbortSignal;
}

export interface TlsFacts {
  /** Unix seconds: earliest notAfter over the certificates the server sent (blackbox's PeerCertificates). */
  readonly earliestExpiry?: number;
  /** Unix seconds: earliest notAfter over the verified chain, root included (blackbox's last chain). */
  readonly lastChainExpiry?: number;
  readonly version?: string;
}

/** Earliest notAfter over the peer's chain, in Unix seconds (the engine's, re-exported). */
export { earliestExpiry };

/** /probe's view of the engine's TLS facts (blackbox's version label). */
export function tlsFactsOf(attempt: AttemptResult): TlsFacts {
  const t = attempt.tls;
  if (t === undefined) return {};
  return {
    version: tlsVersionLabel(t.version),
    ...(t.earliestCertExpiry !== undefined ? { earliestExpiry: t.earliestCertExpiry } : {}),
    ...(t.lastChainExpiry !== undefined ? { lastChainExpiry: t.lastChainExpiry } : {}),
  };
}

/** Node's "TLSv1.3" -> blackbox's "TLS 1.3". */
export function tlsVersionLabel(protocol: string): string {
  const m = /^TLSv(\d(?:\.\d)?)$/.exec(protocol);
  return m ? `TLS ${m[1]!.includes('.') ? m[1] : `${m[1]}.0`}` : protocol;
}

/** FNV-1a 32-bit over bytes (a string hashes as its UTF-8 bytes). */
export function fnv32a(data: string | Uint8Array | readonly number[]): number {
  let h = 0x811c9dc5;
  for (const byte of typeof data === 'string' ? Buffer.from(data) : data) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * blackbox's probe_ip_addr_hash: FNV-1a 32 over the address's bytes as Go's
 * resolver hands them to ipHash, 4 for IPv4 and 16 for IPv6, so 127.0.0.1
 * gives 3668918509 and ::1 gives 1751717746 (checked against blackbox 0.23).
 */
export function ipAddrHash(ip: string): number {
  return fnv32a(ipaddr.parse(ip.replace(/%.*$/, '')).toByteArray());
}

/** "1.2.3.4:80" / "[::1]:443" -> the IP. */
function ipOf(remoteAddress: string | undefined): string | undefined {
  if (!remoteAddress) return undefined;
  const m = /^\[([^\]]+)\]:\d+$/.exec(remoteAddress) ?? /^([^:]+):\d+$/.exec(remoteAddress);
  return m?.[1];
}

export interface BlackboxResult {
  readonly attempt: AttemptResult;
  readonly success: boolean;
  readonly durationSeconds: number;
  readonly tls: boolean;
  readonly tlsFacts: TlsFacts;
  readonly module: string;
  readonly endpoint: string;
  /** The settings the attempt ran with (module resolved, timeout applied): debug output prints them. */
  readonly spec: ProbeSpec;
}

/**
 * Validate and run one probe with /probe's resolved settings. Bad input throws
 * BlackboxRequestError (-> 400); a target the policy denies, PolicyDeniedError (-> 403).
 */
export async function runBlackboxProbe(params: ProbeParams, settings: ProbeEndpointSettings): Promise<BlackboxResult> {
  const { limits } = settings;
  const moduleName = params.module == null || params.module === '' ? DEFAULT_MODULE : params.module;
  const mod = findModule(settings.modules, moduleName);
  if (!mod) {
    throw new BlackboxRequestError(
      `Unknown module ${JSON.stringify(moduleName)}: expected one of ${Object.keys(settings.modules).join(', ')}`,
      'module',
    );
  }
  if (params.target == null || params.target.trim() === '') {
    throw new BlackboxRequestError('Target parameter is missing', 'target');
  }
  // As blackbox: the module's timeout, if shorter than the scrape's.
  const scrapeMs = probeTimeoutMs(params.scrapeTimeoutHeader, limits, settings.timeoutOffsetMs);
  const timeoutMs = mod.timeoutMs === undefined ? scrapeMs : Math.min(mod.timeoutMs, scrapeMs);
  const endpoint = targetToEndpoint(params.target);

  let spec: ProbeSpec;
  try {
    spec = withModuleSpec(
      mod,
      validateProbeInput(
        // Modules follow redirects unless they say not to, as blackbox's http prober does.
        { followRedirects: true, ...moduleInput(mod), endpoint, repetitions: 1, timeoutMs },
        // A proxy here can only be the module's, and modules are the operator's.
        mod.proxyUrl === undefined ? limits : { ...limits, allowProxy: true },
        settings.targetPolicy?.current(),
      ),
    );
  } catch (err) {
    if (err instanceof InvalidArgumentError) {
      // The URL arrives as `target` here, so the message names that.
      if (err.field === 'endpoint')
        throw new BlackboxRequestError(err.message.replace(/^endpoint\b/, 'target'), 'target');
      throw new BlackboxRequestError(err.message, err.field);
    }
    throw err;
  }
  // A PolicyDeniedError goes up as is: the handler answers 403.
  await preflightTarget(connectTarget(spec), timeoutMs);
  spec = withSettingsCa(spec, settings.tls?.ca);

  const isTls = spec.url.protocol === 'https:';
  // A fresh agent per probe: a new connection and no TLS session resumption.
  const agent = isTls ? new https.Agent({ keepAlive: false, maxCachedSessions: 0 }) : undefined;
  const started = performance.now();
  try {
    const attempt = await runAttempt(spec, {
      seq: 1,
      timeoutMs: spec.timeoutMs,
      ...(params.signal ? { signal: params.signal } : {}),
      ...(agent ? { agent } : {}),
    });
    return {
      attempt,
      success: attempt.error === undefined && versionValid(attempt, mod.validHttpVersions),
      durationSeconds: (performance.now() - started) / 1000,
      tls: isTls,
      tlsFacts: attempt.status !== undefined ? tlsFactsOf(attempt) : {},
      module: moduleName,
      endpoint: spec.url.toString(),
      spec,
    };
  } finally {
    agent?.destroy();
  }
}

/** /probe's extra CA travels in the spec, as a module's does (for HTTP/1.1 and HTTP/2 alike); a module's own CA wins. */
function withSettingsCa(spec: ProbeSpec, ca: string | undefined): ProbeSpec {
  if (ca === undefined || spec.tls?.ca !== undefined) return spec;
  return Object.freeze({ ...spec, tls: Object.freeze({ insecure: false, ...spec.tls, ca }) });
}

/** Go's resp.Proto for an attempt's version ("2" -> "HTTP/2.0"), as valid_http_versions names them. */
export function blackboxProto(httpVersion: string | undefined): string | undefined {
  if (httpVersion === undefined) return undefined;
  return `HTTP/${httpVersion.includes('.') ? httpVersion : `${httpVersion}.0`}`;
}

/** valid_http_versions, as blackbox checks it: a response of an unlisted version fails the probe. */
function versionValid(a: AttemptResult, valid: readonly string[] | undefined): boolean {
  if (valid === undefined || a.httpVersion === undefined) return true;
  return valid.includes(blackboxProto(a.httpVersion) ?? '');
}

/** One registry per probe, as blackbox does, rendered in the text format. */
export function blackboxRegistry(r: BlackboxResult): Registry {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, value: number): void => {
    new Gauge({ name, help, registers }).set(value);
  };
  const a = r.attempt;
  const sec = (ms: number | undefined): number => (ms ?? 0) / 1000;

  gauge('probe_success', 'Displays whether or not the probe was a success', r.success ? 1 : 0);
  gauge('probe_duration_seconds', 'Returns how long the probe took to complete in seconds', r.durationSeconds);
  gauge('probe_dns_lookup_time_seconds', 'Returns the time taken for probe dns lookup in seconds', sec(a.phases.dnsMs));
  // Blackbox resolves before it connects, so it reports the address even when the
  // connection fails; without a connection prober knows it only for an IP literal.
  const literal = r.spec.url.hostname.replace(/^\[(.*)\]$/, '$1');
  const ip = ipOf(a.remoteAddress) ?? (isIP(literal) ? literal : undefined);
  if (ip !== undefined) {
    gauge('probe_ip_protocol', 'Specifies whether probe ip protocol is IP4 or IP6', isIP(ip) === 6 ? 6 : 4);
    gauge(
      'probe_ip_addr_hash',
      "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
      ipAddrHash(ip),
    );
  }

  const phases = new Gauge({
    name: 'probe_http_duration_seconds',
    help: 'Duration of http request by phase, summed over all redirects',
    labelNames: ['phase'] as const,
    registers,
  });
  for (const [phase, ms] of blackboxPhases(a.phases)) phases.set({ phase }, sec(ms));

  gauge('probe_http_status_code', 'Response HTTP status code', a.status ?? 0);
  // Body bytes read; the engine does not report the Content-Length header.
  gauge('probe_http_content_length', 'Length of http content response', a.bodyBytes);
  gauge('probe_http_uncompressed_body_length', 'Length of uncompressed response body', a.bodyBytes);
  gauge('probe_http_redirects', 'The number of redirects', a.hops?.length ?? 0);
  gauge('probe_http_ssl', 'Indicates if SSL was used for the final redirect', r.tls && a.status !== undefined ? 1 : 0);
  gauge(
    'probe_http_version',
    'Returns the version of HTTP of the probe response',
    a.httpVersion ? Number(a.httpVersion) || 0 : 0,
  );
  const reason = a.error?.reason;
  gauge(
    'probe_failed_due_to_regex',
    'Indicates if probe failed due to regex',
    reason === 'BODY_MISMATCH' || reason === 'HEADER_MISMATCH' ? 1 : 0,
  );

  if (r.tls && a.status !== undefined) {
    if (r.tlsFacts.earliestExpiry !== undefined) {
      gauge(
        'probe_ssl_earliest_cert_expiry',
        'Returns earliest SSL cert expiry in unixtime',
        r.tlsFacts.earliestExpiry,
      );
    }
    if (r.tlsFacts.lastChainExpiry !== undefined) {
      gauge(
        'probe_ssl_last_chain_expiry_timestamp_seconds',
        'Returns last SSL chain expiry in timestamp seconds',
        r.tlsFacts.lastChainExpiry,
      );
    }
    if (r.tlsFacts.version) {
      new Gauge({
        name: 'probe_tls_version_info',
        help: 'Returns the TLS version used or NaN when unknown',
        labelNames: ['version'] as const,
        registers,
      }).set({ version: r.tlsFacts.version }, 1);
    }
  }
  return registry;
}

// ---- debug=true: blackbox's DebugOutput layout -----------------------------

/** A logfmt value: bare when it can be, else a quoted string. */
function logfmtValue(v: string | number | boolean): string {
  const t = String(v);
  return /^[^\s"=]+$/.test(t) ? t : JSON.stringify(t);
}

/**
 * The probe log, one logfmt line per step as blackbox's go-kit logger writes
 * them (ts, module, target, level, msg, fields). Derived from the finished
 * attempt: timestamps are the attempt's start plus its phase times.
 */
export function blackboxProbeLog(r: BlackboxResult): string {
  const a = r.attempt;
  const target = redactUrl(r.endpoint);
  const lines: string[] = [];
  const line = (
    offsetMs: number,
    level: string,
    msg: string,
    fields: Record<string, string | number | boolean> = {},
  ) => {
    // Pairs, not an object: a step may repeat a key (blackbox's "Resolved target address" has two targets).
    const pairs: Array<[string, string | number | boolean]> = [
      ['ts', new Date(a.startedAt + offsetMs).toISOString()],
      ['module', r.module],
      ['target', target],
      ['level', level],
      ['msg', msg],
      ...Object.entries(fields),
    ];
    lines.push(pairs.map(([k, v]) => `${k}=${logfmtValue(v)}`).join(' '));
  };
  const p = a.phases;
  const sec = (ms: number | undefined): number => Math.round((ms ?? 0) * 1000) / 1e6;
  line(0, 'info', 'Beginning probe', { probe: 'http', timeout_seconds: r.spec.timeoutMs / 1000 });
  const ip = ipOf(a.remoteAddress);
  if (ip !== undefined) {
    line(p.dnsMs ?? 0, 'info', 'Resolved target address', { target: r.spec.url.hostname, ip });
  }
  line(p.dnsMs ?? 0, 'info', 'Making HTTP request', { url: target, method: r.spec.method });
  const untilBody = (p.dnsMs ?? 0) + (p.connectMs ?? 0) + (p.proxyMs ?? 0) + (p.tlsMs ?? 0) + (p.ttfbMs ?? 0);
  if (a.status !== undefined) {
    line(untilBody, 'info', 'Received HTTP response', {
      status_code: a.status,
      ...(a.httpVersion ? { http_version: a.httpVersion } : {}),
      body_bytes: a.bodyBytes,
    });
  }
  const timings: Record<string, number> = {};
  for (const [phase, ms] of blackboxPhases(p)) timings[phase] = sec(ms);
  line(a.latencyMs, 'info', 'Response timings for roundtrip', { roundtrip: 0, ...timings });
  if (a.error) {
    line(a.latencyMs, 'error', a.error.message, {
      reason: a.error.reason,
      ...(a.error.code ? { code: a.error.code } : {}),
    });
  } else if (!r.success && a.httpVersion !== undefined) {
    // Only valid_http_versions fails a probe without an attempt error; blackbox's words.
    line(a.latencyMs, 'error', 'Invalid HTTP version number', { version: blackboxProto(a.httpVersion) ?? '' });
  }
  line(a.latencyMs, 'info', r.success ? 'Probe succeeded' : 'Probe failed', {
    duration_seconds: Math.round(r.durationSeconds * 1e6) / 1e6,
  });
  return `${lines.join('\n')}\n`;
}

const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/** tls_config as it ran: PEM material is not echoed (the key is a secret; certificates are long). */
function tlsConfigOf(s: ProbeSpec): Record<string, unknown> {
  const t = s.tls;
  return {
    insecure_skip_verify: t?.insecure ?? false,
    ...(t?.servername !== undefined ? { server_name: t.servername } : {}),
    ...(t?.minVersion !== undefined ? { min_version: t.minVersion === 'TLSv1.3' ? 'TLS13' : 'TLS12' } : {}),
    ...(t?.ca !== undefined ? { ca: '<PEM>' } : {}),
    ...(t?.cert !== undefined ? { cert: '<PEM>' } : {}),
    ...(t?.key !== undefined ? { key: '<secret>' } : {}),
  };
}

/** preferred_ip_protocol / ip_protocol_fallback as the spec connects; unset preference: the resolver's order. */
function ipProtocolOf(s: ProbeSpec): Record<string, unknown> {
  if (s.ipFamily !== undefined) return { preferred_ip_protocol: `ip${s.ipFamily}`, ip_protocol_fallback: false };
  if (s.preferFamily !== undefined) return { preferred_ip_protocol: `ip${s.preferFamily}`, ip_protocol_fallback: true };
  return { ip_protocol_fallback: true };
}

function headerCheckOf(h: HeaderMatch): Record<string, unknown> {
  return { header: h.name, regexp: h.regex, allow_missing: h.allowMissing === true };
}

/**
 * The module as it ran, in blackbox's module syntax. Status ranges print as
 * "200-299" (blackbox lists single codes); header values that carry
 * credentials print as <secret>, as blackbox prints its Secret fields.
 */
export function blackboxModuleConfig(r: BlackboxResult): string {
  const s = r.spec;
  const http: Record<string, unknown> = {
    valid_status_codes: s.expectedStatus.map((x) => (x.min === x.max ? x.min : `${x.min}-${x.max}`)),
    method: s.method,
  };
  if (s.headers.length > 0) {
    http.headers = Object.fromEntries(
      s.headers.map((h) => [h.name, SECRET_HEADERS.has(h.name.toLowerCase()) ? '<secret>' : h.value]),
    );
  }
  if (s.body !== undefined) http.body = Buffer.from(s.body).toString('utf8');
  http.follow_redirects = s.followRedirects;
  if (s.followRedirects) http.max_redirects = s.maxRedirects;
  http.fail_if_ssl = s.failIfSsl === true;
  http.fail_if_not_ssl = s.failIfNotSsl === true;
  if (s.failIfBody.length > 0) http.fail_if_body_matches_regexp = [...s.failIfBody];
  if (s.expectBody.length > 0) http.fail_if_body_not_matches_regexp = [...s.expectBody];
  if (s.failIfHeader.length > 0) http.fail_if_header_matches = s.failIfHeader.map(headerCheckOf);
  if (s.expectHeader.length > 0) http.fail_if_header_not_matches = s.expectHeader.map(headerCheckOf);
  http.tls_config = tlsConfigOf(s);
  Object.assign(http, ipProtocolOf(s));
  // The proxy without its credentials.
  if (s.proxy !== undefined) http.proxy_url = s.proxy.display;
  http.enable_http2 = s.httpVersion !== undefined;
  return toYaml({ prober: 'http', timeout: `${r.spec.timeoutMs / 1000}s`, http });
}

/**
 * `/probe?…&debug=true`: blackbox's DebugOutput layout, text/plain: the
 * probe log, the metrics the probe would have returned, the module.
 */
export async function blackboxDebugOutput(r: BlackboxResult, registry: Registry): Promise<string> {
  return [
    'Logs for the probe:\n',
    blackboxProbeLog(r),
    '\n\n\nMetrics that would have been returned:\n',
    await registry.metrics(),
    '\n\n\nModule configuration:\n',
    blackboxModuleConfig(r),
  ].join('');
}
