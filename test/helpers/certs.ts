// Throwaway certificates made at test time with the `openssl` command (no
// key is ever committed): a CA, server certificates with the SANs clients
// check (127.0.0.1, ::1, localhost by default) and client certificates for
// mTLS. Everything lives in one temp dir, removed when the test ends.
//
//   const pki = await testPki(t);              // CA + server + client cert
//   pki.ca.certFile, pki.server.{certFile,keyFile,cert,key}, pki.client…
//   const other = await pki.newCa('rogue CA'); // "wrong CA" cases
//   const c = await pki.issue({ cn: 'alice', usage: 'client', ca: other });
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A certificate and its key: paths, and the PEM text for in-process use. */
export interface CertPair {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
}

export type KeyType = 'ec' | 'rsa';

export interface IssueOptions {
  /** Subject CN; also the file name stem. */
  readonly cn: string;
  /** 'server' (serverAuth) or 'client' (clientAuth). */
  readonly usage: 'server' | 'client';
  /** subjectAltName entries, "DNS:x" / "IP:1.2.3.4" / "URI:…" / "email:…". Default for servers: localhost and loopback. */
  readonly sans?: readonly string[];
  /** Signing CA; default the PKI's own. */
  readonly ca?: CertPair;
  /** Default 'ec' (P-256, fast). */
  readonly keyType?: KeyType;
  /** Validity in days from now; default 2. */
  readonly days?: number;
}

export interface Pki {
  readonly dir: string;
  readonly ca: CertPair;
  /** CN "localhost", SANs DNS:localhost, IP:127.0.0.1, IP:::1. */
  readonly server: CertPair;
  /** CN "prober-test-client", clientAuth. */
  readonly client: CertPair;
  newCa(cn?: string): Promise<CertPair>;
  issue(options: IssueOptions): Promise<CertPair>;
  /** Removes the directory (testPki does it in t.after). */
  cleanup(): Promise<void>;
}

export const LOOPBACK_SANS: readonly string[] = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];

function keyArgs(type: KeyType): string[] {
  return type === 'rsa' ? ['-newkey', 'rsa:2048'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
}

function stem(cn: string): string {
  return `${cn.replace(/[^A-Za-z0-9.-]+/g, '_')}-${randomBytes(3).toString('hex')}`;
}

async function pair(certFile: string, keyFile: string): Promise<CertPair> {
  return { certFile, keyFile, cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8') };
}

/** A self-signed CA in `dir`. */
export async function makeCa(dir: string, cn = 'prober test CA', keyType: KeyType = 'ec'): Promise<CertPair> {
  const base = join(dir, stem(cn));
  await run('openssl', [
    'req',
    '-x509',
    ...keyArgs(keyType),
    '-nodes',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return pair(`${base}.crt`, `${base}.key`);
}

/** A leaf certificate signed by `ca`, in `dir`. */
export async function issueCert(dir: string, ca: CertPair, options: IssueOptions): Promise<CertPair> {
  const base = join(dir, stem(options.cn));
  const sans = options.sans ?? (options.usage === 'server' ? LOOPBACK_SANS : []);
  const ext = [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    `extendedKeyUsage=${options.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
    ...(sans.length > 0 ? [`subjectAltName=${sans.join(',')}`] : []),
  ];
  await writeFile(`${base}.ext`, `${ext.join('\n')}\n`);
  await run('openssl', [
    'req',
    ...keyArgs(options.keyType ?? 'ec'),
    '-nodes',
    '-keyout',
    `${base}.key`,
    '-out',
    `${base}.csr`,
    '-subj',
    `/CN=${options.cn}`,
  ]);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    String(options.days ?? 2),
    '-extfile',
    `${base}.ext`,
    '-out',
    `${base}.crt`,
  ]);
  return pair(`${base}.crt`, `${base}.key`);
}

/** A CA with a loopback server certificate and a client certificate, in a fresh temp dir. */
export async function createPki(): Promise<Pki> {
  const dir = await mkdtemp(join(tmpdir(), 'prober-pki-'));
  const ca = await makeCa(dir);
  const [server, client] = await Promise.all([
    issueCert(dir, ca, { cn: 'localhost', usage: 'server' }),
    issueCert(dir, ca, { cn: 'prober-test-client', usage: 'client' }),
  ]);
  return {
    dir,
    ca,
    server,
    client,
    newCa: (cn) => makeCa(dir, cn),
    issue: (options) => issueCert(dir, options.ca ?? ca, options),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** createPki(), removed when the test ends. */
export async function testPki(t: { after(fn: () => unknown): void }): Promise<Pki> {
  const pki = await createPki();
  t.after(() => pki.cleanup());
  return pki;
}
