// The gRPC TLS tests' view of a throwaway PKI (helpers/certs.ts makes it):
// fixed paths for the server's files, so a renewed certificate can be written
// over them and picked up by a reload, plus a CA nobody trusts.
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createPki } from './certs.js';

export interface TlsFiles {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** A CA that signed nothing the server trusts, and a client certificate from it. */
  readonly otherCaCert: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
  /** Signs a new server certificate (new serial, CN `cn`) and writes it over serverCert/serverKey. */
  renewServer(cn?: string): Promise<void>;
  remove(): Promise<void>;
}

export async function makeTlsFiles(): Promise<TlsFiles> {
  const pki = await createPki();
  const other = await pki.newCa('other-ca');
  const intruder = await pki.issue({ cn: 'intruder', usage: 'client', ca: other });
  const serverCert = join(pki.dir, 'server.crt');
  const serverKey = join(pki.dir, 'server.key');
  const place = async (certFile: string, keyFile: string): Promise<void> => {
    await copyFile(certFile, serverCert);
    await copyFile(keyFile, serverKey);
  };
  await place(pki.server.certFile, pki.server.keyFile);
  return {
    dir: pki.dir,
    caCert: pki.ca.certFile,
    serverCert,
    serverKey,
    clientCert: pki.client.certFile,
    clientKey: pki.client.keyFile,
    otherCaCert: other.certFile,
    otherClientCert: intruder.certFile,
    otherClientKey: intruder.keyFile,
    renewServer: async (cn = 'localhost') => {
      const renewed = await pki.issue({ cn, usage: 'server' });
      await place(renewed.certFile, renewed.keyFile);
    },
    remove: () => rm(pki.dir, { recursive: true, force: true }),
  };
}
