// The connection a command probes through: a running prober, or an embedded
// one for the duration of the command.
import { connect, type ProberConnection, type Security } from '../client/index.js';
import type { EmbeddedOptions } from './embedded.js';

/**
 * Runs `fn` against a prober: the one at `server` (host:port), or, when
 * undefined, an embedded server started on 127.0.0.1:0 for the duration of
 * the call, so one command does the whole job. Always closes what it opened.
 */
export async function withProber<T>(
  server: string | undefined,
  fn: (conn: ProberConnection) => Promise<T>,
  embedded: EmbeddedOptions = {},
  security: Security = {},
): Promise<T> {
  if (server !== undefined) {
    const conn = connect(server, security);
    try {
      return await fn(conn);
    } finally {
      conn.close();
    }
  }
  const { startEmbedded } = await import('./embedded.js');
  const prober = await startEmbedded(embedded);
  const conn = connect(prober.address);
  try {
    return await fn(conn);
  } finally {
    conn.close();
    await prober.close();
  }
}
