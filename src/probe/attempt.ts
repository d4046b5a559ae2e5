// One HTTP attempt over node:http / node:https. Request and socket events are
// wired to a PhaseClock (timing) and to the classifiers in errors.ts (what a
// failure is called). Never rejects: every failure becomes an AttemptError.
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import { formatHostPort } from '../common/address.js';
import { timerDelay } from '../common/timers.js';
import { PhaseClock } from './clock.js';
import {
  abortError,
  badStatusError,
  classifyError,
  classifyTimeout,
  resetError,
  type FailureContext,
  type TimeoutContext,
} from './errors.js';
import { checkBody, checkHeaders, checkTls, readBody } from './checks.js';
import { familyOf, type IpFamily } from './family.js';
import { type H2Hooks, type H2Pool, sendH2, usesH2 } from './h2.js';
import { literalDenial, lookupFor } from './policy.js';
import { connectTarget, proxiedRequestOptions, proxyBlame, proxyTargetUrl, type TunnelHooks } from './proxy.js';
import { hopOf, redirectStep } from './redirect.js';
import { requestHeaders } from './request.js';
import { tlsInfo, tlsRequestOptions } from './tls.js';
import { statusExpected } from './validate.js';
import type { AttemptError, AttemptResult, Hop, ProbeSpec, TlsInfo } from './types.js';

export { USER_AGENT } from './request.js';

export interface AttemptOptions {
  /** 1-based sequence number to stamp on the result. */
  readonly seq: number;
  /** Aborting destroys the request at once; the result is ABORTED. */
  readonly signal?: AbortSignal;
  /** Covers DNS through the last body byte. */
  readonly timeoutMs: number;
  /**
   * Agent to send through. Default: none (`agent: false`), i.e. a fresh
   * connection per attempt. Pass a keep-alive Agent to reuse connections.
   */
  readonly agent?: http.Agent;
  /**
   * The timeout is the caller's deadline rather than the probe's own timeout,
   * so its expiry is reported as ABORTED, not TIMEOUT.
   */
  readonly timeoutIsDeadline?: boolean;
  /** HTTP/2 sessions kept for the run (reuse_connections); unset: a session per attempt. */
  readonly h2Pool?: H2Pool;
}

/**
 * Everything http.request needs that depends only on the spec, built once per
 * spec: passing the URL made Node re-read it (urlToHttpOptions) and copy the
 * headers through setHeader on every attempt. Headers go as a raw array (Node
 * writes them as given), so Host and Authorization are ours to add. Node
 * copies the options object, so one serves every attempt.
 */
const BY_SPEC = new WeakMap<ProbeSpec, https.RequestOptions>();
const BY_AGENT = new WeakMap<http.Agent, { spec: ProbeSpec; options: https.RequestOptions }>();

function baseOptions(spec: ProbeSpec): https.RequestOptions {
  let options = BY_SPEC.get(spec);
  if (options === undefined) {
    const { auth, ...target } = urlToHttpOptions(spec.url);
    const headers = requestHeaders(spec, auth);
    options = { ...target, method: spec.method, agent: false, headers, ...tlsRequestOptions(spec.tls) };
    // spec.lookup, behind the target policy if there is one (built once per spec).
    const lookup = lookupFor(spec);
    if (lookup) options.lookup = lookup;
    if (spec.ipFamily !== undefined) options.family = spec.ipFamily;
    BY_SPEC.set(spec, options);
  }
  return options;
}

/** The target policy's verdict on an IP-literal host, per spec: the URL and policy are fixed. */
const LITERAL_VERDICT = new WeakMap<ProbeSpec, { denied: ReturnType<typeof literalDenial> }>();

function literalVerdict(spec: ProbeSpec): ReturnType<typeof literalDenial> {
  if (spec.targetPolicy === undefined) return undefined;
  let v = LITERAL_VERDICT.get(spec);
  if (v === undefined) {
    // With a proxy, the address the policy judges is the proxy's.
    v = { denied: literalDenial(spec.targetPolicy, connectTarget(spec).url) };
    LITERAL_VERDICT.set(spec, v);
  }
  return v.denied;
}

/**
 * Do a spec's one-off work (request options, the policy's compiled ranges and
 * its verdict on an IP literal) now, outside any attempt: done lazily it fell
 * inside attempt #1's timed window, on a fresh server ~4x the rest.
 */
export function prepareSpec(spec: ProbeSpec): void {
  literalVerdict(spec);
  baseOptions(spec);
}

function requestOptions(spec: ProbeSpec, agent: http.Agent | undefined): https.RequestOptions {
  if (agent === undefined) return baseOptions(spec);
  const cached = BY_AGENT.get(agent);
  if (cached?.spec === spec) return cached.options;
  const options = { ...baseOptions(spec), agent };
  BY_AGENT.set(agent, { spec, options });
  return options;
}
// Once the response has arrived the connection is up and any handshake done.
const RESPONDED: FailureContext = Object.freeze({ connected: true, secured: true });

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * What one attempt has seen so far; finish() turns it into the result, once.
 * Following a redirect (nextHop) records the hop and starts the per-request
 * state (spec, clock, socket, status ...) afresh for the next one.
 */
export class Attempt {
  readonly startedAt = Date.now();
  clock = new PhaseClock();
  /** Start of the first request: latency covers every hop. Reset by begin(). */
  t0 = this.clock.t0;
  isTls: boolean;
  /** The redirects followed, and every URL requested (loop detection); set when following. */
  hops: Hop[] | undefined;
  visited: Set<string> | undefined;
  /** The spec of the hop this response redirects to, sent once its body ends. */
  next: ProbeSpec | undefined;
  req: http.ClientRequest | undefined;
  socket: Socket | undefined;
  status: number | undefined;
  httpVersion: string | undefined;
  remoteAddress: string | undefined;
  tls: TlsInfo | undefined;
  ipFamily: IpFamily | undefined;
  bodyBytes = 0;
  /** The body as read, kept only when a body check needs it (bounded by the body cap). */
  chunks: Buffer[] | undefined;
  done = false;
  timer: NodeJS.Timeout | undefined;
  /** spec.proxy, https://: the TCP connection to the proxy this request's tunnel runs on (proxy.ts). */
  tunnel: Socket | undefined;
  /** The h2 path's clean-up for the current request (h2.ts); finish() calls it once. */
  release: ((error: AttemptError | undefined) => void) | undefined;

  // Kept as fields: finish() removes them again (a pooled socket must carry no listeners of ours).
  readonly onLookup = (): void => this.clock.mark('lookup'); // a failed lookup arrives as the request's 'error'
  readonly onConnect = (): void => {
    this.clock.mark('connect');
    this.captureAddress();
  };
  readonly onSecure = (): void => {
    this.clock.mark('secure');
    this.captureTls();
  };
  readonly onAbort = (): void => this.abort();
  private hooks: TunnelHooks | undefined;

  /** The tunnel's own events (it is made before the request has a socket); built only when proxying. */
  tunnelHooks(): TunnelHooks {
    this.hooks ??= {
      opened: (raw) => {
        this.tunnel = raw;
      },
      lookup: () => this.clock.mark('lookup'),
      connect: () => {
        this.clock.mark('connect');
        const raw = this.tunnel;
        if (raw?.remoteAddress) {
          this.remoteAddress = formatHostPort(raw.remoteAddress, raw.remotePort);
          this.ipFamily = familyOf(raw.remoteFamily);
        }
      },
      replied: () => this.clock.mark('proxy'),
    };
    return this.hooks;
  }

  constructor(
    /** The current request's spec: the caller's, then each redirect hop's. */
    public spec: ProbeSpec,
    readonly opts: AttemptOptions,
    private readonly resolve: (result: AttemptResult) => void,
  ) {
    this.isTls = spec.url.protocol === 'https:';
    if (spec.followRedirects) this.visited = new Set([spec.url.href]);
  }

  /**
   * Start timing: after the attempt's own set-up (abort listener, timer),
   * right before the request, where a bare client takes its t0. An
   * AbortSignal listener alone is ~5-10 µs (measured), each attempt.
   */
  begin(): void {
    this.clock.restart();
    this.t0 = this.clock.t0;
  }

  /** Ends the attempt as ABORTED (destroying its request), as its signal's abort does. */
  abort(): void {
    this.finish(abortError(true));
  }

  /** The caller's agent serves hops of its own scheme only (an http.Agent cannot speak TLS). */
  agent(): http.Agent | undefined {
    const { agent } = this.opts;
    return agent !== undefined && agent instanceof https.Agent === this.isTls ? agent : undefined;
  }

  detachSocket(): void {
    const s = this.socket;
    if (s) {
      s.off('lookup', this.onLookup);
      s.off('connect', this.onConnect);
      s.off('secureConnect', this.onSecure);
    }
  }

  /** The redirect response ended: record it as a hop and start afresh for `next`. */
  nextHop(next: ProbeSpec): void {
    if (this.clock.endAt === undefined) this.clock.mark('end');
    this.detachSocket();
    const hop = hopOf(this.spec, this.status ?? 0, next.url, this.clock, this.remoteAddress);
    if (this.hops === undefined) this.hops = [hop];
    else this.hops.push(hop);
    this.visited?.add(next.url.href);
    this.spec = next;
    this.isTls = next.url.protocol === 'https:';
    this.clock = new PhaseClock();
    this.req = undefined;
    this.socket = undefined;
    this.tunnel = undefined;
    this.status = undefined;
    this.httpVersion = undefined;
    this.remoteAddress = undefined;
    this.bodyBytes = 0;
    this.next = undefined;
  }

  /** How far the attempt got, for classifyError. */
  stage(): FailureContext {
    return { connected: this.clock.connected, secured: !this.isTls || this.clock.secured };
  }

  timeoutStage(): TimeoutContext {
    const c = this.clock;
    return {
      ...this.stage(),
      lookedUp: c.lookupAt !== undefined,
      responded: c.responseAt !== undefined,
      bodyBytes: this.bodyBytes,
      tunnelling: this.tunnel !== undefined && c.proxyAt === undefined,
    };
  }

  captureAddress(): void {
    const s = this.socket;
    if (s && this.remoteAddress === undefined && s.remoteAddress) {
      this.remoteAddress = formatHostPort(s.remoteAddress, s.remotePort);
      this.ipFamily = familyOf(s.remoteFamily);
    }
  }

  captureTls(): void {
    if (this.isTls && this.tls === undefined && this.socket) this.tls = tlsInfo(this.socket as TLSSocket);
  }

  onSocket(s: Socket, req: http.ClientRequest): void {
    // h2.ts dialled this socket itself (HTTP/1.1 after ALPN) and already marks its events.
    if (this.done || s === this.socket) return;
    this.socket = s;
    if (this.tunnel !== undefined && !req.reusedSocket) {
      // A tunnel made for this request: its hooks marked dns, connect and proxy; TLS runs on top.
      if (this.isTls) s.once('secureConnect', this.onSecure);
      return;
    }
    // req.reusedSocket: Node's own flag for a socket taken from the keep-alive pool.
    if (req.reusedSocket || (!s.connecting && s.remoteAddress !== undefined)) {
      this.clock.markReused();
      this.captureAddress();
      this.captureTls();
      return;
    }
    s.once('lookup', this.onLookup);
    s.once('connect', this.onConnect);
    if (this.isTls) s.once('secureConnect', this.onSecure);
  }

  finish(failure?: AttemptError): void {
    let error = failure;
    if (this.done) return;
    this.done = true;
    // Already marked when the body ended (wireResponse); else now.
    if (this.clock.endAt === undefined) this.clock.mark('end');
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.detachSocket();
    if (error && this.req && !this.req.destroyed) this.req.destroy();
    const release = this.release;
    this.release = undefined;
    release?.(error);
    if (error && this.tunnel && !this.tunnel.destroyed) this.tunnel.destroy();
    if (error && this.spec.proxy) error = proxyBlame(error, this.spec.proxy, this.clock.connected);

    const result: Mutable<AttemptResult> = {
      seq: this.opts.seq,
      startedAt: this.startedAt,
      latencyMs: (this.clock.endAt ?? this.clock.t0) - this.t0,
      phases: this.clock.phases(),
      bodyBytes: this.bodyBytes,
      reused: this.clock.reused,
    };
    if (this.status !== undefined) result.status = this.status;
    if (this.httpVersion !== undefined) result.httpVersion = this.httpVersion;
    if (this.remoteAddress !== undefined) result.remoteAddress = this.remoteAddress;
    if (this.tls !== undefined) result.tls = this.tls;
    if (this.ipFamily !== undefined) result.ipFamily = this.ipFamily;
    if (error) result.error = error;
    if (this.hops !== undefined) result.hops = this.hops;
    if (this.spec.proxy !== undefined) result.proxied = true;
    this.resolve(result);
  }
}

/** Make one request for `spec` and describe what happened (timeouts: see classifyTimeout). */
export function runAttempt(spec: ProbeSpec, opts: AttemptOptions): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => launchAttempt(new Attempt(spec, opts, resolve)));
}

/**
 * Start `a`; its result goes to the callback it was made with, possibly at
 * once. The scheduler's way in: it ends attempts with `a.abort()` rather than
 * an AbortSignal each (an AbortController, its listener and a promise per
 * attempt were ~10 of ~50 µs CPU per attempt at c=32: docs/performance.md).
 */
export function launchAttempt(a: Attempt): void {
  const { signal } = a.opts;
  if (signal?.aborted) {
    a.finish(abortError(false));
    return;
  }
  // An IP-literal host is never looked up: the policy is checked before any socket opens (and timer starts).
  const denied = literalVerdict(a.spec);
  if (denied) {
    a.finish(classifyError(denied, a.stage()));
    return;
  }
  signal?.addEventListener('abort', a.onAbort, { once: true });
  // One timer covers every hop (armed a few µs before t0: never later).
  a.timer = setTimeout(onTimeout, timerDelay(a.opts.timeoutMs), a);
  a.begin();
  send(a);
}

/** Send the request of a.spec (the first, or a redirect hop). */
function send(a: Attempt): void {
  const { spec } = a;
  // A hop to an IP literal is checked like the first request (launchAttempt did that one); a
  // hop to a name goes through lookupFor.
  const denied = a.hops === undefined ? undefined : literalVerdict(spec);
  if (denied) {
    a.finish(classifyError(denied, a.stage()));
    return;
  }
  if (spec.httpVersion !== undefined && usesH2(spec)) sendH2(a, a.opts.h2Pool, H2_HOOKS);
  else sendHttp1(a);
}

/** HTTP/1.1: through the agent (or a fresh connection), or on `socket` that h2.ts dialled when ALPN fell back. */
function sendHttp1(a: Attempt, socket?: Socket): void {
  const { spec } = a;
  try {
    const options =
      socket !== undefined
        ? { ...baseOptions(spec), agent: undefined, createConnection: () => socket }
        : spec.proxy
          ? proxiedRequestOptions(baseOptions(spec), spec, a.agent(), a.tunnelHooks())
          : requestOptions(spec, a.agent());
    const req = (a.isTls ? https : http).request(options);
    a.req = req;
    wireRequest(a, req);
    // ttfb still starts when the connection is ready, so it includes sending the body.
    if (spec.body) req.end(spec.body);
    else req.end();
  } catch (err) {
    // Synchronous throws are rare here (the spec is validated): report them.
    a.finish(classifyError(err, a.stage()));
  }
}

function onTimeout(a: Attempt): void {
  const { spec } = a;
  a.finish(classifyTimeout(a.timeoutStage(), spec.proxy ? proxyTargetUrl(spec.proxy) : spec.url, a.opts));
}

function closedUnexplained(a: Attempt, req: http.ClientRequest): void {
  if (a.req === req) a.finish(resetError('response'));
}

/** The listeners of one request (each hop's; an earlier hop's request no longer speaks for the attempt). */
function wireRequest(a: Attempt, req: http.ClientRequest): void {
  req.on('socket', (s: Socket) => a.onSocket(s, req));
  req.on('error', (err) => {
    if (a.req === req) a.finish(classifyError(err, a.stage()));
  });
  // Fallback: a close that no other event explained.
  req.on('close', () => {
    if (!a.done && a.req === req) setImmediate(closedUnexplained, a, req);
  });
  req.on('response', (res: http.IncomingMessage) => wireResponse(a, res));
}

function wireResponse(a: Attempt, res: http.IncomingMessage): void {
  a.clock.mark('response');
  a.status = res.statusCode;
  a.httpVersion = res.httpVersion;
  a.captureAddress();
  const { spec } = a;
  const location = res.headers.location;
  const step = redirectStep(spec, a.status, location, a.hops?.length ?? 0, a.visited ?? EMPTY);
  if (step !== undefined && 'error' in step) {
    a.finish(step.error);
    return;
  }
  a.next = step?.next;

  res.on('error', (err) => a.finish(classifyError(err, RESPONDED)));
  res.on('close', () => {
    if (!res.complete) a.finish(resetError('body'));
  });
  if (!readBody(a, spec, res, res.headers['content-length'])) return;
  // The body's last byte, marked ahead of Node's own 'end' listener: with a
  // keep-alive agent that one re-arms the socket's idle timer and keep-alive
  // (~40 µs measured), client work after the response that is not its latency.
  const clock = a.clock;
  res.prependListener('end', () => {
    if (!a.done && a.clock === clock) clock.mark('end');
  });
  res.on('end', () => {
    const next = a.next;
    if (next === undefined || a.done) {
      a.finish(responseError(a, res.rawHeaders));
      return;
    }
    // The hop's body was read (for its transfer phase): on to the next request.
    a.nextHop(next);
    send(a);
  });
}

const EMPTY: ReadonlySet<string> = new Set();

/** Status first, then header checks, then body checks: the first that fails names the attempt. */
function responseError(a: Attempt, rawHeaders: readonly string[]): AttemptError | undefined {
  const { spec, status } = a;
  if (status !== undefined && !statusExpected(status, spec.expectedStatus)) {
    return badStatusError(status, spec.expectedStatus);
  }
  return (
    checkHeaders(spec, rawHeaders) ?? (a.chunks ? checkBody(spec, a.chunks) : undefined) ?? checkTls(spec, a.isTls)
  );
}

const H2_HOOKS: H2Hooks = { http1: sendHttp1, send, verdict: responseError };
