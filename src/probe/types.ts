// Domain types of the probe engine. Times are milliseconds (float) from a
// monotonic clock unless named otherwise. No gRPC, metrics or React here.
import type { LookupFunction } from 'node:net';
import type { PhaseTimes } from '../stats/phases.js';
import type { IpFamily, ResolveEntry } from './family.js';
import type { TargetPolicy } from './policy.js';

/** Why an attempt failed. Bounded: safe as a metric label. */
export const ERROR_REASONS = [
  'DNS',
  'CONNECT_REFUSED',
  'CONNECT_TIMEOUT',
  'TLS',
  'TIMEOUT',
  'RESET',
  'PROTOCOL',
  'BAD_STATUS',
  'BODY_TOO_LARGE',
  'ABORTED',
  'UNREACHABLE',
  'POLICY_DENIED',
  'BODY_MISMATCH',
  'HEADER_MISMATCH',
  'TOO_MANY_REDIRECTS',
  'REDIRECT_LOOP',
  'PROXY_REFUSED',
  'SSL_CHECK',
  'OTHER',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/**
 * HTTP version modes (curl's flags): '1.1' (the default); '2' = --http2, h2
 * via ALPN over TLS with fallback to 1.1 (http:// stays 1.1); '2-prior-knowledge'
 * = --http2-prior-knowledge, h2c for http://, h2 via ALPN with no fallback
 * over TLS.
 */
export const HTTP_VERSIONS = ['1.1', '2', '2-prior-knowledge'] as const;
export type HttpVersionMode = (typeof HTTP_VERSIONS)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** One request header as sent. */
export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

/**
 * A response header check on `name` with `regex` (a RegExp source): for
 * expect_header some value must match, for fail_if_header none may. A
 * missing header fails either unless `allowMissing` (blackbox's allow_missing).
 */
export interface HeaderMatch {
  readonly name: string;
  readonly regex: string;
  readonly allowMissing?: boolean;
}

/** Inclusive range of HTTP status codes. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Time per phase of one attempt; a phase that did not happen is undefined,
 * not 0. ttfb: connection ready (request sent) to the first response byte;
 * transfer: first response byte to the end of the body.
 */
export type Phases = PhaseTimes;

export interface AttemptError {
  readonly reason: ErrorReason;
  readonly message: string;
  /** Retrying may succeed (timeouts, resets, 5xx). */
  readonly temporary: boolean;
  /** System error code, e.g. ECONNREFUSED. */
  readonly code?: string;
}

/**
 * One redirect response an attempt followed (redirect.ts): its own request,
 * timed on its own clock. The final response is the attempt's top level.
 */
export interface Hop {
  /** The URL requested, credentials redacted. */
  readonly url: string;
  /** The 3xx status. */
  readonly status: number;
  /** Location, resolved against `url`, credentials redacted: the next hop's URL. */
  readonly location: string;
  readonly phases: Phases;
  /** Start of this hop's request to the end of its body. */
  readonly latencyMs: number;
  readonly remoteAddress?: string;
}

/** One finished attempt. Success is `error === undefined`. */
export interface AttemptResult {
  /** 1-based, in start order. */
  readonly seq: number;
  /** Wall-clock start, epoch milliseconds. */
  readonly startedAt: number;
  /** Start to end of body (or to the failure), monotonic clock. */
  readonly latencyMs: number;
  readonly phases: Phases;
  /** HTTP status; undefined when no response arrived. */
  readonly status?: number;
  readonly bodyBytes: number;
  /** "1.0" / "1.1" / "2" (curl's %{http_version}); undefined when no response arrived. */
  readonly httpVersion?: string;
  /** "ip:port" (IPv6 as "[::1]:443"); undefined if never connected. */
  readonly remoteAddress?: string;
  /** 4 or 6: the family of the address connected to; undefined if never connected. */
  readonly ipFamily?: IpFamily;
  readonly error?: AttemptError;
  /** Ran on a kept-alive connection. */
  readonly reused: boolean;
  /**
   * Redirects followed, in order (only when following). status, phases,
   * httpVersion, remoteAddress and bodyBytes then describe the final request;
   * latencyMs covers every hop.
   */
  readonly hops?: readonly Hop[];
  /**
   * Interval mode: how late the attempt started against the time it was due,
   * set only when that exceeded the slip tolerance. The schedule then
   * re-bases from this start (no catch-up burst), so the slots that fell due
   * meanwhile (floor(delay / interval)) were skipped; RunStats accounts for
   * them in the latency from the intended start.
   */
  readonly scheduleDelayMs?: number;
  /** TLS facts of the connection (https only, once a handshake completed). */
  readonly tls?: TlsInfo;
  /** The attempt went through spec.proxy; remoteAddress and ipFamily are then the proxy's. */
  readonly proxied?: boolean;
}

/** What one connection's TLS handshake negotiated. */
export interface TlsInfo {
  /** OpenSSL's name, e.g. "TLSv1.3". */
  readonly version: string;
  readonly cipher: string;
  readonly alpnProtocol?: string;
  /** An abbreviated handshake resumed an earlier session. */
  readonly sessionResumed: boolean;
  /** Earliest notAfter over the certificates the server sent (the trust store's self-signed root left out), Unix seconds. */
  readonly earliestCertExpiry?: number;
  /** Earliest notAfter over the whole verified chain, root included (blackbox's last-chain expiry). Not on the wire. */
  readonly lastChainExpiry?: number;
}

/**
 * A probe request as callers express it (CLI flags, gRPC request), in domain
 * names (`timeoutMs`, not the proto's `timeout`). INPUT_FIELDS in validate.ts
 * maps each field to its proto name (for errors) and CLI flag (for hints).
 */
export interface ProbeInput {
  readonly endpoint: string;
  /** 0 = continuous (streaming only). */
  readonly repetitions: number;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  readonly concurrency?: number;
  readonly reuseConnections?: boolean;
  readonly expectedStatus?: readonly StatusRange[];
  readonly method?: HttpMethod;
  /** Sent in order; one named like a default (Host, User-Agent, Accept) replaces it. */
  readonly headers?: readonly HeaderField[];
  /** Only with methods that carry a body (POST, PUT, PATCH, DELETE, OPTIONS). */
  readonly body?: Uint8Array;
  /** RegExp sources the body must match / must not match; header checks. */
  readonly expectBody?: readonly string[];
  readonly failIfBody?: readonly string[];
  readonly expectHeader?: readonly HeaderMatch[];
  readonly failIfHeader?: readonly HeaderMatch[];
  // TLS to the target (tls.ts): PEM text, never file paths.
  readonly tlsInsecure?: boolean;
  readonly tlsCaPem?: string;
  readonly tlsCertPem?: string;
  readonly tlsKeyPem?: string;
  readonly tlsServerName?: string;
  /** "1.2" or "1.3". */
  readonly tlsMinVersion?: string;
  /** Follow 301/302/303/307/308 (curl -L). Default false. */
  readonly followRedirects?: boolean;
  /** Most redirects followed, 1..MAX_REDIRECTS (default DEFAULT_MAX_REDIRECTS); only with followRedirects. */
  readonly maxRedirects?: number;
  /** 4 or 6: connect over that family only; unset or 0: either (family.ts). */
  readonly ipFamily?: number;
  /** curl's --resolve entries, "host:port:addr[,addr...]" (IPv6 in brackets). */
  readonly resolve?: readonly string[];
  /**
   * A module configured on the server (its --config `modules:` or a built-in
   * one): the server fills every field left unset from it. The engine never
   * sees it; an unknown name is the server's INVALID_ARGUMENT.
   */
  readonly module?: string;
  /** curl's --proxy: "http://[user:pass@]host[:port]" (proxy.ts); only where ProbeLimits.allowProxy. */
  readonly proxyUrl?: string;
  /** HTTP version mode (HTTP_VERSIONS); unset: '1.1'. */
  readonly httpVersion?: HttpVersionMode;
}

/** A validated proxy_url: plain strings, so a spec stays structured-clone safe. */
export interface ProxySpec {
  /** Without brackets. */
  readonly host: string;
  readonly port: number;
  /** "http://host:port": the proxy without its credentials, for messages. */
  readonly display: string;
  /** "Basic ..." from the URL's userinfo: sent as Proxy-Authorization, never shown. */
  readonly authorization?: string;
}

export type TlsMinVersion = 'TLSv1.2' | 'TLSv1.3';

/** Validated TLS options for the target; plain strings, so a spec stays structured-clone safe. */
export interface TargetTls {
  readonly insecure: boolean;
  readonly ca?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly servername?: string;
  readonly minVersion?: TlsMinVersion;
}

/** Server-side limits applied when validating a ProbeInput. */
export interface ProbeLimits {
  readonly maxRepetitions: number;
  readonly maxConcurrency: number;
  readonly maxTimeoutMs: number;
  readonly defaultTimeoutMs: number;
  readonly maxIntervalMs: number;
  readonly maxBodyBytes: number;
  /** Longest endpoint accepted, in UTF-8 bytes (it becomes a label, a log field, a request line). */
  readonly maxUrlBytes: number;
  /** Whether repetitions = 0 (continuous) is allowed (ProbeStream only). */
  readonly allowContinuous: boolean;
  /** Request headers: count, and bytes of names plus values. */
  readonly maxHeaders: number;
  readonly maxHeaderBytes: number;
  /** Request body bytes. */
  readonly maxRequestBodyBytes: number;
  /** Whether proxy_url may be set (prober serve --allow-proxies; the CLI's embedded prober). Default false. */
  readonly allowProxy?: boolean;
}

/** A validated, normalised probe: what the engine runs. */
export interface ProbeSpec {
  readonly url: URL;
  readonly method: HttpMethod;
  /** 0 = continuous. */
  readonly repetitions: number;
  readonly timeoutMs: number;
  /** 0 = back to back. */
  readonly intervalMs: number;
  readonly concurrency: number;
  readonly reuseConnections: boolean;
  readonly expectedStatus: readonly StatusRange[];
  readonly maxBodyBytes: number;
  /** Caller's headers, validated (defaults are added by the engine). Empty when none. */
  readonly headers: readonly HeaderField[];
  /** Request body; absent when none. A Uint8Array crosses to the engine thread as is. */
  readonly body?: Uint8Array;
  /** Response checks as RegExp sources (strings clone to the engine thread; compiled once there). */
  readonly expectBody: readonly string[];
  readonly failIfBody: readonly string[];
  readonly expectHeader: readonly HeaderMatch[];
  readonly failIfHeader: readonly HeaderMatch[];
  /** Follow redirects, at most maxRedirects of them (0 when not following). */
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  /** Connect over this family only; absent: either (the resolver's order, Happy Eyeballs). */
  readonly ipFamily?: IpFamily;
  /**
   * Set by a server module only (blackbox's preferred_ip_protocol with
   * ip_protocol_fallback): this family's addresses are tried first, the
   * other's after. Absent: the resolver's order.
   */
  readonly preferFamily?: IpFamily;
  /** Set by a server module only (blackbox's fail_if_ssl / fail_if_not_ssl): the final response must (not) be over TLS. */
  readonly failIfSsl?: boolean;
  readonly failIfNotSsl?: boolean;
  /** Pinned addresses (--resolve); the target policy still judges them. Empty when none. */
  readonly resolve?: readonly ResolveEntry[];
  /** '2' or '2-prior-knowledge' (h2.ts); absent: HTTP/1.1, so the plain path carries nothing. */
  readonly httpVersion?: Exclude<HttpVersionMode, '1.1'>;
  /** Resolver hook (tests feed a resolver here); the target policy filters what it returns. */
  readonly lookup?: LookupFunction;
  /** Plain data, applied by the engine to every connection's resolved address (policy.ts). */
  readonly targetPolicy?: TargetPolicy;
  /** TLS options for https targets; undefined = Node's defaults (system roots, verify, TLS 1.2+). */
  readonly tls?: TargetTls;
  /** Send through this HTTP proxy (proxy.ts): CONNECT for https://, absolute form for http://. */
  readonly proxy?: ProxySpec;
}
