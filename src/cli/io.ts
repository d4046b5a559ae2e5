// What a CLI run talks to. Tests pass captured streams; main() passes the
// process's, with SIGINT/SIGTERM turned into an AbortSignal.
import { onStopSignals, signalExitCode, type StopSignal } from '../common/signals.js';

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

/** The abort reason when stdout's reader has gone away (`| head` exited: EPIPE). */
export const OUTPUT_CLOSED = 'OUTPUT_CLOSED';

/** Why a run was stopped from outside: a signal, or nobody reading stdout. */
export type StopReason = StopSignal | typeof OUTPUT_CLOSED;

export interface GuardedIo {
  readonly io: CliIo;
  /** What stopped the run first, if anything did. */
  stopReason(): StopReason | undefined;
}

/**
 * The one place a closed stdout is handled, for every command: an 'error'
 * on stdout (EPIPE, ERR_STREAM_DESTROYED) aborts the command's signal, so it
 * stops as on Ctrl-C, and writeOut drops output to the gone stream. The
 * listeners stay: a late EPIPE must not become an uncaught exception.
 */
export function guardIo(io: CliIo): GuardedIo {
  const ac = new AbortController();
  const forward = (): void => ac.abort(io.signal?.reason);
  if (io.signal?.aborted) forward();
  else io.signal?.addEventListener('abort', forward, { once: true });
  io.stdout.on('error', () => ac.abort(OUTPUT_CLOSED));
  // stderr gone too (`2>&1 | head`): nothing to tell, nowhere to tell it.
  io.stderr.on('error', () => undefined);
  return {
    io: { ...io, signal: ac.signal },
    stopReason: () => {
      if (!ac.signal.aborted) return undefined;
      const r: unknown = ac.signal.reason;
      return r === OUTPUT_CLOSED || r === 'SIGINT' || r === 'SIGTERM' ? r : undefined;
    },
  };
}
