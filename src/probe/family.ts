// Address family (-4/-6) and pinning (--resolve host:port:addr, curl's
// syntax). Both are plain data in the ProbeSpec (they cross to the engine
// thread); the engine turns them into the `family` request option and a
// resolver that answers the pinned addresses without touching DNS. The
// target policy wraps that resolver (policy.ts lookupFor), so a pinned
// address is judged like a resolved one.
import dns from 'node:dns';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { InvalidArgumentError } from './errors.js';

/** 4 or 6: only that family. Unset: the resolver's order, both families (see docs/json.md). */
export type IpFamily = 4 | 6;

/** One --resolve entry: connections to host:port go to these addresses instead of DNS's. */
export interface ResolveEntry {
  /** Lower case, as the URL's hostname is. */
  readonly host: string;
  readonly port: number;
  /** IP addresses without brackets, in the order given. */
  readonly addresses: readonly string[];
}

/** Entries per request; addresses per entry. */
export const MAX_RESOLVE_ENTRIES = 16;
export const MAX_RESOLVE_ADDRESSES = 16;
const MAX_RESOLVE_BYTES = 1024;

/** `at` names the entry ("resolve[0]"); the error's field is the bare proto name. */
function fail(at: string, message: string): never {
  throw new InvalidArgumentError(at.replace(/\[\d+\]$/, ''), `${at} ${message}`);
}

/** "[::1]" or "10.0.0.1" -> the address; undefined when not an IP literal. */
function parseAddr(text: string): string | undefined {
  const bracketed = /^\[(.*)\]$/.exec(text);
  const a = bracketed ? bracketed[1]! : text;
  if (!ipaddr.isValid(a)) return undefined;
  const kind = ipaddr.parse(a).kind();
  // A bare IPv6 address would be ambiguous with the colons of the syntax; IPv4 in brackets is not curl's.
  if ((kind === 'ipv6') !== (bracketed !== null)) return undefined;
  // ipaddr accepts shorthand like "10.1" that Node's socket would read otherwise.
  if (kind === 'ipv4' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(a)) return undefined;
  return a;
}

/** 'host:port:addr[,addr...]' (curl's --resolve); throws InvalidArgumentError naming `field[i]`. */
export function parseResolveEntry(text: unknown, field: string): ResolveEntry {
  if (typeof text !== 'string' || text === '') fail(field, 'must be "host:port:address[,address...]" (got nothing)');
  if (Buffer.byteLength(text) > MAX_RESOLVE_BYTES) fail(field, `must be at most ${MAX_RESOLVE_BYTES} bytes long`);
  const shown = JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
  const m = /^([^:[\]\s]+):(\d{1,5}):(.+)$/.exec(text);
  if (m === null) fail(field, `must be "host:port:address[,address...]", IPv6 in brackets (got ${shown})`);
  const [, host, portText, list] = m;
  const port = Number(portText);
  if (port < 1 || port > 65535) fail(field, `port must be between 1 and 65535 (got ${shown})`);
  if (host === '*' || /^[+-]/.test(host!))
    fail(field, `host must be a name; curl's wildcards and +/- forms are not supported (got ${shown})`);
  const parts = list!.split(',');
  if (parts.length > MAX_RESOLVE_ADDRESSES) fail(field, `must list at most ${MAX_RESOLVE_ADDRESSES} addresses`);
  const addresses = parts.map((p) => {
    const a = parseAddr(p.trim());
    if (a === undefined)
      fail(field, `address ${JSON.stringify(p)} is not an IPv4 address or a bracketed IPv6 one (got ${shown})`);
    return a;
  });
  return Object.freeze({ host: host!.toLowerCase(), port, addresses: Object.freeze(addresses) });
}

/** The resolve list of a request; [] when unset. */
export function validateResolve(value: unknown, field: string): readonly ResolveEntry[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) fail(field, 'must be a list of "host:port:address" strings');
  if (value.length > MAX_RESOLVE_ENTRIES)
    fail(field, `must have at most ${MAX_RESOLVE_ENTRIES} entries (got ${value.length})`);
  return Object.freeze(value.map((v, i) => parseResolveEntry(v, `${field}[${i}]`)));
}

/**
 * 0/unset: any; 4 or 6. An IP-literal host of the other family can never
 * connect: refused here. `url` is what the prober connects to (the proxy's,
 * with one: `what` names it); undefined: the value alone is checked.
 */
export function validateIpFamily(
  value: unknown,
  url: URL | undefined,
  field: string,
  what = "endpoint's host",
): IpFamily | undefined {
  if (value === undefined || value === 0) return undefined;
  if (value !== 4 && value !== 6) fail(field, `must be 4, 6, or 0 for either (got ${JSON.stringify(value)})`);
  if (url === undefined) return value;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host) && ipaddr.parse(host).kind() !== (value === 4 ? 'ipv4' : 'ipv6')) {
    fail(field, `is ${value} but the ${what} is an IPv${value === 4 ? 6 : 4} address`);
  }
  return value;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function notFound(hostname: string, family: number | undefined): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(
    `--resolve pins ${hostname} to no IPv${family} address (getaddrinfo ENOTFOUND ${hostname})`,
  );
  err.code = 'ENOTFOUND';
  err.syscall = 'getaddrinfo';
  return err;
}

/**
 * A resolver that answers the pinned addresses for `hostname` (entries for
 * `port`), filtered by the family asked for, and asks `base` (dns.lookup)
 * for every other name. undefined when no entry is for this port.
 */
export function pinnedLookup(
  entries: readonly ResolveEntry[],
  port: number,
  base: LookupFunction = dns.lookup,
): LookupFunction | undefined {
  const pins = new Map<string, LookupAddress[]>();
  for (const e of entries) {
    if (e.port !== port) continue;
    const list = pins.get(e.host) ?? [];
    for (const address of e.addresses) list.push({ address, family: address.includes(':') ? 6 : 4 });
    pins.set(e.host, list);
  }
  if (pins.size === 0) return undefined;
  const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    const pinned = pins.get(hostname.toLowerCase());
    if (pinned === undefined) {
      base(hostname, options, callback as never);
      return;
    }
    const family = options.family === 4 || options.family === 6 ? options.family : undefined;
    const list = family === undefined ? pinned : pinned.filter((a) => a.family === family);
    // Answered on a later tick, as a real resolver does (the socket's 'lookup' event then fires in order).
    process.nextTick(() => {
      if (list.length === 0) callback(notFound(hostname, family), '');
      else if (options.all === true) callback(null, list);
      else callback(null, list[0]!.address, list[0]!.family);
    });
  };
  return lookup as LookupFunction;
}

/**
 * `base` with `family`'s addresses moved to the front (stable otherwise), so
 * the connection tries them first and the other family's only after them
 * (Node's Happy Eyeballs walks the list in order).
 */
export function preferredLookup(family: IpFamily, base: LookupFunction = dns.lookup): LookupFunction {
  const lookup = (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    base(hostname, { ...options, all: true }, ((err: NodeJS.ErrnoException | null, found: LookupAddress[]) => {
      if (err) {
        callback(err, '');
        return;
      }
      const list = [...found.filter((a) => a.family === family), ...found.filter((a) => a.family !== family)];
      if (options.all === true) callback(null, list);
      else if (list.length === 0) callback(null, '', family);
      else callback(null, list[0]!.address, list[0]!.family);
    }) as never);
  };
  return lookup as LookupFunction;
}

/** 'IPv4' / 'IPv6' (socket.remoteFamily) -> 4 / 6. */
export function familyOf(remoteFamily: string | undefined): IpFamily | undefined {
  return remoteFamily === 'IPv4' ? 4 : remoteFamily === 'IPv6' ? 6 : undefined;
}
