// The server's configuration, resolved once. Every way of configuring a
// server (a library call, `prober serve` flags, later a config file) builds a
// ServerInput; resolveServerConfig() checks it, fills every default and
// returns one frozen ServerSettings. startServer, the metrics port, /probe and
// operability read slices of that object and never merge defaults again, so a
// new setting is added here once and a bad one fails before anything binds.
import type * as grpc from '@grpc/grpc-js';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { splitHostPort } from '../common/address.js';
import { ConfigError } from '../common/errors.js';
import {
  DEFAULT_LIMITS,
  DEFAULT_TARGET_POLICY,
  parseCidr,
  WARM_UP_ATTEMPTS,
  type TargetPolicy,
} from '../probe/index.js';
import type { ProbeLimits } from '../probe/types.js';
import { TargetPolicyRef } from './target-policy.js';
import type { ProbeObserver } from './observer.js';
import { loadWebConfig, type WebConfig } from './web-config.js';
import { loadConfigFile, type ConfigFile } from './config-file.js';
import { BLACKBOX_MODULES, type ModuleTable } from './modules.js';
import { STDERR_LOGGER, type ErrorLogger } from './error-logger.js';
import type { AuthSettings } from './auth.js';
import type { AdmissionSettings } from './admission.js';
import { loadTlsMaterial, type TlsInput, type TlsMaterial, type TlsOptionNames } from './tls.js';
import { loadTokenFile } from './token-file.js';

export const DEFAULT_LISTEN = '0.0.0.0:50051';
export const DEFAULT_GRACE_MS = 5_000;
export const DEFAULT_METRICS_ADDR = ':9464';
export const DEFAULT_MAX_CONCURRENT_PROBES = 100;
export const DEFAULT_MAX_ENDPOINTS = 100;
/** An endpoint's series go after 5 minutes without an attempt (Prometheus's own staleness window). */
export const DEFAULT_SERIES_TTL_MS = 5 * 60_000;
/** Probe + ProbeStream calls at once, server-wide (500 streams from one client were all taken before). */
export const DEFAULT_MAX_CALLS = 200;
/** Sum of the running calls' concurrency: outbound connections at once (one client could open 50,000). */
export const DEFAULT_MAX_ATTEMPTS_IN_FLIGHT = 1_000;
/** Calls per HTTP/2 connection. */
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 100;
/**
 * HTTP/2 streams advertised beyond the per-connection cap (SETTINGS_MAX_CONCURRENT_STREAMS):
 * room for the streams being refused with RESOURCE_EXHAUSTED and for health checks. At exactly
 * the cap a grpc-js client would queue further calls on its side, silently, until their deadline.
 */
export const STREAMS_HEADROOM = 10;
/** Kept free before Prometheus's scrape timeout, as blackbox's --timeout-offset. */
export const DEFAULT_TIMEOUT_OFFSET_MS = 500;

/**
 * Defaults for the grpc-js server. Keepalive pings find callers that vanished
 * without closing (a continuous stream would otherwise probe for nobody).
 */
export const DEFAULT_SERVER_OPTIONS: grpc.ServerOptions = Object.freeze({
  'grpc.keepalive_time_ms': 60_000,
  'grpc.keepalive_timeout_ms': 20_000,
});

/** Adds a service to the grpc Server before binding; what it returns (if a function) runs at close(). */
export type ServiceInstaller = (server: grpc.Server) => void | (() => void | Promise<void>);

/** Time kept before a call's deadline for the summary: ms, or a function of the budget. */
export type DeadlineMargin = number | ((budgetMs: number) => number);

// ---- input: what callers write; everything optional -----------------------

export interface ServerInput {
  /** Reported in every Summary and as the `region` label on /metrics. Default: the host name. */
  readonly region?: string;
  /** "host:port" ("[::]:port" for IPv6); port 0 picks a free port. Default 0.0.0.0:50051. */
  readonly listen?: string;
  /** Request limits; missing ones from DEFAULT_LIMITS (documented in src/probe/validate.ts). */
  readonly limits?: Partial<ProbeLimits>;
  /** Per-attempt/stream callbacks; wins over the metrics observer. Default: metrics, else none. */
  readonly observer?: ProbeObserver;
  /** Unexpected errors (INTERNAL replies) go here. Default: observability.logger, else JSON on stderr. */
  readonly logger?: ErrorLogger;
  /** Default: 10% of the call's budget within 50..250 ms (see service.ts). */
  readonly deadlineMarginMs?: DeadlineMargin;
  /** close() without an argument lets running calls finish this long. Default 5 s. */
  readonly graceMs?: number;
  /** Extra grpc-js options merged over DEFAULT_SERVER_OPTIONS; `interceptors` goes here. */
  readonly serverOptions?: grpc.ServerOptions;
  /** Default: insecure (plaintext), or TLS from `tls`. */
  readonly credentials?: grpc.ServerCredentials;
  /** TLS (mTLS with clientCaFile) from PEM files, re-read by RunningServer.reload(). */
  readonly tls?: TlsInput;
  /** Bearer tokens every call but health must present (format: token-file.ts), re-read by reload(). */
  readonly auth?: { readonly tokenFile: string };
  /** More services to add before binding. */
  readonly services?: readonly ServiceInstaller[];
  /** Metrics (+ HTTP port), per-RPC logging, health and reflection. Default: health and reflection only. */
  readonly observability?: ObservabilityInput;
  /**
   * Where the probe engine runs: 'thread' (default) on a worker thread of its
   * own, so gRPC, metrics and logging never run inside an attempt's timed
   * window; 'inline' on the server's thread.
   */
  readonly engine?: EngineMode;
  /**
   * Warm the engine's code paths at start against a loopback server of its
   * own: true (default) for WARM_UP_ATTEMPTS, or how many attempts; 0/false: off.
   */
  readonly warmUp?: boolean | number;
  /**
   * Which addresses requests may make the server connect to (gRPC and /probe).
   * Default: everything but the always-denied ranges and the server's own
   * listeners. false: no policy (the embedded prober: its one caller is local).
   */
  readonly targetPolicy?: TargetPolicyInput | false;
  /**
   * Let ProbeRequest.proxy_url name an HTTP proxy (`serve --allow-proxies`).
   * Default false: a proxy reaches addresses through a third party, out of
   * the target policy's sight. A module's own proxy_url is always allowed.
   */
  readonly allowProxies?: boolean;
  /** Caps checked at each call's start (RESOURCE_EXHAUSTED over one) and the per-client rate limit. */
  readonly admission?: AdmissionInput;
  /**
   * A YAML config file (config-file.ts): `modules:` in blackbox_exporter's
   * syntax, for /probe?module= and ProbeRequest.module. Its modules replace
   * built-in ones of the same name.
   */
  readonly configFile?: string;
}

export interface AdmissionInput {
  /** Probe + ProbeStream calls at once, server-wide. Default DEFAULT_MAX_CALLS (200). */
  readonly maxCalls?: number;
  /** Sum of the running calls' concurrency; a call that does not fit is refused. Default 1000. */
  readonly maxAttemptsInFlight?: number;
  /** Calls per HTTP/2 connection (grpc.max_concurrent_streams is this + STREAMS_HEADROOM). Default 100. */
  readonly maxStreamsPerConnection?: number;
  /** Attempts per second per client (token name, else peer address). Default: no limit. */
  readonly rateLimit?: number;
  /** Attempts a client may make at once before the rate applies. Default max(1, rateLimit). */
  readonly rateBurst?: number;
}

export interface TargetPolicyInput {
  /** CIDRs (or bare addresses); when any is given, only these may be probed. */
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
  /** Deny RFC 1918, loopback, ULA and CGNAT ranges. */
  readonly denyPrivate?: boolean;
}

export type EngineMode = 'thread' | 'inline';

export interface ObservabilityInput {
  /** Structured logger: one line per RPC, /probe at debug, warnings. Default: none. */
  readonly logger?: Logger;
  /**
   * Prometheus metrics. `listen` starts the HTTP port (/metrics, /probe);
   * without it metrics are still recorded into `registry` (tests). false or unset: off.
   */
  readonly metrics?: false | MetricsInput;
  /** grpc.health.v1 (default true). */
  readonly health?: boolean;
  /** Server reflection (default: on, a missing descriptor set is logged; true: it is fatal). */
  readonly reflection?: boolean;
  readonly descriptorSetPath?: string;
}

export interface MetricsInput {
  readonly registry?: Registry;
  /** "[host]:port" of the HTTP port; unset: no port. */
  readonly listen?: string;
  /** Distinct `endpoint` label values kept; later endpoints become "other". Default 100. */
  readonly maxEndpoints?: number;
  /** An endpoint's series are removed after this long without an attempt (ms); 0 = never. Default 5 min. */
  readonly seriesTtlMs?: number;
  /** Wall clock for the series TTL and timestamps, epoch ms (tests). Default Date.now. */
  readonly now?: () => number;
  /** Register Node process metrics (default true). */
  readonly defaultMetrics?: boolean;
  /** Serve /probe on the metrics port (default true). */
  readonly probe?: boolean;
  /** /probe requests running at once; more get 503. Default 100. */
  readonly maxConcurrentProbes?: number;
  readonly blackbox?: BlackboxInput;
  /** exporter-toolkit web config (TLS, basic auth, headers) for the whole port; see web-config.ts. */
  readonly webConfigFile?: string;
}

export interface BlackboxInput {
  /** Default DEFAULT_TIMEOUT_OFFSET_MS. */
  readonly timeoutOffsetMs?: number;
  /** An extra CA (PEM) for https targets, unless the module names one; verification stays on. */
  readonly tls?: { readonly ca?: string | Buffer };
}

// ---- settings: resolved, checked, frozen -----------------------------------

export interface ListenAddress {
  /** Without brackets; ":port" resolved to 0.0.0.0. */
  readonly host: string;
  /** 0: a free port. */
  readonly port: number;
  /** As written, for messages. */
  readonly text: string;
}

export type ReflectionMode = 'off' | 'if-available' | 'required';

export interface ServerSettings {
  readonly region: string;
  readonly listen: ListenAddress;
  /** Checked once; the gRPC service and /probe share them. */
  readonly limits: ProbeLimits;
  readonly graceMs: number;
  /** undefined: the service's default margin. */
  readonly deadlineMarginMs: DeadlineMargin | undefined;
  /** Structured logs (RPC lines, /probe, warnings); undefined: none. */
  readonly logger: Logger | undefined;
  /** Unexpected errors; always set. */
  readonly errorLogger: ErrorLogger;
  /** An explicit observer; undefined: the metrics one, if any. */
  readonly observer: ProbeObserver | undefined;
  readonly grpc: GrpcSettings;
  /** undefined: plaintext (or the caller's own grpc.credentials). */
  readonly tls: TlsSettings | undefined;
  /** undefined: no token required. */
  readonly auth: AuthSettings | undefined;
  readonly health: boolean;
  readonly reflection: ReflectionMode;
  readonly descriptorSetPath: string | undefined;
  /** undefined: no metrics at all. */
  readonly metrics: MetricsSettings | undefined;
  readonly engine: EngineMode;
  /** Warm-up attempts per kind (fresh, kept-alive); 0: none. */
  readonly warmUpAttempts: number;
  /** The --config file as loaded (its warnings are logged at start); undefined: none given. */
  readonly configFile: ConfigFile | undefined;
  /** Modules /probe and ProbeRequest.module may name: the built-in ones plus the config file's. */
  readonly modules: ModuleTable;
  /** undefined: no policy. Each listener adds itself once bound. */
  readonly targetPolicy: TargetPolicyRef | undefined;
  readonly admission: AdmissionSettings;
}

export interface GrpcSettings {
  /** DEFAULT_SERVER_OPTIONS with the caller's over them. */
  readonly options: grpc.ServerOptions;
  /** undefined: insecure. */
  readonly credentials: grpc.ServerCredentials | undefined;
  readonly services: readonly ServiceInstaller[];
}

export interface TlsSettings {
  readonly files: TlsInput;
  readonly names: TlsOptionNames;
  /** As read when resolved (checked: parses, key matches). */
  readonly material: TlsMaterial;
}

export interface MetricsSettings {
  /** undefined: a fresh Registry per server. */
  readonly registry: Registry | undefined;
  readonly maxEndpoints: number;
  /** 0 = never. */
  readonly seriesTtlMs: number;
  readonly now: (() => number) | undefined;
  readonly defaultMetrics: boolean;
  /** undefined: recorded, not served. */
  readonly http: MetricsHttpSettings | undefined;
}

export interface MetricsHttpSettings {
  readonly listen: ListenAddress;
  /** The server's policy; the port adds itself to it once bound. */
  readonly targetPolicy: TargetPolicyRef | undefined;
  /** undefined: /probe is not served. */
  readonly probe: ProbeEndpointSettings | undefined;
  /** TLS, users and headers from --web-config; undefined: plain HTTP, open. */
  readonly web: WebConfig | undefined;
}

/** /probe, the blackbox-style endpoint. */
export interface ProbeEndpointSettings {
  readonly limits: ProbeLimits;
  readonly maxConcurrent: number;
  readonly timeoutOffsetMs: number;
  readonly tls: { readonly ca?: string } | undefined;
  readonly targetPolicy: TargetPolicyRef | undefined;
  /** Built-in modules plus the config file's. */
  readonly modules: ModuleTable;
}

// ---- option names in errors -----------------------------------------------

/** The checked settings, by their path in ServerInput. */
export type SettingPath =
  | 'region'
  | 'listen'
  | 'graceMs'
  | 'deadlineMarginMs'
  | 'engine'
  | 'warmUp'
  | 'tls.certFile'
  | 'tls.keyFile'
  | 'tls.clientCaFile'
  | 'auth.tokenFile'
  | 'targetPolicy.allow'
  | 'targetPolicy.deny'
  | 'admission.maxCalls'
  | 'admission.maxAttemptsInFlight'
  | 'admission.maxStreamsPerConnection'
  | 'admission.rateLimit'
  | 'admission.rateBurst'
  | `limits.${Exclude<keyof ProbeLimits, 'allowContinuous' | 'allowProxy'>}`
  | 'observability.metrics.listen'
  | 'observability.metrics.maxEndpoints'
  | 'observability.metrics.seriesTtlMs'
  | 'observability.metrics.maxConcurrentProbes'
  | 'observability.metrics.blackbox.timeoutOffsetMs'
  | 'observability.metrics.webConfigFile'
  | 'configFile';

/**
 * How the caller's user spells each setting (`--max-timeout`, a config file
 * key), for ConfigError.option. Missing ones are named by their SettingPath.
 */
export type SettingNames = Readonly<Partial<Record<SettingPath, string>>>;

export interface ResolveOptions {
  readonly names?: SettingNames;
}

type Namer = (path: SettingPath) => string;

function namer(names: SettingNames = {}): Namer {
  return (path) => names[path] ?? path;
}

// ---- the pieces, each usable alone ----------------------------------------

function parseAddress(value: string, option: string, what: string, example: string): { host: string; port: number } {
  // A config file may hand over any type; that is a bad setting, not a crash.
  const hp = typeof value === 'string' ? splitHostPort(value) : undefined;
  if (hp === undefined) {
    throw new ConfigError(option, `${what} with port 0..65535, e.g. ${example} (got ${JSON.stringify(value)})`);
  }
  return { host: hp.host ?? '0.0.0.0', port: hp.port };
}

/** gRPC "host:port" / "[v6]:port" (":port" is all interfaces); ConfigError naming `option` otherwise. */
export function parseListen(listen: string, option = 'listen'): { host: string; port: number } {
  return parseAddress(listen, option, 'listen must be host:port', '0.0.0.0:50051 or [::]:0');
}

/** "host:port", "[v6]:port" or ":port" (all interfaces), as Prometheus exporters take it. */
export function parseMetricsAddr(addr: string, option = 'metrics address'): { host: string; port: number } {
  return parseAddress(addr, option, 'metrics address must be [host]:port', ':9464 or 127.0.0.1:9464');
}

const POSITIVE_LIMITS = [
  'maxRepetitions',
  'maxConcurrency',
  'maxTimeoutMs',
  'defaultTimeoutMs',
  'maxIntervalMs',
  'maxBodyBytes',
  'maxUrlBytes',
] as const;
const WHOLE_LIMITS = ['maxRepetitions', 'maxConcurrency', 'maxBodyBytes', 'maxUrlBytes'] as const;

/** Limits must be positive numbers: a typo in a flag must not disable a bound. */
export function resolveLimits(partial: Partial<ProbeLimits> = {}, name: Namer = namer()): ProbeLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const key of POSITIVE_LIMITS) {
    const v = limits[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new ConfigError(name(`limits.${key}`), `limit ${key} must be a positive number (got ${String(v)})`);
    }
  }
  for (const key of WHOLE_LIMITS) {
    if (!Number.isInteger(limits[key])) {
      throw new ConfigError(name(`limits.${key}`), `limit ${key} must be a whole number (got ${limits[key]})`);
    }
  }
  if (limits.defaultTimeoutMs > limits.maxTimeoutMs) {
    // Blame the one the caller set: lowering the maximum below the default is the usual slip.
    const blamed = partial.defaultTimeoutMs !== undefined ? 'limits.defaultTimeoutMs' : 'limits.maxTimeoutMs';
    throw new ConfigError(
      name(blamed),
      `limit defaultTimeoutMs (${limits.defaultTimeoutMs}) must not exceed maxTimeoutMs (${limits.maxTimeoutMs})`,
    );
  }
  return Object.freeze(limits);
}

function wholeAtLeastOne(value: number, option: string, label: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new ConfigError(option, `${label} must be an integer >= 1, got ${value}`);
  return value;
}

function msAtLeastZero(value: number, option: string, label: string): number {
  // NaN fails every comparison: check the way round that rejects it.
  if (typeof value !== 'number' || !(value >= 0))
    throw new ConfigError(option, `${label} must be a number of ms >= 0 (got ${String(value)})`);
  return value;
}

/** The metrics HTTP port and /probe, from their input and the server's limits. */
export function resolveMetricsHttp(
  input: Pick<MetricsInput, 'listen' | 'probe' | 'maxConcurrentProbes' | 'blackbox' | 'webConfigFile'>,
  limits: ProbeLimits,
  name: Namer = namer(),
  targetPolicy?: TargetPolicyRef,
  modules: ModuleTable = BLACKBOX_MODULES,
): MetricsHttpSettings {
  const text = input.listen ?? DEFAULT_METRICS_ADDR;
  const listen: ListenAddress = { ...parseMetricsAddr(text, name('observability.metrics.listen')), text };
  const web =
    input.webConfigFile === undefined
      ? undefined
      : loadWebConfig(input.webConfigFile, name('observability.metrics.webConfigFile'));
  if (input.probe === false)
    return Object.freeze({ listen: Object.freeze(listen), probe: undefined, web, targetPolicy });
  const probe: ProbeEndpointSettings = {
    limits,
    maxConcurrent: wholeAtLeastOne(
      input.maxConcurrentProbes ?? DEFAULT_MAX_CONCURRENT_PROBES,
      name('observability.metrics.maxConcurrentProbes'),
      'maxConcurrentProbes',
    ),
    timeoutOffsetMs: msAtLeastZero(
      input.blackbox?.timeoutOffsetMs ?? DEFAULT_TIMEOUT_OFFSET_MS,
      name('observability.metrics.blackbox.timeoutOffsetMs'),
      'timeoutOffsetMs',
    ),
    tls: input.blackbox?.tls?.ca !== undefined ? { ca: input.blackbox.tls.ca.toString() } : undefined,
    targetPolicy,
    modules,
  };
  return Object.freeze({ listen: Object.freeze(listen), probe: Object.freeze(probe), web, targetPolicy });
}

function resolveMetrics(
  input: ObservabilityInput['metrics'],
  limits: ProbeLimits,
  name: Namer,
  policy: TargetPolicyRef | undefined,
  modules: ModuleTable,
): MetricsSettings | undefined {
  if (input === undefined || input === false) return undefined;
  if (input.webConfigFile !== undefined && input.listen === undefined)
    throw new ConfigError(name('observability.metrics.webConfigFile'), 'secures the metrics port, which is not open');
  return Object.freeze({
    registry: input.registry,
    maxEndpoints: wholeAtLeastOne(
      input.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS,
      name('observability.metrics.maxEndpoints'),
      'maxEndpoints',
    ),
    seriesTtlMs: msAtLeastZero(
      input.seriesTtlMs ?? DEFAULT_SERIES_TTL_MS,
      name('observability.metrics.seriesTtlMs'),
      'seriesTtlMs',
    ),
    now: input.now,
    defaultMetrics: input.defaultMetrics ?? true,
    http: input.listen === undefined ? undefined : resolveMetricsHttp(input, limits, name, policy, modules),
  });
}

function resolveDeadlineMargin(margin: DeadlineMargin | undefined, name: Namer): DeadlineMargin | undefined {
  return typeof margin === 'number' ? msAtLeastZero(margin, name('deadlineMarginMs'), 'deadlineMarginMs') : margin;
}

// A label value and a display name: printable, no spaces, bounded.
const REGION = /^[A-Za-z0-9._:@-]{1,63}$/;

function resolveRegion(region: string | undefined, name: Namer): string {
  const value = region ?? hostname();
  if (REGION.test(value)) return value;
  // A host name we did not choose: keep what fits rather than refuse to start.
  if (region === undefined) return value.replace(/[^A-Za-z0-9._:@-]/g, '-').slice(0, 63) || 'unknown';
  throw new ConfigError(
    name('region'),
    `${name('region')} must be 1-63 of A-Z a-z 0-9 . _ : @ - (got ${JSON.stringify(value)})`,
  );
}

function resolveWarmUp(warmUp: boolean | number | undefined, name: Namer): number {
  if (warmUp === undefined || warmUp === true) return WARM_UP_ATTEMPTS;
  if (warmUp === false) return 0;
  if (Number.isInteger(warmUp) && warmUp >= 0) return warmUp;
  throw new ConfigError(name('warmUp'), `warmUp must be a boolean or a whole number >= 0 (got ${String(warmUp)})`);
}

function resolveEngine(engine: unknown, name: Namer): EngineMode {
  if (engine === undefined || engine === 'thread' || engine === 'inline') return engine ?? 'thread';
  throw new ConfigError(name('engine'), `engine must be 'thread' or 'inline' (got ${JSON.stringify(engine)})`);
}

function resolveTls(input: ServerInput, name: Namer): TlsSettings | undefined {
  if (input.tls === undefined) return undefined;
  const names = {
    certFile: name('tls.certFile'),
    keyFile: name('tls.keyFile'),
    clientCaFile: name('tls.clientCaFile'),
  };
  if (input.credentials !== undefined)
    throw new ConfigError(names.certFile, 'give either tls or credentials, not both');
  const files = Object.freeze({ ...input.tls });
  return Object.freeze({ files, names: Object.freeze(names), material: loadTlsMaterial(files, names) });
}

function resolveAuth(input: ServerInput['auth'], name: Namer): AuthSettings | undefined {
  if (input === undefined) return undefined;
  const option = name('auth.tokenFile');
  return Object.freeze({ tokenFile: input.tokenFile, option, tokens: loadTokenFile(input.tokenFile, option) });
}

function cidrList(value: unknown, option: string): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  const list: unknown[] = Array.isArray(value) ? value : [value];
  for (const c of list) {
    if (typeof c !== 'string' || parseCidr(c) === undefined) {
      throw new ConfigError(
        option,
        `${option} must be a CIDR such as 10.0.0.0/8 or fd00::/8, or an IP address (got ${JSON.stringify(c)})`,
      );
    }
  }
  return Object.freeze(list.map((c) => (c as string).trim()));
}

/** The policy's flags checked once (a bad CIDR names its option); the listeners join it as they bind. */
export function resolveTargetPolicy(
  input: TargetPolicyInput | false | undefined,
  name: Namer = namer(),
): TargetPolicyRef | undefined {
  if (input === false) return undefined;
  const policy: TargetPolicy = Object.freeze({
    allow: cidrList(input?.allow, name('targetPolicy.allow')),
    deny: cidrList(input?.deny, name('targetPolicy.deny')),
    denyPrivate: input?.denyPrivate === true,
    self: DEFAULT_TARGET_POLICY.self,
  });
  return new TargetPolicyRef(policy);
}

function positive(value: number | undefined, option: string, label: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new ConfigError(option, `${label} must be a positive number of attempts/s (got ${String(value)})`);
  return value;
}

/** The caps, checked; a typo must not lift a bound, so 0 and negatives are errors, not "off". */
export function resolveAdmission(input: AdmissionInput = {}, name: Namer = namer()): AdmissionSettings {
  const names = {
    maxCalls: name('admission.maxCalls'),
    maxAttemptsInFlight: name('admission.maxAttemptsInFlight'),
    maxStreamsPerConnection: name('admission.maxStreamsPerConnection'),
    rateLimit: name('admission.rateLimit'),
  };
  const rateLimit = positive(input.rateLimit, names.rateLimit, 'rateLimit');
  const burst = input.rateBurst ?? Math.max(1, rateLimit ?? 1);
  if (typeof burst !== 'number' || !(burst >= 1))
    throw new ConfigError(name('admission.rateBurst'), `rateBurst must be a number >= 1 (got ${String(burst)})`);
  return Object.freeze({
    maxCalls: wholeAtLeastOne(input.maxCalls ?? DEFAULT_MAX_CALLS, names.maxCalls, 'maxCalls'),
    maxAttemptsInFlight: wholeAtLeastOne(
      input.maxAttemptsInFlight ?? DEFAULT_MAX_ATTEMPTS_IN_FLIGHT,
      names.maxAttemptsInFlight,
      'maxAttemptsInFlight',
    ),
    maxStreamsPerConnection: wholeAtLeastOne(
      input.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION,
      names.maxStreamsPerConnection,
      'maxStreamsPerConnection',
    ),
    rateLimit,
    rateBurst: burst,
    names: Object.freeze(names),
  });
}

// ---- the one entry point ---------------------------------------------------

const RESOLVED = new WeakSet<object>();

/** Whether `value` came out of resolveServerConfig (and so needs no checks). */
export function isServerSettings(value: unknown): value is ServerSettings {
  return typeof value === 'object' && value !== null && RESOLVED.has(value);
}

/**
 * Checks and completes a server configuration. Throws ConfigError naming the
 * first bad setting (by `options.names`, else its path in ServerInput).
 */
export function resolveServerConfig(input: ServerInput = {}, options: ResolveOptions = {}): ServerSettings {
  const name = namer(options.names);
  const obs = input.observability ?? {};
  const limits = resolveLimits(
    input.allowProxies === true ? { ...input.limits, allowProxy: true } : input.limits,
    name,
  );
  const targetPolicy = resolveTargetPolicy(input.targetPolicy, name);
  const listen = input.listen ?? DEFAULT_LISTEN;
  const admission = resolveAdmission(input.admission, name);
  const configFile =
    input.configFile === undefined ? undefined : loadConfigFile(input.configFile, limits, name('configFile'));
  const modules: ModuleTable = Object.freeze({ ...BLACKBOX_MODULES, ...configFile?.modules });
  const settings: ServerSettings = Object.freeze({
    region: resolveRegion(input.region, name),
    listen: Object.freeze({ ...parseListen(listen, name('listen')), text: listen }),
    limits,
    graceMs: msAtLeastZero(input.graceMs ?? DEFAULT_GRACE_MS, name('graceMs'), 'graceMs'),
    deadlineMarginMs: resolveDeadlineMargin(input.deadlineMarginMs, name),
    logger: obs.logger,
    errorLogger: input.logger ?? obs.logger ?? STDERR_LOGGER,
    observer: input.observer,
    grpc: Object.freeze({
      options: Object.freeze({
        ...DEFAULT_SERVER_OPTIONS,
        'grpc.max_concurrent_streams': admission.maxStreamsPerConnection + STREAMS_HEADROOM,
        ...input.serverOptions,
      }),
      credentials: input.credentials,
      services: Object.freeze([...(input.services ?? [])]),
    }),
    tls: resolveTls(input, name),
    auth: resolveAuth(input.auth, name),
    health: obs.health !== false,
    reflection: obs.reflection === false ? 'off' : obs.reflection === true ? 'required' : 'if-available',
    descriptorSetPath: obs.descriptorSetPath,
    metrics: resolveMetrics(obs.metrics, limits, name, targetPolicy, modules),
    configFile,
    modules,
    targetPolicy,
    admission,
    engine: resolveEngine(input.engine, name),
    warmUpAttempts: resolveWarmUp(input.warmUp, name),
  });
  RESOLVED.add(settings);
  return settings;
}
