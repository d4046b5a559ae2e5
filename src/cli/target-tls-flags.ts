// TLS to the probed target: curl's -k/--insecure and --cacert, --sni,
// --tls-min, and --target-cert/--target-key (here --cert/--key already name
// the client certificate for --server, so curl's names were taken). Files are read
// while parsing, so a missing one is a usage error naming its flag; the
// request carries PEM text (the server never reads files for a client).
import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, type OptionValues } from '@commander-js/extra-typings';
import { MAX_PEM_BYTES } from '../probe/tls.js';
import type { ProbeInput } from '../probe/types.js';

export interface TargetTlsOptions {
  readonly insecure?: boolean | undefined;
  /** PEM text of the file named, as read. */
  readonly cacert?: string | undefined;
  readonly targetCert?: string | undefined;
  readonly targetKey?: string | undefined;
  readonly sni?: string | undefined;
  readonly tlsMin?: string | undefined;
}

function pemFile(path: string): string {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${path} (${(err as { code?: string }).code ?? String(err)})`);
  }
  // Checked here too so a huge file is not read into a request the server refuses anyway.
  if (text.length > MAX_PEM_BYTES) throw new InvalidArgumentError(`${path} is over ${MAX_PEM_BYTES} bytes`);
  return text.toString('utf8');
}

export function addTargetTlsOptions<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .option('-k, --insecure', "https targets: do not verify the target's certificate")
    .option('--cacert <file>', 'https targets: PEM CA certificate(s) to trust instead of the system roots', pemFile)
    .option(
      '--target-cert <file>',
      'https targets: PEM client certificate to present (mTLS; needs --target-key)',
      pemFile,
    )
    .option('--target-key <file>', 'https targets: PEM private key of --target-cert (unencrypted)', pemFile)
    .option('--sni <name>', 'https targets: server name to send and verify instead of the URL host')
    .option('--tls-min <version>', 'https targets: lowest TLS version, 1.2 or 1.3 (default: 1.2)');
}

/** The TLS fields of the request; only those given. */
export function targetTlsInput(opts: TargetTlsOptions): Partial<ProbeInput> {
  return {
    ...(opts.insecure === true ? { tlsInsecure: true } : {}),
    ...(opts.cacert !== undefined ? { tlsCaPem: opts.cacert } : {}),
    ...(opts.targetCert !== undefined ? { tlsCertPem: opts.targetCert } : {}),
    ...(opts.targetKey !== undefined ? { tlsKeyPem: opts.targetKey } : {}),
    ...(opts.sni !== undefined ? { tlsServerName: opts.sni } : {}),
    ...(opts.tlsMin !== undefined ? { tlsMinVersion: opts.tlsMin } : {}),
  };
}
