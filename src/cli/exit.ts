// The exit code table, apart from outcome.ts (which needs the gRPC client) so
// that run.ts and flag checks load without it.
import { signalExitCode } from '../common/signals.js';
import { OUTPUT_CLOSED, type StopReason } from './io.js';

/** Process exit codes of every command. */
export const EXIT = Object.freeze({
  /** All requested attempts ran and succeeded (serve: clean shutdown). */
  OK: 0,
  /** Some attempt failed, or the deadline (or Ctrl-C) cut the run short. */
  PROBE_FAILED: 1,
  /** Bad flags or configuration, or the server said INVALID_ARGUMENT. */
  USAGE: 2,
  /** Any other RPC or runtime error (server unavailable, could not listen, ...), or the server shut down mid-run. */
  RPC: 3,
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The exit code of a run stopped from outside. stdout closed (`| head`):
 * 0, quietly, whatever was measured. SIGINT/SIGTERM: the shell convention
 * (130/143), after the command printed what it had; `serve` alone treats
 * them as its normal end (its own code, 0 on a clean drain).
 */
export function exitCodeForStop(code: number, reason: StopReason | undefined, command: string | undefined): number {
  if (reason === OUTPUT_CLOSED) return EXIT.OK;
  if (reason !== undefined && command !== 'serve') return signalExitCode(reason);
  return code;
}
