// TLS to targets: validation of the TLS fields of a ProbeInput (PEM text,
// never file paths: specs cross to the engine thread and the server must not
// read files a client names), the request options they become, and the
// facts one handshake negotiated.
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import type { ConnectionOptions, DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import { InvalidArgumentError } from './errors.js';
import type { ProbeInput, TargetTls, TlsInfo, TlsMinVersion } from './types.js';

/** Largest PEM accepted per field (a CA bundle of a few dozen certificates). */
export const MAX_PEM_BYTES = 64 * 1024;
/** Longest DNS name. */
export const MAX_SERVER_NAME_BYTES = 253;

export const TLS_FIELDS = Object.freeze({
  tlsInsecure: { proto: 'tls_insecure', flag: '-k/--insecure' },
  tlsCaPem: { proto: 'tls_ca_pem', flag: '--cacert' },
  tlsCertPem: { proto: 'tls_cert_pem', flag: '--target-cert' },
  tlsKeyPem: { proto: 'tls_key_pem', flag: '--target-key' },
  tlsServerName: { proto: 'tls_server_name', flag: '--sni' },
  tlsMinVersion: { proto: 'tls_min_version', flag: '--tls-min' },
} as const);

type TlsField = keyof typeof TLS_FIELDS;

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function bad(field: TlsField, why: string): InvalidArgumentError {
  const f = TLS_FIELDS[field].proto;
  return new InvalidArgumentError(f, `${f} ${why}`);
}

/** A PEM string field: undefined when empty; too long or not a string is an error. */
function pemField(input: ProbeInput, field: 'tlsCaPem' | 'tlsCertPem' | 'tlsKeyPem'): string | undefined {
  const value: unknown = input[field];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw bad(field, 'must be PEM text');
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > MAX_PEM_BYTES) throw bad(field, `must be at most ${MAX_PEM_BYTES} bytes (got ${bytes})`);
  return value;
}

/** Every certificate in a PEM string, parsed; at least one. */
function certificates(field: TlsField, pem: string): X509Certificate[] {
  const blocks = pem.match(CERT_BLOCK) ?? [];
  if (blocks.length === 0) throw bad(field, 'must hold at least one PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw bad(field, `certificate ${i + 1} is not a valid X.509 certificate (${(err as Error).message})`);
    }
  });
}

function privateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why =
      code === 'ERR_MISSING_PASSPHRASE' ? 'is encrypted (give an unencrypted key)' : 'is not a PEM private key';
    throw bad('tlsKeyPem', why);
  }
}

const DNS_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

function serverName(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !DNS_NAME.test(value) || isIP(value) !== 0) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 64)) : typeof value;
    throw bad(
      'tlsServerName',
      `must be a DNS name of at most ${MAX_SERVER_NAME_BYTES} bytes, not an IP address (got ${shown})`,
    );
  }
  return value;
}

function minVersion(value: unknown): TlsMinVersion | undefined {
  if (value === undefined || value === '') return undefined;
  if (value === '1.2') return 'TLSv1.2';
  if (value === '1.3') return 'TLSv1.3';
  const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 32)) : typeof value;
  throw bad('tlsMinVersion', `must be "1.2" or "1.3" (got ${shown})`);
}

/**
 * The TLS fields of `input`, checked once: PEM that parses, a key that
 * matches its certificate, bounded sizes. Undefined when none is set, so
 * the plain path carries nothing extra.
 */
export function validateTargetTls(input: ProbeInput): TargetTls | undefined {
  const insecure = input.tlsInsecure === true;
  const ca = pemField(input, 'tlsCaPem');
  const cert = pemField(input, 'tlsCertPem');
  const key = pemField(input, 'tlsKeyPem');
  if (ca !== undefined) certificates('tlsCaPem', ca);
  if (cert !== undefined && key === undefined) throw bad('tlsKeyPem', 'is required with tls_cert_pem (--target-key)');
  if (key !== undefined && cert === undefined) throw bad('tlsCertPem', 'is required with tls_key_pem (--target-cert)');
  if (cert !== undefined && key !== undefined) {
    const [leaf] = certificates('tlsCertPem', cert);
    const k = privateKey(key);
    if (leaf && !leaf.checkPrivateKey(k)) throw bad('tlsKeyPem', 'does not match the certificate in tls_cert_pem');
  }
  const servername = serverName(input.tlsServerName);
  const min = minVersion(input.tlsMinVersion);
  if (!insecure && ca === undefined && cert === undefined && servername === undefined && min === undefined) {
    return undefined;
  }
  return Object.freeze({
    insecure,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
    ...(servername !== undefined ? { servername } : {}),
    ...(min !== undefined ? { minVersion: min } : {}),
  });
}

/** Request options for `tls` (Node passes them to tls.connect and keys agent pools by them). */
export function tlsRequestOptions(tls: TargetTls | undefined): ConnectionOptions {
  if (tls === undefined) return {};
  return {
    ...(tls.insecure ? { rejectUnauthorized: false } : {}),
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert, key: tls.key } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
    ...(tls.minVersion !== undefined ? { minVersion: tls.minVersion } : {}),
  };
}

/** Earliest notAfter over the peer's chain, in Unix seconds. */
export function earliestExpiry(cert: PeerCertificate | DetailedPeerCertificate): number | undefined {
  return chainExpiry(cert).earliest;
}

/**
 * notAfter bounds of the peer's chain, in Unix seconds. Node completes the
 * chain with issuers from the trust store and does not say which ones the
 * server sent, so `earliest` leaves out the self-signed root (servers do not
 * send it; blackbox's probe_ssl_earliest_cert_expiry covers what was sent)
 * and `lastChain` covers the whole chain, root included.
 */
export function chainExpiry(cert: PeerCertificate | DetailedPeerCertificate): {
  earliest?: number;
  lastChain?: number;
} {
  let earliest: number | undefined;
  let lastChain: number | undefined;
  const seen = new Set<string>();
  let c: PeerCertificate | DetailedPeerCertificate | undefined = cert;
  while (c?.fingerprint256 && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    const t = Date.parse(c.valid_to) / 1000;
    const issuer: PeerCertificate | DetailedPeerCertificate | undefined =
      'issuerCertificate' in c ? c.issuerCertificate : undefined;
    const selfSigned = issuer?.fingerprint256 === c.fingerprint256;
    if (Number.isFinite(t)) {
      lastChain = lastChain === undefined ? t : Math.min(lastChain, t);
      if (!selfSigned || seen.size === 1) earliest = earliest === undefined ? t : Math.min(earliest, t);
    }
    c = issuer;
  }
  return { ...(earliest !== undefined ? { earliest } : {}), ...(lastChain !== undefined ? { lastChain } : {}) };
}

// Per socket: a kept-alive connection's later attempts report the same facts without re-reading the chain.
const FACTS = new WeakMap<TLSSocket, TlsInfo>();

/** What the handshake of `socket` negotiated; undefined before it finished. */
export function tlsInfo(socket: TLSSocket): TlsInfo | undefined {
  const known = FACTS.get(socket);
  if (known !== undefined) return known;
  const version = socket.getProtocol();
  if (!version || version === 'unknown') return undefined;
  const alpn = socket.alpnProtocol;
  const { earliest: expiry, lastChain } = chainExpiry(socket.getPeerCertificate(true));
  const info: TlsInfo = Object.freeze({
    version,
    cipher: socket.getCipher()?.name ?? '',
    ...(typeof alpn === 'string' && alpn !== '' ? { alpnProtocol: alpn } : {}),
    sessionResumed: socket.isSessionReused(),
    ...(expiry !== undefined ? { earliestCertExpiry: Math.floor(expiry) } : {}),
    ...(lastChain !== undefined ? { lastChainExpiry: Math.floor(lastChain) } : {}),
  });
  FACTS.set(socket, info);
  return info;
}
