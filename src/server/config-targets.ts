// The `targets:` section of `prober serve --config FILE`: targets the server
// probes on its own schedule (targets.ts runs them). A target names a module
// (configured or built in) and/or gives inline options in the module syntax
// (`http:` keys laid over the module's, key by key), so modules and targets
// share one parser (config-file.ts's httpModule). Every error names the file
// and the path ("targets[2].interval").
import { InvalidArgumentError, validateProbeInput } from '../probe/index.js';
import type { ProbeInput, ProbeLimits } from '../probe/types.js';
import { type BlackboxModule, DEFAULT_MODULE, findModule, type ModuleTable, moduleInput } from './modules.js';
import { join, kind, type Node, type Reader } from './web-config.js';

/** One scheduled target, checked: what the scheduler runs and the metrics label. */
export interface TargetDefinition {
  readonly name: string;
  /** The URL as written (redact before logging). */
  readonly url: string;
  /** The module named, or "inline" for inline options alone. */
  readonly module: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Extra labels on every series of the target. */
  readonly labels: Readonly<Record<string, string>>;
  /** A continuous run (repetitions 0) at the interval, one attempt at a time. */
  readonly input: ProbeInput;
  /** Equal for two definitions that probe the same way with the same labels (reload keeps such a target running). */
  readonly fingerprint: string;
}

export const DEFAULT_TARGET_INTERVAL_MS = 30_000;
export const MIN_TARGET_INTERVAL_MS = 1_000;
export const MAX_TARGET_INTERVAL_MS = 3_600_000;
export const MAX_TARGETS = 1_000;
export const MAX_TARGET_LABELS = 16;
export const MAX_LABEL_VALUE_CHARS = 256;

/** Label-safe names: printable, no spaces or quotes, bounded. */
const TARGET_NAME = /^[A-Za-z0-9_][A-Za-z0-9._:@-]{0,127}$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Label names a target may not set: our own (`target`, and the labels the
 * target series carry), the server's `region`, the ones Prometheus sets
 * (`job`, `instance`: ours would be renamed exported_*), and exposition's `le`, `quantile`.
 */
export const RESERVED_LABELS: readonly string[] = Object.freeze([
  'target',
  'region',
  'result',
  'reason',
  'phase',
  'version',
  'le',
  'quantile',
  'job',
  'instance',
]);

const TARGET_KEYS = ['name', 'url', 'module', 'interval', 'timeout', 'labels', 'http'] as const;

/** The built-in modules as module syntax, so inline `http:` keys can be laid over one of them. */
export const BUILTIN_NODES: Readonly<Record<string, Node>> = {
  http_2xx: { prober: 'http' },
  http_head: { prober: 'http', http: { method: 'HEAD' } },
  http_2xx_3xx: {
    prober: 'http',
    http: { no_follow_redirects: true, valid_status_codes: Array.from({ length: 200 }, (_, i) => 200 + i) },
  },
};

/** What config-file.ts lends: the module parser. */
export interface TargetTools {
  /** Parses a module node (blackbox syntax) whose errors are named under `path`. */
  readonly parseModule: (path: string, node: Node) => BlackboxModule;
}

/**
 * The limits a target's run is checked against: the server's, with continuous
 * runs and long intervals allowed, and proxies (a target, like a module, is
 * the operator's; the target policy still judges the proxy's address).
 */
export function targetLimits(limits: ProbeLimits): ProbeLimits {
  return {
    ...limits,
    allowContinuous: true,
    allowProxy: true,
    maxIntervalMs: Math.max(limits.maxIntervalMs, MAX_TARGET_INTERVAL_MS),
  };
}

function labels(r: Reader, node: Node, path: string): Record<string, string> {
  const p = join(path, 'labels');
  const map = r.mapping(node['labels'], p);
  const names = Object.keys(map);
  if (names.length > MAX_TARGET_LABELS) r.fail(p, `at most ${MAX_TARGET_LABELS} labels (got ${names.length})`);
  const out: Record<string, string> = {};
  for (const name of names) {
    const at = join(p, name);
    if (!LABEL_NAME.test(name) || name.startsWith('__'))
      r.fail(at, 'not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)');
    if (RESERVED_LABELS.includes(name)) r.fail(at, `reserved: prober sets ${RESERVED_LABELS.join(', ')} itself`);
    const v = map[name];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
      r.fail(at, `must be a string (got ${kind(v)})`);
    const value = String(v);
    if (value.length > MAX_LABEL_VALUE_CHARS) r.fail(at, `at most ${MAX_LABEL_VALUE_CHARS} characters`);
    out[name] = value;
  }
  return out;
}

/** The module a target runs: the named one, or it with the target's inline `http:` keys laid over its own. */
function targetModule(
  r: Reader,
  tools: TargetTools,
  node: Node,
  path: string,
  modules: ModuleTable,
  rawModules: Node,
): { name: string; module: BlackboxModule } {
  const named = r.string(node, 'module', path);
  const inline = node['http'];
  const name = named ?? (inline === undefined || inline === null ? DEFAULT_MODULE : 'inline');
  const base = named ?? DEFAULT_MODULE;
  const known = findModule(modules, base);
  if (known === undefined) {
    const raw = Object.hasOwn(rawModules, base) ? (rawModules[base] as Node | null) : undefined;
    const prober = raw && typeof raw === 'object' ? raw['prober'] : undefined;
    if (prober !== undefined && prober !== 'http')
      r.fail(
        join(path, 'module'),
        `module ${JSON.stringify(base)} uses prober ${kind(prober)}, which is not supported`,
      );
    r.fail(join(path, 'module'), `unknown module ${JSON.stringify(base)} (known: ${Object.keys(modules).join(', ')})`);
  }
  if (inline === undefined || inline === null) return { name, module: known };
  const fromFile = Object.hasOwn(rawModules, base) ? (rawModules[base] as Node) : undefined;
  const baseNode = fromFile ?? BUILTIN_NODES[base] ?? { prober: 'http' };
  const over = r.mapping(inline, join(path, 'http'));
  const baseHttp = (baseNode['http'] ?? {}) as Node;
  const merged: Node = { ...baseNode, http: { ...baseHttp, ...over } };
  return { name, module: tools.parseModule(path, merged) };
}

/** Which key of the target an engine error belongs to. */
function keyOf(field: string): string {
  if (field === 'endpoint') return 'url';
  if (field === 'timeout' || field === 'interval') return field;
  return 'http';
}

function readTarget(
  r: Reader,
  tools: TargetTools,
  value: unknown,
  path: string,
  modules: ModuleTable,
  rawModules: Node,
  limits: ProbeLimits,
): TargetDefinition {
  const node = r.mapping(value, path, TARGET_KEYS);
  const name = r.string(node, 'name', path);
  if (name === undefined) r.fail(join(path, 'name'), 'is required');
  if (!TARGET_NAME.test(name))
    r.fail(join(path, 'name'), `must be 1-128 of A-Z a-z 0-9 . _ : @ - (got ${kind(name)}): it becomes a label value`);
  const url = r.string(node, 'url', path);
  if (url === undefined) r.fail(join(path, 'url'), 'is required');
  const intervalMs = r.duration(node, 'interval', path) ?? DEFAULT_TARGET_INTERVAL_MS;
  if (intervalMs < MIN_TARGET_INTERVAL_MS || intervalMs > MAX_TARGET_INTERVAL_MS)
    r.fail(join(path, 'interval'), `must be between ${MIN_TARGET_INTERVAL_MS / 1000}s and 1h (got ${intervalMs} ms)`);
  const given = r.duration(node, 'timeout', path);
  if (given !== undefined && (given <= 0 || given > intervalMs))
    r.fail(
      join(path, 'timeout'),
      `must be greater than 0 and at most the interval (${intervalMs} ms; got ${given} ms)`,
    );
  const { name: moduleName, module } = targetModule(r, tools, node, path, modules, rawModules);
  const timeoutMs = given ?? Math.min(module.timeoutMs ?? limits.defaultTimeoutMs, intervalMs);
  const extra = labels(r, node, path);
  const input: ProbeInput = {
    // Targets follow redirects unless the module says not to, as /probe and blackbox do.
    followRedirects: true,
    ...moduleInput(module),
    endpoint: url,
    repetitions: 0,
    intervalMs,
    timeoutMs,
    concurrency: 1,
  };
  try {
    validateProbeInput(input, targetLimits(limits));
  } catch (err) {
    if (!(err instanceof InvalidArgumentError)) throw err;
    r.fail(join(path, keyOf(err.field)), err.message);
  }
  const fingerprint = JSON.stringify({
    input: { ...input, body: input.body && Buffer.from(input.body).toString('base64') },
    labels: extra,
    module: moduleName,
  });
  return Object.freeze({
    name,
    url,
    module: moduleName,
    intervalMs,
    timeoutMs,
    labels: Object.freeze(extra),
    input: Object.freeze(input),
    fingerprint,
  });
}

/**
 * The `targets:` list, checked against the modules (the file's and the
 * built-in ones) and the server's limits. `rawModules` is the file's
 * `modules:` mapping as written, the base for inline overlays.
 */
export function readTargets(
  r: Reader,
  value: unknown,
  tools: TargetTools,
  modules: ModuleTable,
  rawModules: unknown,
  limits: ProbeLimits,
): readonly TargetDefinition[] {
  if (value === null || value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) r.fail('targets', `must be a list (got ${kind(value)})`);
  if (value.length > MAX_TARGETS) r.fail('targets', `at most ${MAX_TARGETS} targets (got ${value.length})`);
  const raw = rawModules !== null && typeof rawModules === 'object' ? (rawModules as Node) : {};
  const seen = new Map<string, number>();
  const out: TargetDefinition[] = [];
  value.forEach((entry: unknown, i) => {
    const t = readTarget(r, tools, entry, `targets[${i}]`, modules, raw, limits);
    const first = seen.get(t.name);
    if (first !== undefined)
      r.fail(`targets[${i}].name`, `duplicate name ${JSON.stringify(t.name)} (also targets[${first}])`);
    seen.set(t.name, i);
    out.push(t);
  });
  return Object.freeze(out);
}
