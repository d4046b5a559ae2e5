// Target policy (SSRF guard): which addresses the engine may connect to. The
// policy is plain data (CIDR strings and flags) so it crosses a thread
// boundary inside a ProbeSpec; the engine applies it on the RESOLVED address
// of every new connection (policyLookup), and on IP-literal hosts before any
// socket opens (literalDenial), so DNS rebinding cannot slip past a check made
// once at the start. CIDR matching is ipaddr.js's, not bit math of our own.
import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { needsLookup } from './errors.js';
import { type IpFamily, pinnedLookup, preferredLookup, type ResolveEntry } from './family.js';

/** One listener of the server itself: never probed, whatever the flags say. */
export interface SelfEndpoint {
  readonly port: number;
  /** Addresses that reach the listener (a wildcard bind: loopback, unspecified, every interface). */
  readonly cidrs: readonly string[];
  /** For the rule text, e.g. "metrics listener". */
  readonly name: string;
}

/** What the server lets requests reach. Plain data: structured-cloneable. */
export interface TargetPolicy {
  /** --allow-target: when non-empty, only these ranges may be probed. */
  readonly allow: readonly string[];
  /** --deny-target. */
  readonly deny: readonly string[];
  /** --deny-private-targets: RFC 1918, loopback, ULA, CGNAT. */
  readonly denyPrivate: boolean;
  readonly self: readonly SelfEndpoint[];
}

export type PolicyVerdict = { readonly allowed: true } | { readonly allowed: false; readonly rule: string };

/** The policy refused a target. `rule` names the rule ("deny-target: 10.0.0.0/8"). */
export class PolicyDeniedError extends Error {
  readonly code = 'PROBER_ERR_POLICY_DENIED' as const;

  constructor(
    readonly address: string,
    readonly rule: string,
  ) {
    super(`target address ${address} is denied by the target policy (${rule})`);
    this.name = 'PolicyDeniedError';
  }
}

/** Also true across module copies: the code is the identity. */
export function isPolicyDeniedError(err: unknown): err is PolicyDeniedError {
  return (
    err instanceof PolicyDeniedError ||
    (err instanceof Error && (err as { code?: unknown }).code === 'PROBER_ERR_POLICY_DENIED')
  );
}

export const PRIVATE_RANGES: readonly string[] = Object.freeze([
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '127.0.0.0/8',
  '100.64.0.0/10',
  '::1/128',
  'fc00::/7',
]);

/** Denied unless an --allow-target range at least as specific covers the address. */
export const ALWAYS_DENIED: Readonly<Record<string, string>> = Object.freeze({
  '169.254.0.0/16': 'link-local/metadata',
  'fe80::/10': 'link-local',
  'fd00:ec2::254/128': 'metadata',
  // Linux connects 0.0.0.0 to the local host.
  '0.0.0.0/8': 'unspecified',
  '::/128': 'unspecified',
});

/** No flags: only the always-denied ranges (and the server's own listeners, once known). */
export const DEFAULT_TARGET_POLICY: TargetPolicy = Object.freeze({
  allow: Object.freeze([]),
  deny: Object.freeze([]),
  denyPrivate: false,
  self: Object.freeze([]),
});

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it carries. */
function unmap(cidr: Cidr): Cidr {
  const [addr, bits] = cidr;
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return cidr;
}

/** "10.0.0.0/8", or a bare address (a /32 or /128); undefined when neither. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const t = text.trim();
  try {
    if (ipaddr.isValidCIDR(t)) return unmap(ipaddr.parseCIDR(t));
    if (ipaddr.isValid(t)) {
      const a = ipaddr.parse(t);
      return unmap([a, a.kind() === 'ipv4' ? 32 : 128]);
    }
  } catch {
    // ipaddr throws on some malformed input that isValid* accepted.
  }
  return undefined;
}

interface Rule {
  readonly cidr: Cidr;
  readonly allow: boolean;
  /** Tie-break at equal prefix: explicit deny (2) > explicit allow (1) > built-in (0). */
  readonly rank: number;
  readonly text: string;
}

interface Compiled {
  readonly rules: readonly Rule[];
  readonly allowOnly: boolean;
  readonly self: readonly { port: number; cidrs: readonly Cidr[]; name: string }[];
}

function rulesOf(cidrs: readonly string[], allow: boolean, rank: number, label: (c: string) => string): Rule[] {
  return cidrs.flatMap((c) => {
    const cidr = parseCidr(c);
    return cidr ? [{ cidr, allow, rank, text: label(c) }] : [];
  });
}

// Per policy object: a policy that crossed a thread is compiled once per call there.
const COMPILED = new WeakMap<TargetPolicy, Compiled>();

function compile(policy: TargetPolicy): Compiled {
  let c = COMPILED.get(policy);
  if (c === undefined) {
    const rules = [
      ...rulesOf(policy.deny, false, 2, (x) => `deny-target: ${x}`),
      ...rulesOf(policy.allow, true, 1, (x) => `allow-target: ${x}`),
      ...(policy.denyPrivate ? rulesOf(PRIVATE_RANGES, false, 0, (x) => `deny-private-targets: ${x}`) : []),
      ...rulesOf(Object.keys(ALWAYS_DENIED), false, 0, (x) => `always denied: ${x} (${ALWAYS_DENIED[x]})`),
    ];
    const self = policy.self.map((s) => ({
      port: s.port,
      name: s.name,
      cidrs: s.cidrs.flatMap((x) => {
        const p = parseCidr(x);
        return p ? [p] : [];
      }),
    }));
    c = { rules, allowOnly: policy.allow.length > 0, self };
    COMPILED.set(policy, c);
  }
  return c;
}

function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  try {
    // process(): IPv4-mapped IPv6 becomes its IPv4 address.
    return ipaddr.process(ip.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
  } catch {
    return undefined;
  }
}

function matches(addr: ipaddr.IPv4 | ipaddr.IPv6, cidr: Cidr): boolean {
  return addr.kind() === cidr[0].kind() && addr.match(cidr);
}

/**
 * Whether `ip` (and `port`, for the server's own listeners) may be probed.
 * The server's own listeners are always denied. Otherwise the most specific
 * matching range decides; at equal prefix an explicit --deny-target wins, then
 * --allow-target, then the built-in ranges (so --allow-target 10.0.0.0/8
 * lifts --deny-private-targets for 10/8, but 0.0.0.0/0 does not lift the
 * metadata range). No match: allowed, unless an allow list is given.
 */
export function checkAddress(policy: TargetPolicy, ip: string, port?: number): PolicyVerdict {
  const addr = parseAddress(ip);
  if (addr === undefined) return { allowed: false, rule: `not an IP address: ${JSON.stringify(ip)}` };
  const c = compile(policy);
  if (port !== undefined) {
    for (const s of c.self) {
      if (s.port === port && s.cidrs.some((x) => matches(addr, x))) {
        return { allowed: false, rule: `self: the server's own ${s.name} (port ${port})` };
      }
    }
  }
  let best: Rule | undefined;
  for (const r of c.rules) {
    if (!matches(addr, r.cidr)) continue;
    if (best === undefined || r.cidr[1] > best.cidr[1] || (r.cidr[1] === best.cidr[1] && r.rank > best.rank)) best = r;
  }
  if (best !== undefined) return best.allow ? { allowed: true } : { allowed: false, rule: best.text };
  return c.allowOnly ? { allowed: false, rule: 'allow-target: in no allowed range' } : { allowed: true };
}

/** The URL's port, or the scheme's default. */
export function urlPort(url: URL): number {
  return url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** For an IP-literal host: the denial, before any socket opens. undefined: allowed, or a name to resolve. */
export function literalDenial(policy: TargetPolicy, url: URL): PolicyDeniedError | undefined {
  if (needsLookup(url.hostname)) return undefined;
  const ip = url.hostname.replace(/^\[|\]$/g, '');
  const v = checkAddress(policy, ip, urlPort(url));
  return v.allowed ? undefined : new PolicyDeniedError(ip, v.rule);
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * dns.lookup (or `base`, e.g. a test resolver) with the policy applied to what
 * it returns: denied addresses are dropped; none left is a PolicyDeniedError.
 * Asks for every address, answers in the shape the caller asked for.
 */
export function policyLookup(policy: TargetPolicy, port: number, base: LookupFunction = dns.lookup): LookupFunction {
  const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    base(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      const list: LookupAddress[] = Array.isArray(addresses) ? addresses : [{ address: addresses, family: 0 }];
      let denied: PolicyDeniedError | undefined;
      const ok = list.filter((a) => {
        const v = checkAddress(policy, a.address, port);
        if (!v.allowed) denied ??= new PolicyDeniedError(a.address, v.rule);
        return v.allowed;
      });
      if (ok.length === 0) {
        callback(denied ?? new PolicyDeniedError(hostname, 'no address resolved'), '');
        return;
      }
      if (options.all === true) callback(null, ok);
      else callback(null, ok[0]!.address, ok[0]!.family);
    });
  };
  return lookup as LookupFunction;
}

const LOOKUPS = new WeakMap<object, LookupFunction | undefined>();

interface LookupSpec {
  readonly url: URL;
  readonly targetPolicy?: TargetPolicy;
  readonly lookup?: LookupFunction;
  readonly resolve?: readonly ResolveEntry[];
  readonly preferFamily?: IpFamily;
}

/**
 * spec.lookup (or dns.lookup) with the --resolve pins for the URL's port in
 * front, its answers ordered by preferFamily; undefined: dns.lookup.
 */
function baseLookup(spec: LookupSpec): LookupFunction | undefined {
  const pins =
    spec.resolve && spec.resolve.length > 0 ? pinnedLookup(spec.resolve, urlPort(spec.url), spec.lookup) : undefined;
  const base = pins ?? spec.lookup;
  return spec.preferFamily === undefined ? base : preferredLookup(spec.preferFamily, base);
}

/** The engine's resolver for `spec`: built once per spec (a spec that crossed a thread gets its own). */
export function lookupFor(spec: LookupSpec): LookupFunction | undefined {
  if (LOOKUPS.has(spec)) return LOOKUPS.get(spec);
  const base = baseLookup(spec);
  const l = spec.targetPolicy === undefined ? base : policyLookup(spec.targetPolicy, urlPort(spec.url), base);
  LOOKUPS.set(spec, l);
  return l;
}

/**
 * Check at call start: an IP-literal host, or a name whose addresses are ALL
 * denied, throws PolicyDeniedError. A name that does not resolve (or takes
 * longer than `timeoutMs`) passes: the attempts report it as DNS. Each
 * attempt's connection is checked again (lookupFor).
 */
export async function preflightTarget(spec: LookupSpec, timeoutMs: number): Promise<void> {
  const policy = spec.targetPolicy;
  if (policy === undefined) return;
  const literal = literalDenial(policy, spec.url);
  if (literal) throw literal;
  if (!needsLookup(spec.url.hostname)) return;
  const lookup = policyLookup(policy, urlPort(spec.url), baseLookup(spec));
  const err = await new Promise<unknown>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs, undefined);
    lookup(spec.url.hostname, { all: true }, (e) => {
      clearTimeout(timer);
      resolve(e);
    });
  });
  if (isPolicyDeniedError(err)) throw err;
}
