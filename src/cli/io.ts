// What a CLI run talks to. Tests pass captured streams; main() passes the
// process's, with SIGINT/SIGTERM turned into an AbortSignal.

export interface CliOutput extends NodeJS.WritableStream {
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  readonly env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted when the user asks to stop (first SIGINT/SIGTERM under main()).
   * Commands then stop gracefully: `serve` drains, `stream` prints what it
   * has so far.
   */
  readonly signal?: AbortSignal;
}

/** The process's io. A second SIGINT/SIGTERM exits at once (130 / 143). */
export function processIo(): CliIo {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (ac.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    ac.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: ac.signal };
}

/** Writes a chunk and waits for 'drain' when the stream's buffer is full, so a slow pipe paces us. */
export async function writeOut(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  // A destroyed stream (reader gone) never drains: drop the output instead of waiting forever.
  const gone = (): boolean => (stream as { destroyed?: boolean }).destroyed === true;
  if (gone()) return;
  if (stream.write(chunk) || gone()) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
