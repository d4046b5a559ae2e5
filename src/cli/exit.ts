// The exit code table, apart from outcome.ts (which needs the gRPC client) so
// that run.ts and flag checks load without it.

/** Process exit codes of every command. */
export const EXIT = Object.freeze({
  /** All requested attempts ran and succeeded (serve: clean shutdown). */
  OK: 0,
  /** Some attempt failed, or the deadline (or Ctrl-C) cut the run short. */
  PROBE_FAILED: 1,
  /** Bad flags or configuration, or the server said INVALID_ARGUMENT. */
  USAGE: 2,
  /** Any other RPC or runtime error (server unavailable, could not listen, ...). */
  RPC: 3,
});
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
