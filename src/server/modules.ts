// Probe modules: named sets of request settings that /probe?module=NAME and
// a gRPC ProbeRequest's `module` field refer to. Three are built in; a
// --config file (config-file.ts) adds more or replaces them by name.
import type { HttpMethod, ProbeInput, StatusRange } from '../probe/types.js';

/** The request settings a module may carry: the same fields, and meanings, as a ProbeInput's. */
type ModuleRequestFields = Pick<
  ProbeInput,
  | 'headers'
  | 'body'
  | 'expectBody'
  | 'failIfBody'
  | 'expectHeader'
  | 'tlsInsecure'
  | 'tlsCaPem'
  | 'tlsCertPem'
  | 'tlsKeyPem'
  | 'tlsServerName'
  | 'tlsMinVersion'
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
  'followRedirects',
  'tlsInsecure',
  'tlsCaPem',
  'tlsCertPem',
  'tlsKeyPem',
  'tlsServerName',
  'tlsMinVersion',
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
