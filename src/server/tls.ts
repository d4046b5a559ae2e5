// gRPC server TLS from files, re-readable while serving. grpc-js fixes
// ServerCredentials.createSsl() at bind; credentials built on a
// CertificateProvider instead are watched by the server, which calls
// setSecureContext() on its TLS listener for every update: new connections
// get the new certificate, established ones (and their calls) keep theirs.
// No grpc-js import at run time here: config.ts (loaded by `serve --help`)
// checks the files through loadTlsMaterial.
import type { experimental } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { ConfigError } from '../common/errors.js';

export interface TlsInput {
  /** PEM certificate chain the server presents. */
  readonly certFile: string;
  /** PEM private key of certFile. */
  readonly keyFile: string;
  /** PEM CA(s): when set, clients must present a certificate signed by one (mTLS). */
  readonly clientCaFile?: string;
}

/** How the caller names each file in errors (`--tls-cert`, ...). */
export interface TlsOptionNames {
  readonly certFile: string;
  readonly keyFile: string;
  readonly clientCaFile: string;
}

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly clientCa: Buffer | undefined;
  /** For logs: subject, fingerprint and expiry of the leaf certificate. */
  readonly describe: { readonly subject: string; readonly sha256: string; readonly validTo: string };
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const code = (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
    throw new ConfigError(option, `${option}: cannot read ${path} (${code})`);
  }
}

/** Node's reason, without anything from the file itself. */
function reason(err: unknown): string {
  return err instanceof Error ? err.message.replace(/^error:[0-9A-F]+:/, '') : String(err);
}

/** Reads and checks the files (each parses, the key matches the certificate); ConfigError naming the file at fault. */
export function loadTlsMaterial(input: TlsInput, names: TlsOptionNames): TlsMaterial {
  const cert = readPem(input.certFile, names.certFile);
  const key = readPem(input.keyFile, names.keyFile);
  const clientCa = input.clientCaFile === undefined ? undefined : readPem(input.clientCaFile, names.clientCaFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new ConfigError(names.certFile, `${names.certFile}: not a PEM certificate: ${reason(err)}`);
  }
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(names.keyFile, `${names.keyFile}: unusable with ${names.certFile}: ${reason(err)}`);
  }
  if (clientCa !== undefined) {
    try {
      new X509Certificate(clientCa);
      createSecureContext({ ca: clientCa });
    } catch (err) {
      throw new ConfigError(names.clientCaFile, `${names.clientCaFile}: not a PEM CA certificate: ${reason(err)}`);
    }
  }
  const sha256 = leaf.fingerprint256.replaceAll(':', '').slice(0, 16).toLowerCase();
  return {
    cert,
    key,
    clientCa,
    describe: { subject: leaf.subject.replace(/\n/g, ', '), sha256, validTo: leaf.validTo },
  };
}

/**
 * A grpc-js CertificateProvider (identity and client CA) whose material
 * changes only when reload() succeeds: a half-written or bad file keeps the
 * previous certificate rather than leaving the server without one.
 */
export class ReloadableCertificates implements experimental.CertificateProvider {
  private readonly identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  private readonly caListeners = new Set<experimental.CaCertificateUpdateListener>();
  private current: TlsMaterial;

  constructor(
    private readonly input: TlsInput,
    private readonly names: TlsOptionNames,
    initial: TlsMaterial = loadTlsMaterial(input, names),
  ) {
    this.current = initial;
  }

  get material(): TlsMaterial {
    return this.current;
  }

  get requiresClientCertificate(): boolean {
    return this.current.clientCa !== undefined;
  }

  /** Re-reads the files; throws ConfigError (and keeps the old material) when they are not usable. */
  reload(): TlsMaterial {
    this.current = loadTlsMaterial(this.input, this.names);
    for (const l of this.caListeners) this.sendCa(l);
    for (const l of this.identityListeners) this.sendIdentity(l);
    return this.current;
  }

  private sendIdentity(l: experimental.IdentityCertificateUpdateListener): void {
    l({ certificate: this.current.cert, privateKey: this.current.key });
  }

  private sendCa(l: experimental.CaCertificateUpdateListener): void {
    if (this.current.clientCa !== undefined) l({ caCertificate: this.current.clientCa });
  }

  // The first update is sent on the next tick, as grpc-js's own providers do:
  // its credentials register their listeners before the server's watcher.
  addIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.add(l);
    process.nextTick(() => this.identityListeners.has(l) && this.sendIdentity(l));
  }

  removeIdentityCertificateListener(l: experimental.IdentityCertificateUpdateListener): void {
    this.identityListeners.delete(l);
  }

  addCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(l);
    process.nextTick(() => this.caListeners.has(l) && this.sendCa(l));
  }

  removeCaCertificateListener(l: experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(l);
  }
}
