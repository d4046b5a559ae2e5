// The one-command mode: an in-process prober on 127.0.0.1, free port. Kept
// in its own module so `--server host:port` runs never load the server code.
import { startEmbeddedServer } from '../server/server.js';

export interface Embedded {
  readonly address: string;
  close(): Promise<void>;
}

/** Grace for calls still running at close; by then our own call has ended. */
const CLOSE_GRACE_MS = 1_000;

export async function startEmbedded(): Promise<Embedded> {
  const running = await startEmbeddedServer();
  return { address: running.address, close: () => running.close(CLOSE_GRACE_MS) };
}
