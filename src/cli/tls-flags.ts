// The connection flags of probe, stream and watch: TLS (--tls, --ca, --cert,
// --key, --server-name) and the bearer token (--token-file, else
// $PROBER_TOKEN). Files are read here, so a missing one is a usage error
// naming its flag before anything connects.
import { readFileSync } from 'node:fs';
import type { Command, OptionValues } from '@commander-js/extra-typings';
import type { ClientTls, Security } from '../client/transport.js';
import { ConfigError } from '../common/errors.js';

export const TOKEN_ENV = 'PROBER_TOKEN';

export interface ConnectionFlags {
  readonly tls?: boolean | undefined;
  readonly ca?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly serverName?: string | undefined;
  readonly tokenFile?: string | undefined;
}

/** What the error messages may hint at: how this connection was made. */
export interface TransportContext {
  readonly tls: boolean;
  readonly clientCert: boolean;
  readonly token: boolean;
}

export function addConnectionOptions<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .option('--tls', 'connect to --server over TLS, trusting the system roots')
    .option('--ca <file>', 'PEM CA to trust for the server certificate (implies --tls)')
    .option('--cert <file>', 'PEM client certificate, for servers that require one (mTLS; implies --tls)')
    .option('--key <file>', 'PEM private key of --cert')
    .option('--server-name <name>', 'name the server certificate must carry, if not the --server host (implies --tls)')
    .option('--token-file <file>', `file holding the bearer token to send (default: $${TOKEN_ENV})`);
}

function readFlagFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(flag, `${flag}: cannot read ${path} (${(err as { code?: string }).code ?? String(err)})`);
  }
}

/** The token in a file: its first line that is neither blank nor a # comment. */
function readToken(path: string): string {
  const text = readFlagFile(path, '--token-file').toString('utf8');
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (line === undefined) throw new ConfigError('--token-file', `--token-file: ${path} holds no token`);
  return line.trim();
}

/**
 * The flags as a Security for connect(), and what they were for messages;
 * ConfigError when a flag cannot work (no --server, a file missing).
 */
export function clientSecurity(
  opts: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
  remote: boolean,
): { security: Security; context: TransportContext } {
  const given: Array<[string, unknown]> = [
    ['--tls', opts.tls],
    ['--ca', opts.ca],
    ['--cert', opts.cert],
    ['--key', opts.key],
    ['--server-name', opts.serverName],
  ];
  const tlsFlag = given.find(([, v]) => v !== undefined)?.[0];
  if (!remote && (tlsFlag !== undefined || opts.tokenFile !== undefined)) {
    const flag = tlsFlag ?? '--token-file';
    throw new ConfigError(flag, `${flag} needs --server (the embedded prober is in-process)`);
  }
  // $PROBER_TOKEN may be set for a whole shell: without --server it is simply not used.
  const token = !remote
    ? undefined
    : opts.tokenFile !== undefined
      ? readToken(opts.tokenFile)
      : env[TOKEN_ENV]?.trim() || undefined;
  if ((opts.cert === undefined) !== (opts.key === undefined)) {
    const flag = opts.cert === undefined ? '--key' : '--cert';
    throw new ConfigError(flag, `${flag}: a client certificate needs both --cert and --key`);
  }
  const tls: ClientTls | undefined =
    tlsFlag === undefined
      ? undefined
      : {
          ...(opts.ca !== undefined ? { ca: readFlagFile(opts.ca, '--ca') } : {}),
          ...(opts.cert !== undefined ? { cert: readFlagFile(opts.cert, '--cert') } : {}),
          ...(opts.key !== undefined ? { key: readFlagFile(opts.key, '--key') } : {}),
          ...(opts.serverName !== undefined ? { serverName: opts.serverName } : {}),
        };
  return {
    security: { ...(tls ? { tls } : {}), ...(token !== undefined ? { token } : {}) },
    context: { tls: tls !== undefined, clientCert: opts.cert !== undefined, token: token !== undefined },
  };
}
