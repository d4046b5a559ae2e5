// How a connection is secured: TLS (system roots or a CA, optionally a
// client certificate) and a bearer token. Returns the channel credentials and
// the channel options connect() hands grpc-js.
import * as grpc from '@grpc/grpc-js';
import { isLoopbackHost, splitHostPort } from '../common/address.js';
import { ConfigError } from '../common/errors.js';

export interface ClientTls {
  /** PEM CA certificate(s) to trust instead of the system roots. */
  readonly ca?: Buffer;
  /** PEM client certificate and key (mTLS); both or neither. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** The name the server's certificate must carry, when not the address's host. */
  readonly serverName?: string;
}

export interface Security {
  /** TLS on (true: system roots, no client certificate); unset: plaintext. */
  readonly tls?: ClientTls | true;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
}

function bearer(token: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
}

/**
 * Adds the token to every call on a plaintext channel. grpc-js applies call
 * credentials only over TLS; on loopback (tests, a local serve) there is
 * nobody on the wire to hide the token from.
 */
function tokenInterceptor(token: string): grpc.Interceptor {
  return (options, nextCall) =>
    new grpc.InterceptingCall(nextCall(options), {
      start(metadata, listener, next) {
        metadata.merge(bearer(token));
        next(metadata, listener);
      },
    });
}

/**
 * The hosts a gRPC target names: `host:port`, `dns:[//authority/]host:port`,
 * or the fixed lists `ipv4:a:p,b:p` / `ipv6:[a]:p,[b]:p` (ports optional).
 */
export function targetHosts(address: string): string[] {
  const scheme = /^(dns|ipv4|ipv6):(?:\/\/[^/]*\/)?(.*)$/.exec(address);
  const rest = scheme === null ? address : (scheme[2] ?? '');
  const parts = scheme !== null && scheme[1] !== 'dns' ? rest.split(',') : [rest];
  return parts.map((p) => splitHostPort(p)?.host ?? p.replace(/^\[|\]$/g, ''));
}

/** Whether every host the target names is this machine (unix sockets are). */
function onlyLoopback(address: string): boolean {
  if (/^unix(-abstract)?:/.test(address)) return true;
  return targetHosts(address).every(isLoopbackHost);
}

/** Credentials and channel options for `address`; ConfigError for a token that would cross the network in clear. */
export function channelSecurity(
  address: string,
  security: Security,
): { credentials: grpc.ChannelCredentials; options: Partial<grpc.ChannelOptions> } {
  const { tls, token } = security;
  if (tls === undefined) {
    if (token === undefined) return { credentials: grpc.credentials.createInsecure(), options: {} };
    if (!onlyLoopback(address)) {
      throw new ConfigError('--token-file', `a token is sent only over TLS to ${address} (add --tls or --ca)`);
    }
    return { credentials: grpc.credentials.createInsecure(), options: { interceptors: [tokenInterceptor(token)] } };
  }
  const t: ClientTls = tls === true ? {} : tls;
  if ((t.cert === undefined) !== (t.key === undefined)) {
    throw new ConfigError(
      t.cert === undefined ? '--cert' : '--key',
      'a client certificate needs both --cert and --key',
    );
  }
  let credentials = grpc.credentials.createSsl(t.ca ?? null, t.key ?? null, t.cert ?? null);
  if (token !== undefined) {
    const perCall = grpc.credentials.createFromMetadataGenerator((_params, cb) => cb(null, bearer(token)));
    credentials = grpc.credentials.combineChannelCredentials(credentials, perCall);
  }
  const options: Partial<grpc.ChannelOptions> =
    t.serverName === undefined
      ? {}
      : { 'grpc.ssl_target_name_override': t.serverName, 'grpc.default_authority': t.serverName };
  return { credentials, options };
}
