// What a CLI run talks to. Tests pass captured streams; main() passes the
// process's, with SIGINT/SIGTERM turned into an AbortSignal.
import { onStopSignals, signalExitCode } from '../common/signals.js';

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
  onStopSignals((sig) => {
    if (ac.signal.aborted) process.exit(signalExitCode(sig));
    ac.abort(sig);
  });
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: ac.signal };
}
