// Exit codes from results and errors, shared by probe and stream.
import { isProberRpcError } from '../client/index.js';
import type { Summary } from '../stats/types.js';
import type { CliIo } from './io.js';
import { EXIT, describeRpcError, exitCodeFor, type ExitCode } from './options.js';

/**
 * 0 when every requested attempt ran and succeeded; 1 when any failed or the
 * run was cut short (deadline, Ctrl-C). A continuous run (requested 0) has no
 * count to reach: it passes when nothing failed.
 */
export function exitCodeForSummary(s: Summary, requested: number, interrupted = false): ExitCode {
  if (s.failures > 0) return EXIT.PROBE_FAILED;
  if (requested === 0) return EXIT.OK;
  if (interrupted || s.deadlineReached || s.attempts < requested) return EXIT.PROBE_FAILED;
  return EXIT.OK;
}

/** Reports an error on stderr as one line (no stack trace) and picks the exit code. */
export function reportError(err: unknown, io: CliIo, command: string, server: string | undefined): ExitCode {
  if (isProberRpcError(err)) {
    if (err.codeName === 'CANCELLED' && io.signal?.aborted) {
      io.stderr.write(`prober ${command}: interrupted\n`);
      return EXIT.PROBE_FAILED;
    }
    io.stderr.write(`prober ${command}: ${describeRpcError(err, server)}\n`);
    return exitCodeFor(err);
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`prober ${command}: ${msg}\n`);
  return EXIT.RPC;
}
