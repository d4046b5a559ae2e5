// One HTTP attempt over node:http / node:https, timed per phase from socket
// events on a monotonic clock. Never rejects: every failure becomes an
// AttemptError.
import http from 'node:http';
import https from 'node:https';
import { isIP, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { classifyError, isTemporaryStatus } from './errors.js';
import { statusExpected } from './validate.js';
import type { AttemptError, AttemptResult, Phases, ProbeSpec } from './types.js';

export const USER_AGENT = 'prober/0.1';

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
}

function fail(reason: AttemptError['reason'], message: string, temporary: boolean, code?: string): AttemptError {
  return code === undefined ? { reason, message, temporary } : { reason, message, temporary, code };
}

function formatAddress(address: string | undefined, port: number | undefined): string | undefined {
  if (address === undefined || address === '') return undefined;
  const host = address.includes(':') ? `[${address}]` : address;
  return port === undefined ? host : `${host}:${port}`;
}

function rangesText(spec: ProbeSpec): string {
  return spec.expectedStatus.map((r) => (r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`)).join(', ');
}

function ms(n: number): string {
  return `${Math.round(n * 10) / 10} ms`;
}

/**
 * Make one request for `spec` and describe what happened.
 *
 * Timeout classification: one timer covers the whole attempt. If it fires
 * while the host name is still being resolved the reason is DNS (the resolver
 * is what hung); before the TCP connection is up it is CONNECT_TIMEOUT; after
 * that (TLS handshake, waiting for headers, reading the body) it is TIMEOUT.
 */
export function runAttempt(spec: ProbeSpec, opts: AttemptOptions): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    const { signal, seq } = opts;
    const startedAt = Date.now();
    const t0 = performance.now();
    const isTls = spec.url.protocol === 'https:';
    const hostname = spec.url.hostname.replace(/^\[|\]$/g, '');
    const needsLookup = isIP(hostname) === 0;

    let req: http.ClientRequest | undefined;
    let socket: Socket | undefined;
    let reused = false;
    let lookupAt: number | undefined;
    let connectAt: number | undefined;
    let secureAt: number | undefined;
    let responseAt: number | undefined;
    let status: number | undefined;
    let httpVersion: string | undefined;
    let remoteAddress: string | undefined;
    let bodyBytes = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;

    const connected = (): boolean => reused || connectAt !== undefined;
    const secured = (): boolean => reused || !isTls || secureAt !== undefined;
    const captureAddress = (): void => {
      if (socket && remoteAddress === undefined) remoteAddress = formatAddress(socket.remoteAddress, socket.remotePort);
    };

    const onLookup = (err: Error | null): void => {
      lookupAt = performance.now();
      void err; // the request's 'error' event carries it
    };
    const onConnect = (): void => {
      connectAt = performance.now();
      captureAddress();
    };
    const onSecure = (): void => {
      secureAt = performance.now();
    };

    const finish = (error?: AttemptError): void => {
      if (done) return;
      done = true;
      const end = performance.now();
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (socket) {
        // The socket may go back to a keep-alive pool: leave no listeners on it.
        socket.off('lookup', onLookup);
        socket.off('connect', onConnect);
        socket.off('secureConnect', onSecure);
      }
      if (error && req && !req.destroyed) req.destroy();

      const phases: { -readonly [K in keyof Phases]: Phases[K] } = {};
      if (!reused) {
        if (lookupAt !== undefined) phases.dnsMs = lookupAt - t0;
        if (connectAt !== undefined) phases.connectMs = connectAt - (lookupAt ?? t0);
        if (secureAt !== undefined && connectAt !== undefined) phases.tlsMs = secureAt - connectAt;
      }
      const readyAt = reused ? t0 : (secureAt ?? connectAt);
      if (responseAt !== undefined) {
        if (readyAt !== undefined) phases.ttfbMs = responseAt - readyAt;
        phases.transferMs = end - responseAt;
      }

      const result: { -readonly [K in keyof AttemptResult]: AttemptResult[K] } = {
        seq,
        startedAt,
        latencyMs: end - t0,
        phases,
        bodyBytes,
        reused,
      };
      if (status !== undefined) result.status = status;
      if (httpVersion !== undefined) result.httpVersion = httpVersion;
      if (remoteAddress !== undefined) result.remoteAddress = remoteAddress;
      if (error) result.error = error;
      resolve(result);
    };

    function onAbort(): void {
      finish(fail('ABORTED', 'attempt aborted: the call was cancelled', true));
    }

    if (signal?.aborted) {
      finish(fail('ABORTED', 'attempt aborted before it started: the call was cancelled', true));
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const onTimeout = (): void => {
      const limit = ms(opts.timeoutMs);
      if (opts.timeoutIsDeadline) {
        finish(fail('ABORTED', `attempt aborted after ${limit}: the call's deadline arrived`, true));
      } else if (!connected()) {
        if (needsLookup && lookupAt === undefined) {
          finish(fail('DNS', `DNS lookup of ${hostname} did not finish within ${limit}`, true, 'ETIMEOUT'));
        } else {
          finish(fail('CONNECT_TIMEOUT', `TCP connect to ${spec.url.host} did not finish within ${limit}`, true, 'ETIMEDOUT'));
        }
      } else {
        const stage = !secured()
          ? 'during the TLS handshake'
          : responseAt === undefined
            ? 'waiting for response headers'
            : `reading the body (${bodyBytes} bytes so far)`;
        finish(fail('TIMEOUT', `timed out after ${limit} ${stage}`, true, 'ETIMEDOUT'));
      }
    };
    // setTimeout overflows above 2^31-1 ms; validation keeps real timeouts far below.
    timer = setTimeout(onTimeout, Math.min(Math.max(0, opts.timeoutMs), 2 ** 31 - 1));

    const options: https.RequestOptions = {
      method: spec.method,
      agent: opts.agent ?? false,
      headers: { 'user-agent': USER_AGENT, accept: '*/*' },
    };
    if (spec.lookup) options.lookup = spec.lookup;

    try {
      req = (isTls ? https : http).request(spec.url, options);
      wire(req);
      req.end();
    } catch (err) {
      // Synchronous throws are rare here (the spec is validated): report them.
      finish(classifyError(err, { connected: connected(), secured: secured() }));
    }

    function wire(req: http.ClientRequest): void {
      req.on('socket', (s: Socket) => {
        if (done) return;
        socket = s;
        // req.reusedSocket: Node's own flag for a socket taken from the keep-alive pool.
        if (req.reusedSocket || (!s.connecting && s.remoteAddress !== undefined)) {
          reused = true;
          captureAddress();
          return;
        }
        s.once('lookup', onLookup);
        s.once('connect', onConnect);
        if (isTls) s.once('secureConnect', onSecure);
      });

      req.on('error', (err) => {
        finish(classifyError(err, { connected: connected(), secured: secured() }));
      });

      // Fallback: a close that no other event explained.
      req.on('close', () => {
        if (done) return;
        setImmediate(() =>
          finish(fail('RESET', 'connection closed before the response completed', true, 'ECONNRESET')),
        );
      });

      req.on('response', (res: http.IncomingMessage) => {
        responseAt = performance.now();
        status = res.statusCode;
        httpVersion = res.httpVersion;
        captureAddress();
        const ctx = { connected: true, secured: true };

        res.on('error', (err) => finish(classifyError(err, ctx)));
        res.on('close', () => {
          if (!res.complete) {
            finish(fail('RESET', 'connection closed before the body was complete', true, 'ECONNRESET'));
          }
        });

        const tooLarge = (got: string): AttemptError =>
          fail('BODY_TOO_LARGE', `response body ${got} exceeds the limit of ${spec.maxBodyBytes} bytes`, false);

        if (spec.method !== 'HEAD') {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > spec.maxBodyBytes) {
            finish(tooLarge(`of ${declared} bytes (content-length)`));
            return;
          }
        }
        res.on('data', (chunk: Buffer) => {
          bodyBytes += chunk.length;
          if (bodyBytes > spec.maxBodyBytes) finish(tooLarge(`(over ${bodyBytes} bytes read)`));
        });
        res.on('end', () => {
          if (status !== undefined && !statusExpected(status, spec.expectedStatus)) {
            finish(
              fail(
                'BAD_STATUS',
                `status ${status} is not in the expected ${rangesText(spec)}`,
                isTemporaryStatus(status),
              ),
            );
          } else {
            finish();
          }
        });
      });
    }
  });
}
