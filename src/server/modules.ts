// Probe modules: named sets of request settings that /probe?module=NAME and
// a gRPC ProbeRequest's `module` field refer to. Three are built in; a
// --config file (config-file.ts) adds more or replaces them by name.
import type { IpFamily } from '../probe/family.js';
import type { HttpMethod, ProbeInput, ProbeSpec, StatusRange } from '../probe/types.js';

/** The request settings a module may carry: the same fields, and meanings, as a ProbeInput's. */
type ModuleRequestFields = Pick<
  ProbeInput,
  | 'headers'
  | 'body'
  | 'expectBody'
  | 'failIfBody'
  | 'expectHeader'
  | 'failIfHeader'
  | 'tlsInsecure'
  | 'tlsCaPem'
  | 'tlsCertPem'
  | 'tlsKeyPem'
  | 'tlsServerName'
  | 'tlsMinVersion'
  | 'ipFamily'
  | 'proxyUrl'
  | 'httpVersion'
>;

export interface BlackboxModule extends ModuleRequestFields {
  readonly method: HttpMethod;
  readonly expectedStatus: readonly StatusRange[];
  readonly description: string;
  /** The module's own timeout (blackbox `timeout`); a probe uses the smaller of it and the caller's. */
  readonly timeoutMs?: number;
  /** Unset: /probe follows (as blackbox), a gRPC request does not. */
  readonly followRedirects?: boolean;
  // Settings no ProbeRequest field carries: added to the validated spec (withModuleSpec).
  /** preferred_ip_protocol with ip_protocol_fallback: this family first, then the other. */
  readonly preferFamily?: IpFamily;
  readonly failIfSsl?: boolean;
  readonly failIfNotSsl?: boolean;
  /**
   * blackbox's valid_http_versions ("HTTP/1.1", "HTTP/2.0"): /probe fails a
   * response of another version. Not a request field: gRPC calls naming the
   * module do not check it.
   */
  readonly validHttpVersions?: readonly string[];
}

export type ModuleTable = Readonly<Record<string, BlackboxModule>>;

/** Modules as blackbox_exporter's example config names them; http_2xx is the default. */
export const BLACKBOX_MODULES: ModuleTable = Object.freeze({
  http_2xx: { method: 'GET', expectedStatus: [{ min: 200, max: 299 }], description: 'GET, success on 2xx' },
  http_head: { method: 'HEAD', expectedStatus: [{ min: 200, max: 299 }], description: 'HEAD, success on 2xx' },
  http_2xx_3xx: {
    method: 'GET',
    expectedStatus: [{ min: 200, max: 399 }],
    description: 'GET, success on 2xx and 3xx (redirects are not followed)',
    followRedirects: false,
  },
});
export const DEFAULT_MODULE = 'http_2xx';

/** The module by name; undefined for an unknown name (never an Object.prototype key). */
export function findModule(modules: ModuleTable, name: string): BlackboxModule | undefined {
  return Object.hasOwn(modules, name) ? modules[name] : undefined;
}

/** What a module sets in a ProbeInput (all but the target, repetitions and pacing). */
export type ModuleInput = Pick<ProbeInput, (typeof MODULE_FIELDS)[number]>;

const MODULE_FIELDS = [
  'method',
  'expectedStatus',
  'timeoutMs',
  'headers',
  'body',
  'expectBody',
  'failIfBody',
  'expectHeader',
  'failIfHeader',
  'followRedirects',
  'tlsInsecure',
  'tlsCaPem',
  'tlsCertPem',
  'tlsKeyPem',
  'tlsServerName',
  'tlsMinVersion',
  'ipFamily',
  'proxyUrl',
  'httpVersion',
] as const satisfies readonly (keyof ProbeInput & keyof BlackboxModule)[];

export function moduleInput(m: BlackboxModule): ModuleInput {
  const out: Record<string, unknown> = {};
  for (const key of MODULE_FIELDS) if (m[key] !== undefined) out[key] = m[key];
  return out as ModuleInput;
}

/**
 * A request that names a module: the module fills every field the request
 * leaves unset; a field the request sets wins whole (lists are not merged).
 */
export function withModule(m: BlackboxModule, request: ProbeInput): ProbeInput {
  const out: Record<string, unknown> = { ...moduleInput(m) };
  for (const [key, value] of Object.entries(request)) if (value !== undefined) out[key] = value;
  return out as unknown as ProbeInput;
}

/** The validated spec of a request that named `m`, with the module's settings that have no request field. */
export function withModuleSpec(m: BlackboxModule, spec: ProbeSpec): ProbeSpec {
  if (m.preferFamily === undefined && m.failIfSsl === undefined && m.failIfNotSsl === undefined) return spec;
  return Object.freeze({
    ...spec,
    // A request's own ip_family is stricter than the module's preference: it wins.
    ...(m.preferFamily !== undefined && spec.ipFamily === undefined ? { preferFamily: m.preferFamily } : {}),
    ...(m.failIfSsl ? { failIfSsl: true } : {}),
    ...(m.failIfNotSsl ? { failIfNotSsl: true } : {}),
  });
}
