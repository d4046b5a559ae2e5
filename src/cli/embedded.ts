// The one-command mode: an in-process prober on 127.0.0.1, free port. Kept
// in its own module so `--server host:port` runs never load the server code,
// and the threaded one loads it on its thread only.

export interface Embedded {
  readonly address: string;
  close(): Promise<void>;
}

/** Grace for calls still running at close; by then our own call has ended. */
const CLOSE_GRACE_MS = 1_000;

export interface EmbeddedOptions {
  /**
   * Run the prober on a worker thread: for front ends that do real work per
   * frame (the TUI), so rendering never delays the engine's timestamps.
   */
  readonly thread?: boolean;
}

export async function startEmbedded(options: EmbeddedOptions = {}): Promise<Embedded> {
  if (options.thread === true) {
    const { startEmbeddedServerThread } = await import('../server/thread.js');
    const th = await startEmbeddedServerThread();
    return { address: th.address, close: () => th.close(CLOSE_GRACE_MS) };
  }
  const { startEmbeddedServer } = await import('../server/server.js');
  const running = await startEmbeddedServer();
  return { address: running.address, close: () => running.close(CLOSE_GRACE_MS) };
}
