// HTTP proxies (curl --proxy): proxy_url validated into plain data (it
// crosses to the engine thread), and the CONNECT tunnel an https:// attempt
// goes through. http:// endpoints are sent to the proxy in absolute form, as
// curl does without --proxytunnel (attempt.ts, proxiedOptions). The target
// policy judges the proxy's address: that is the connection the prober opens;
// the endpoint's name is resolved by the proxy.
import type http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { formatHostPort } from '../common/address.js';
import { redactUrl } from '../common/redact.js';
import { attemptError, InvalidArgumentError } from './errors.js';
import { lookupFor, urlPort } from './policy.js';
import { checkRawUrl } from './raw-url.js';
import type { AttemptError, ErrorReason, ProbeSpec, ProxySpec } from './types.js';

/** Longest proxy_url accepted, in UTF-8 bytes. */
export const MAX_PROXY_URL_BYTES = 2048;
/** curl's default proxy port. */
export const DEFAULT_PROXY_PORT = 1080;
/** Most bytes of a CONNECT reply's head read before giving up on it. */
export const MAX_CONNECT_REPLY_BYTES = 16 * 1024;

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

function shown(value: string): string {
  const r = redactUrl(value);
  return JSON.stringify(r.length > 200 ? `${r.slice(0, 200)}...` : r);
}

/**
 * proxy_url as curl reads --proxy: "http://[user:pass@]host[:port]"; no
 * scheme means http://, no port means 1080. Other schemes (https://,
 * socks5://) are refused, as are a path, query or fragment (curl ignores
 * them; a probe must not silently differ from what was asked). `allowed`:
 * whether the server lets requests name a proxy. Messages never show the
 * credentials.
 */
export function validateProxyUrl(value: unknown, field: string, allowed: boolean): ProxySpec | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new InvalidArgumentError(field, `${field} must be a string`);
  if (!allowed) {
    throw new InvalidArgumentError(
      field,
      `${field} is not allowed on this server (its operator enables proxies with prober serve --allow-proxies)`,
    );
  }
  checkRawUrl(value, field, MAX_PROXY_URL_BYTES);
  const bad = (why: string): InvalidArgumentError =>
    new InvalidArgumentError(field, `${field} ${why} (got ${shown(value)})`);
  const text = value.trim();
  let url: URL;
  try {
    url = new URL(SCHEME.test(text) ? text : `http://${text}`);
  } catch {
    throw bad('must be a proxy URL, http://[user:pass@]host[:port]');
  }
  if (url.protocol !== 'http:') throw bad('must use the http:// scheme (https:// and socks proxies are not supported)');
  if (url.hostname === '') throw bad('must name a host');
  if (url.port === '0') throw bad('port must be between 1 and 65535');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '')
    throw bad('must have no path, query or fragment');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? DEFAULT_PROXY_PORT : Number(url.port);
  const display = `http://${formatHostPort(host, port)}`;
  let authorization: string | undefined;
  if (url.username !== '' || url.password !== '') {
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } catch {
      throw bad('has a user name or password that is not valid percent-encoding');
    }
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return Object.freeze({ host, port, display, ...(authorization !== undefined ? { authorization } : {}) });
}

/** The proxy refused the tunnel: a non-2xx reply to CONNECT. */
export class ProxyRefusedError extends Error {
  readonly code = 'PROBER_ERR_PROXY_REFUSED' as const;

  constructor(
    readonly status: number,
    statusLine: string,
    proxy: string,
  ) {
    super(`proxy ${proxy} refused CONNECT: ${statusLine.slice(0, 200)}`);
    this.name = 'ProxyRefusedError';
  }
}

/** What a tunnel reports to the attempt that opened it (its clock, and the socket to destroy if it ends first). */
export interface TunnelHooks {
  opened(raw: net.Socket): void;
  lookup(): void;
  /** TCP to the proxy is up. */
  connect(): void;
  /** The CONNECT reply arrived (2xx or not). */
  replied(): void;
}

/** Key of the request option that carries the hooks through an Agent to createConnection. */
export const TUNNEL_HOOKS = 'proberTunnelHooks';

type TunnelOptions = tls.ConnectionOptions & {
  readonly host?: string | null;
  readonly port?: number | string | null;
  readonly family?: number;
  readonly [TUNNEL_HOOKS]?: TunnelHooks;
  readonly proberProxy?: ProxySpec;
  readonly proberProxyLookup?: net.LookupFunction;
};

function connectRequest(host: string, port: number, proxy: ProxySpec): string {
  const authority = formatHostPort(host, port);
  const auth = proxy.authorization !== undefined ? `Proxy-Authorization: ${proxy.authorization}\r\n` : '';
  return `CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`;
}

type Created = (err: Error | null, socket?: net.Socket) => void;

/** Reads the CONNECT reply's head off `raw`, bounded; calls `done` once. */
function awaitReply(raw: net.Socket, proxy: ProxySpec, hooks: TunnelHooks | undefined, done: Created): void {
  let head = Buffer.alloc(0);
  const cleanup = (): void => {
    raw.off('readable', onReadable);
    raw.off('error', onError);
    raw.off('end', onEnd);
  };
  const fail = (err: Error): void => {
    cleanup();
    raw.destroy();
    done(err);
  };
  const onError = (err: Error): void => fail(err);
  const onEnd = (): void => {
    const err: NodeJS.ErrnoException = new Error(
      `proxy ${proxy.display} closed the connection before its CONNECT reply`,
    );
    err.code = 'ECONNRESET';
    fail(err);
  };
  const onReadable = (): void => {
    for (let chunk = raw.read() as Buffer | null; chunk !== null; chunk = raw.read() as Buffer | null) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1 && head.length <= MAX_CONNECT_REPLY_BYTES) continue;
      if (end === -1) {
        fail(protocolError(proxy, 'a reply head over 16 KiB'));
        return;
      }
      cleanup();
      hooks?.replied();
      const refused = replyError(head, proxy);
      if (refused !== undefined) {
        fail(refused);
        return;
      }
      // Bytes after the head belong to the tunnel (a TLS server never speaks first, but be exact).
      const rest = head.subarray(end + 4);
      if (rest.length > 0) raw.unshift(rest);
      done(null, raw);
      return;
    }
  };
  raw.on('readable', onReadable);
  raw.on('error', onError);
  raw.on('end', onEnd);
}

/** undefined for a 2xx reply; else why the tunnel is refused. */
function replyError(head: Buffer, proxy: ProxySpec): Error | undefined {
  const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (m === null) return protocolError(proxy, JSON.stringify(statusLine.slice(0, 100)));
  const status = Number(m[1]);
  return status >= 200 && status <= 299 ? undefined : new ProxyRefusedError(status, statusLine, proxy.display);
}

function protocolError(proxy: ProxySpec, what: string): Error {
  const err: NodeJS.ErrnoException = new Error(`proxy ${proxy.display} sent an invalid CONNECT reply: ${what}`);
  err.code = 'HPE_INVALID_CONSTANT';
  return err;
}

/**
 * createConnection for an https:// request through a proxy (no agent, or a
 * ProxyAgent): TCP to the proxy, CONNECT host:port, then TLS to the target
 * over the tunnel (SNI: the request's servername or host). Answers through
 * `created`, after the CONNECT reply; the handshake completes on the socket.
 */
export function tunnelConnection(options: TunnelOptions, created: Created): undefined {
  const proxy = options.proberProxy;
  if (proxy === undefined) {
    created(new Error('tunnelConnection needs proberProxy'));
    return undefined;
  }
  const hooks = options[TUNNEL_HOOKS];
  const host = String(options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  const port = Number(options.port ?? 443);
  const raw = net.connect({
    host: proxy.host,
    port: proxy.port,
    ...(options.proberProxyLookup ? { lookup: options.proberProxyLookup } : {}),
    ...(options.family ? { family: options.family } : {}),
  } as net.NetConnectOpts);
  hooks?.opened(raw);
  if (hooks) raw.once('lookup', () => hooks.lookup());
  raw.once('connect', () => {
    hooks?.connect();
    raw.write(connectRequest(host, port, proxy));
  });
  awaitReply(raw, proxy, hooks, (err, socket) => {
    if (err || socket === undefined) {
      created(err ?? new Error('no tunnel'));
      return;
    }
    // host stays in the options: Node checks the certificate against servername, else host.
    const servername = options.servername || (net.isIP(host) === 0 ? host : undefined);
    const { path: _path, ...rest } = options as TunnelOptions & { path?: unknown };
    created(null, tls.connect({ ...rest, host, socket, ...(servername ? { servername } : {}) }));
  });
  return undefined;
}

/**
 * A keep-alive Agent whose new connections are CONNECT tunnels (--reuse
 * through a proxy): kept-alive requests share a tunnel. Its handshakes are
 * cold (no session cache: Node's own createConnection is what keeps one).
 */
export function proxyAgent(options: https.AgentOptions): https.Agent {
  const agent = new https.Agent(options);
  // An own property: Node's Agent calls this.createConnection(options, callback) and takes the callback's socket.
  (agent as unknown as { createConnection: typeof tunnelConnection }).createConnection = tunnelConnection;
  PROXY_AGENTS.add(agent);
  return agent;
}

const PROXY_AGENTS = new WeakSet<http.Agent>();

const PROXY_LOOKUPS = new WeakMap<ProbeSpec, { lookup: net.LookupFunction | undefined }>();

/** The resolver for the proxy's name: --resolve pins for its port, the target policy on its addresses. */
export function proxyLookup(spec: ProbeSpec): net.LookupFunction | undefined {
  let entry = PROXY_LOOKUPS.get(spec);
  const proxy = spec.proxy;
  if (entry === undefined && proxy !== undefined) {
    const url = proxyTargetUrl(proxy);
    entry = { lookup: lookupFor({ url, ...pick(spec) }) };
    PROXY_LOOKUPS.set(spec, entry);
  }
  return entry?.lookup;
}

function pick(spec: ProbeSpec): Pick<ProbeSpec, 'targetPolicy' | 'lookup' | 'resolve'> {
  return {
    ...(spec.targetPolicy ? { targetPolicy: spec.targetPolicy } : {}),
    ...(spec.lookup ? { lookup: spec.lookup } : {}),
    ...(spec.resolve ? { resolve: spec.resolve } : {}),
  };
}

/**
 * Request options of one attempt of `spec` through its proxy. https://: a
 * tunnel per connection (createConnection without an agent: a fresh one per
 * attempt; a proxyAgent: kept alive); http://: absolute form to the proxy.
 */
export function proxiedRequestOptions(
  base: https.RequestOptions,
  spec: ProbeSpec,
  agent: http.Agent | undefined,
  hooks: TunnelHooks,
): https.RequestOptions {
  if (spec.url.protocol !== 'https:') {
    const o = absoluteFormOptions(base, spec);
    return agent === undefined ? o : { ...o, agent };
  }
  const lookup = proxyLookup(spec);
  const o = {
    ...base,
    // Without an agent Node would default the port to 80.
    port: urlPort(spec.url),
    [TUNNEL_HOOKS]: hooks,
    proberProxy: spec.proxy,
    ...(lookup ? { proberProxyLookup: lookup } : {}),
  };
  if (agent !== undefined && PROXY_AGENTS.has(agent)) return { ...o, agent };
  // Any other agent would connect straight to the target: tunnel without it, keeping its TLS options (/probe's ca).
  const agentTls = (agent as unknown as { options?: tls.ConnectionOptions } | undefined)?.options;
  return {
    ...agentTls,
    ...o,
    agent: undefined,
    createConnection: tunnelConnection as unknown as https.RequestOptions['createConnection'],
  };
}

/** What the engine connects to for `spec`: the proxy when there is one (the target policy judges that). */
export function connectTarget<S extends { readonly url: URL; readonly proxy?: ProxySpec }>(spec: S): S {
  return spec.proxy === undefined ? spec : { ...spec, url: proxyTargetUrl(spec.proxy) };
}

/** The proxy as a URL (no credentials): what the policy's literal check and the pins are keyed on. */
export function proxyTargetUrl(proxy: ProxySpec): URL {
  return new URL(`${proxy.display}/`);
}

/** Request options of an http:// request through a proxy: absolute form to the proxy (curl's default). */
export function absoluteFormOptions(base: http.RequestOptions, spec: ProbeSpec): http.RequestOptions {
  const proxy = spec.proxy as ProxySpec;
  const headers = [...((base.headers as string[] | undefined) ?? [])];
  if (proxy.authorization !== undefined) headers.push('Proxy-Authorization', proxy.authorization);
  const lookup = proxyLookup(spec);
  const { lookup: _l, ...rest } = base;
  return {
    ...rest,
    host: proxy.host,
    hostname: proxy.host,
    port: proxy.port,
    path: spec.url.href,
    headers,
    ...(lookup ? { lookup } : {}),
  };
}

// Failures of the connection to the proxy itself.
const PROXY_STAGE: ReadonlySet<ErrorReason> = new Set([
  'DNS',
  'CONNECT_REFUSED',
  'CONNECT_TIMEOUT',
  'UNREACHABLE',
  'POLICY_DENIED',
]);

/** A failure before the proxy was reached says so: the proxy, not the endpoint, was unreachable. */
export function proxyBlame(error: AttemptError, proxy: ProxySpec, connected: boolean): AttemptError {
  if (connected || !PROXY_STAGE.has(error.reason)) return error;
  return attemptError(error.reason, `proxy ${proxy.display}: ${error.message}`, error.temporary, error.code);
}
