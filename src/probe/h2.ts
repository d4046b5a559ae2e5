// HTTP/2 in the engine (node:http2): http_version '2' (curl --http2: h2 via
// ALPN over TLS, falling back to HTTP/1.1 on the same TLS connection) and
// '2-prior-knowledge' (h2c for http://; over TLS h2 via ALPN, no fallback).
// attempt.ts branches here only for specs that ask for HTTP/2, so the
// HTTP/1.1 path stays as it was. The socket is dialled here (the policy's
// resolver, -4/-6, --resolve, the TLS options) so lookup, connect and secure
// are marked on it as for HTTP/1.1; with --reuse an H2Pool keeps one session
// per origin and attempts multiplex on it.
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { createRequire } from 'node:module';
import net, { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import type { Attempt } from './attempt.js';
import { readBody } from './checks.js';
import { classifyH2Error, errorCode, noH2Error, resetError } from './errors.js';
import { lookupFor } from './policy.js';
import { redirectStep } from './redirect.js';
import { requestHeaders } from './request.js';
import { tlsRequestOptions } from './tls.js';
import type { AttemptError, ProbeSpec } from './types.js';

// node:http2 is loaded on first use: importing it costs start-up time (several ms) that
// every command would pay, though only --http2 probes need it.
let http2Module: typeof import('node:http2') | undefined;
/** node:http2, loaded once; runProbes calls it before the first HTTP/2 attempt so no attempt times the load. */
export function http2(): typeof import('node:http2') {
  http2Module ??= createRequire(import.meta.url)('node:http2') as typeof import('node:http2');
  return http2Module;
}

/** Whether this request goes over the h2 path (http:// with '2' stays HTTP/1.1: no Upgrade, unlike curl). */
export function usesH2(spec: ProbeSpec): boolean {
  const v = spec.httpVersion;
  return v === '2-prior-knowledge' || (v === '2' && spec.url.protocol === 'https:');
}

/** What attempt.ts lends the h2 path. */
export interface H2Hooks {
  /** Send a.spec over HTTP/1.1: on `socket` (ALPN fell back to it), else through the run's agent. */
  http1(a: Attempt, socket?: Socket): void;
  /** Send a.spec afresh (the next redirect hop). */
  send(a: Attempt): void;
  /** The final response's verdict: status, then header and body checks. */
  verdict(a: Attempt, rawHeaders: readonly string[]): AttemptError | undefined;
}

/** One dialled connection: an h2 session once ALPN (or prior knowledge) says so. */
class Conn {
  session: ClientHttp2Session | undefined;
  /** ALPN picked HTTP/1.1: later attempts of the run go through its keep-alive agent. */
  http1 = false;
  /** Attempts of a reusing run that arrived while this connection was being dialled. */
  readonly waiters: Attempt[] = [];
  constructor(
    readonly key: string,
    readonly socket: Socket,
  ) {}

  usable(): boolean {
    const s = this.session;
    return s !== undefined && !s.closed && !s.destroyed;
  }
}

/** --reuse: one connection per origin for a run; a session that dies (GOAWAY, error, close) is replaced. */
export class H2Pool {
  private readonly conns = new Map<string, Conn>();

  get(key: string): Conn | undefined {
    const c = this.conns.get(key);
    if (c !== undefined && c.session !== undefined && !c.usable()) {
      this.conns.delete(key);
      return undefined;
    }
    return c;
  }

  set(c: Conn): void {
    this.conns.set(c.key, c);
  }

  drop(c: Conn): void {
    if (this.conns.get(c.key) === c) this.conns.delete(c.key);
  }

  close(): void {
    for (const c of this.conns.values()) {
      c.session?.destroy();
      c.socket.destroy();
    }
    this.conns.clear();
  }
}

type DialOptions = tls.ConnectionOptions & net.TcpNetConnectOpts;

// Built once per spec (redirect hops are specs of their own).
const DIAL = new WeakMap<ProbeSpec, DialOptions>();
const HEADERS = new WeakMap<ProbeSpec, OutgoingHttpHeaders>();

function dialOptions(spec: ProbeSpec): DialOptions {
  let o = DIAL.get(spec);
  if (o === undefined) {
    const isTls = spec.url.protocol === 'https:';
    const host = spec.url.hostname.replace(/^\[|\]$/g, '');
    o = { host, port: Number(spec.url.port) || (isTls ? 443 : 80), ...tlsRequestOptions(spec.tls) };
    const lookup = lookupFor(spec);
    if (lookup) o.lookup = lookup;
    if (spec.ipFamily !== undefined) o.family = spec.ipFamily;
    if (isTls) {
      o.ALPNProtocols = spec.httpVersion === '2' ? ['h2', 'http/1.1'] : ['h2'];
      // As https.Agent does: SNI is the host name unless --sni names another; never an IP.
      if (o.servername === undefined && isIP(host) === 0) o.servername = host;
    }
    DIAL.set(spec, o);
  }
  return o;
}

// HTTP/2 forbids connection-specific headers (RFC 9113 8.2.2); Host becomes :authority.
const NOT_IN_H2 = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host']);

/** The request's header block: the same headers as HTTP/1.1's (request.ts), in h2's shape. */
function h2Headers(spec: ProbeSpec): OutgoingHttpHeaders {
  let h = HEADERS.get(spec);
  if (h === undefined) {
    const raw = requestHeaders(spec, urlToHttpOptions(spec.url).auth);
    const out: Record<string, string | string[]> = {
      ':method': spec.method,
      ':scheme': spec.url.protocol.slice(0, -1),
      ':path': `${spec.url.pathname}${spec.url.search}`,
    };
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      if (name === 'host') out[':authority'] = value;
      if (NOT_IN_H2.has(name)) continue;
      const prev = out[name];
      out[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
    h = out;
    HEADERS.set(spec, h);
  }
  return h;
}

function poolKey(spec: ProbeSpec): string {
  return `${spec.httpVersion} ${spec.url.origin}`;
}

/** Send a.spec over HTTP/2 (or HTTP/1.1 when ALPN falls back). */
export function sendH2(a: Attempt, pool: H2Pool | undefined, hooks: H2Hooks): void {
  const c = pool?.get(poolKey(a.spec));
  if (c === undefined) {
    dial(a, pool, hooks);
  } else if (c.http1) {
    hooks.http1(a);
  } else if (c.session === undefined) {
    c.waiters.push(a);
    a.release = () => {
      const i = c.waiters.indexOf(a);
      if (i >= 0) c.waiters.splice(i, 1);
    };
  } else {
    onPooled(a, c, pool, hooks);
  }
}

/** An attempt that runs on a connection someone else dialled: no dns/connect/tls of its own. */
function onPooled(a: Attempt, c: Conn, pool: H2Pool | undefined, hooks: H2Hooks): void {
  a.clock.markReused();
  a.socket = c.socket;
  a.captureAddress();
  a.captureTls();
  stream(a, c, pool, hooks);
}

function dial(a: Attempt, pool: H2Pool | undefined, hooks: H2Hooks): void {
  const { spec } = a;
  const isTls = spec.url.protocol === 'https:';
  let socket: Socket;
  try {
    socket = isTls ? tls.connect(dialOptions(spec)) : net.connect(dialOptions(spec));
  } catch (err) {
    a.finish(classifyH2Error(err, a.stage()));
    return;
  }
  const c = new Conn(poolKey(spec), socket);
  pool?.set(c);
  a.socket = socket;
  socket.once('lookup', a.onLookup);
  socket.once('connect', a.onConnect);
  if (isTls) socket.once('secureConnect', a.onSecure);
  const onError = (err: Error): void => {
    a.finish(dialError(err, a));
    failDial(c, pool, hooks);
  };
  socket.on('error', onError);
  // Ended before the connection was ready (timeout, abort): nothing else may use it.
  a.release = () => {
    socket.destroy();
    failDial(c, pool, hooks);
  };
  socket.once(isTls ? 'secureConnect' : 'connect', () => {
    if (a.done) return;
    socket.off('error', onError);
    ready(a, c, pool, hooks);
  });
}

/** A dial that failed or was given up: its waiters try again on their own (each then reports for itself). */
function failDial(c: Conn, pool: H2Pool | undefined, hooks: H2Hooks): void {
  pool?.drop(c);
  for (const w of c.waiters.splice(0)) {
    w.release = undefined;
    if (!w.done) sendH2(w, pool, hooks);
  }
}

/** A TLS alert for no common ALPN protocol is the server refusing h2 (prior knowledge), not a certificate problem. */
function dialError(err: Error, a: Attempt): AttemptError {
  if (/NO_APPLICATION_PROTOCOL/.test(errorCode(err) ?? '')) return noH2Error(undefined);
  return classifyH2Error(err, a.stage());
}

/** The socket is up (and TLS done): h2, the HTTP/1.1 fallback, or no h2 when it was required. */
function ready(a: Attempt, c: Conn, pool: H2Pool | undefined, hooks: H2Hooks): void {
  const { socket } = c;
  const alpn = (socket as tls.TLSSocket).alpnProtocol;
  const isTls = a.spec.url.protocol === 'https:';
  a.release = undefined;
  if (isTls && alpn !== 'h2') {
    if (a.spec.httpVersion === '2') {
      // curl's fallback: HTTP/1.1 on this connection; later attempts use the run's keep-alive agent.
      c.http1 = true;
      hooks.http1(a, socket);
      for (const w of c.waiters.splice(0)) {
        w.release = undefined;
        if (!w.done) hooks.http1(w);
      }
      return;
    }
    a.finish(noH2Error(alpn));
    socket.destroy();
    failDial(c, pool, hooks);
    return;
  }
  const session = http2().connect(a.spec.url.origin, { createConnection: () => socket });
  c.session = session;
  // A session that dies leaves the pool; its streams report their own errors.
  const forget = (): void => pool?.drop(c);
  session.on('error', forget);
  session.on('goaway', forget);
  session.on('close', forget);
  stream(a, c, pool, hooks);
  for (const w of c.waiters.splice(0)) {
    w.release = undefined;
    if (!w.done) onPooled(w, c, pool, hooks);
  }
}

/** One request on c's session; without a pool the session is this attempt's own, closed when it ends. */
function stream(a: Attempt, c: Conn, pool: H2Pool | undefined, hooks: H2Hooks): void {
  const { spec } = a;
  const session = c.session!;
  const fresh = pool === undefined;
  let s: ClientHttp2Stream;
  try {
    s = session.request(h2Headers(spec), { endStream: spec.body === undefined });
  } catch (err) {
    a.finish(classifyH2Error(err, a.stage()));
    if (fresh) session.destroy();
    return;
  }
  const release = (error: AttemptError | undefined): void => {
    if (error !== undefined && !s.closed) s.close(http2().constants.NGHTTP2_CANCEL);
    if (fresh) {
      if (error !== undefined) session.destroy();
      else session.close();
    } else if (error?.reason === 'TIMEOUT') {
      // As a timed-out HTTP/1.1 request loses its socket: a session that stalled is not trusted with the next
      // attempt (it may be half-dead, e.g. a NAT dropped it); its other streams may still finish.
      pool.drop(c);
      session.close();
    }
  };
  a.release = release;
  const mine = (): boolean => !a.done && a.release === release;
  s.on('error', (err) => {
    if (mine()) a.finish(classifyH2Error(err, a.stage()));
  });
  // Fallback: a close (RST_STREAM with NO_ERROR, a session gone) that no other event explained.
  s.on('close', () => {
    setImmediate(() => {
      if (mine()) a.finish(resetError(a.clock.responseAt === undefined ? 'response' : 'body'));
    });
  });
  s.on('response', (headers) => onResponse(a, s, headers, release, hooks));
  if (spec.body) s.end(spec.body);
}

/** As attempt.ts's wireResponse, for an h2 stream. */
function onResponse(
  a: Attempt,
  s: ClientHttp2Stream,
  headers: IncomingHttpHeaders,
  release: (error: AttemptError | undefined) => void,
  hooks: H2Hooks,
): void {
  if (a.done || a.release !== release) return;
  a.clock.mark('response');
  a.status = Number(headers[':status']);
  a.httpVersion = '2';
  a.captureAddress();
  const { spec } = a;
  const step = redirectStep(spec, a.status, headers.location, a.hops?.length ?? 0, a.visited ?? EMPTY);
  if (step !== undefined && 'error' in step) {
    a.finish(step.error);
    return;
  }
  a.next = step?.next;
  if (!readBody(a, spec, s, headers['content-length'])) return;
  s.on('end', () => {
    if (a.done || a.release !== release) return;
    const next = a.next;
    if (next === undefined) {
      a.finish(hooks.verdict(a, rawHeaders(headers)));
      return;
    }
    // The hop's body was read: its stream (and a fresh session) is done; on to the next request.
    a.release = undefined;
    release(undefined);
    a.nextHop(next);
    hooks.send(a);
  });
}

const EMPTY: ReadonlySet<string> = new Set();

/** Node's rawHeaders shape (name, value, ...) without the pseudo-headers, for the header checks. */
function rawHeaders(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push(name, v);
    else out.push(name, String(value));
  }
  return out;
}
