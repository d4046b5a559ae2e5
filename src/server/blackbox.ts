// The multi-target exporter pattern: GET /probe?target=URL&module=NAME runs
// ONE fresh attempt through the engine and answers with blackbox_exporter's
// HTTP prober metric names, so its dashboards and alert rules work unchanged.
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket, PeerCertificate, DetailedPeerCertificate } from 'node:tls';
import { isIP } from 'node:net';
import { Gauge, Registry } from 'prom-client';
import { runAttempt, validateProbeInput, InvalidArgumentError, preflightTarget } from '../probe/index.js';
import type { AttemptResult, ProbeLimits, ProbeSpec } from '../probe/types.js';
import { PHASES, PHASE_FIELD, type Phase } from '../stats/phases.js';
import { DEFAULT_TIMEOUT_OFFSET_MS, type ProbeEndpointSettings } from './config.js';
import { DEFAULT_MODULE, findModule, moduleInput } from './modules.js';

export { BLACKBOX_MODULES, DEFAULT_MODULE, type BlackboxModule } from './modules.js';

/** blackbox_exporter's probe_http_duration_seconds phase names; a new Phase must be mapped here. */
export const BLACKBOX_PHASE: Readonly<Record<Phase, string>> = Object.freeze({
  dns: 'resolve',
  connect: 'connect',
  tls: 'tls',
  ttfb: 'processing',
  transfer: 'transfer',
});

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
  /** Unix seconds. */
  readonly earliestExpiry?: number;
  readonly version?: string;
}

/** Earliest notAfter over the peer's chain, in Unix seconds. */
export function earliestExpiry(cert: PeerCertificate | DetailedPeerCertificate): number | undefined {
  let earliest: number | undefined;
  const seen = new Set<string>();
  let c: PeerCertificate | DetailedPeerCertificate | undefined = cert;
  while (c?.fingerprint256 && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const t = Date.parse(c.valid_to);
    if (Number.isFinite(t)) earliest = earliest === undefined ? t / 1000 : Math.min(earliest, t / 1000);
    c = 'issuerCertificate' in c ? c.issuerCertificate : undefined;
  }
  return earliest;
}

/** Fresh-connection https Agent that remembers the peer's chain and TLS version. */
class TlsFactsAgent extends https.Agent {
  facts: TlsFacts = {};

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const socket = super.createConnection(options, callback) as TLSSocket | null | undefined;
    socket?.once('secureConnect', () => {
      const version = socket.getProtocol();
      const expiry = earliestExpiry(socket.getPeerCertificate(true));
      this.facts = {
        ...(version ? { version: tlsVersionLabel(version) } : {}),
        ...(expiry !== undefined ? { earliestExpiry: expiry } : {}),
      };
    });
    return socket;
  }
}

/** Node's "TLSv1.3" -> blackbox's "TLS 1.3". */
export function tlsVersionLabel(protocol: string): string {
  const m = /^TLSv(\d(?:\.\d)?)$/.exec(protocol);
  return m ? `TLS ${m[1]!.includes('.') ? m[1] : `${m[1]}.0`}` : protocol;
}

/** FNV-1a 32-bit, as blackbox's probe_ip_addr_hash. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
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
    spec = validateProbeInput(
      { ...moduleInput(mod), endpoint, repetitions: 1, timeoutMs },
      limits,
      settings.targetPolicy?.current(),
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
  await preflightTarget(spec, timeoutMs);

  const isTls = spec.url.protocol === 'https:';
  // A fresh agent per probe: a new connection and no TLS session resumption.
  const agent = isTls ? new TlsFactsAgent({ keepAlive: false, ...(settings.tls ?? {}) }) : undefined;
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
      success: attempt.error === undefined,
      durationSeconds: (performance.now() - started) / 1000,
      tls: isTls,
      tlsFacts: agent && attempt.status !== undefined ? agent.facts : {},
      module: moduleName,
      endpoint: spec.url.toString(),
    };
  } finally {
    agent?.destroy();
  }
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
  const ip = ipOf(a.remoteAddress);
  if (ip !== undefined) {
    gauge('probe_ip_protocol', 'Specifies whether probe ip protocol is IP4 or IP6', isIP(ip) === 6 ? 6 : 4);
    gauge(
      'probe_ip_addr_hash',
      "Specifies the hash of IP address. It's useful to detect if the IP address changes.",
      fnv32a(ip),
    );
  }

  const phases = new Gauge({
    name: 'probe_http_duration_seconds',
    help: 'Duration of http request by phase, summed over all redirects',
    labelNames: ['phase'] as const,
    registers,
  });
  for (const phase of PHASES) phases.set({ phase: BLACKBOX_PHASE[phase] }, sec(a.phases[PHASE_FIELD[phase]]));

  gauge('probe_http_status_code', 'Response HTTP status code', a.status ?? 0);
  // Body bytes read; the engine does not report the Content-Length header.
  gauge('probe_http_content_length', 'Length of http content response', a.bodyBytes);
  gauge('probe_http_uncompressed_body_length', 'Length of uncompressed response body', a.bodyBytes);
  gauge('probe_http_redirects', 'The number of redirects', 0);
  gauge('probe_http_ssl', 'Indicates if SSL was used for the final redirect', r.tls && a.status !== undefined ? 1 : 0);
  gauge(
    'probe_http_version',
    'Returns the version of HTTP of the probe response',
    a.httpVersion ? Number(a.httpVersion) || 0 : 0,
  );
  gauge('probe_failed_due_to_regex', 'Indicates if probe failed due to regex', 0);

  if (r.tls && a.status !== undefined) {
    if (r.tlsFacts.earliestExpiry !== undefined) {
      gauge(
        'probe_ssl_earliest_cert_expiry',
        'Returns earliest SSL cert expiry in unixtime',
        r.tlsFacts.earliestExpiry,
      );
      gauge(
        'probe_ssl_last_chain_expiry_timestamp_seconds',
        'Returns last SSL chain expiry in timestamp seconds',
        r.tlsFacts.earliestExpiry,
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
