// Where a server's unexpected errors go. Apart from status.ts so that config
// (and `prober serve`'s flag parsing) loads without grpc-js.

/** Where unexpected errors go (pino's `logger.error(obj, msg)` fits). */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
}

/** Default: one JSON line on stderr, so nothing unexpected goes unseen. */
export const STDERR_LOGGER: ErrorLogger = {
  error(obj, msg) {
    const o = obj as { err?: unknown };
    const err = o.err instanceof Error ? { message: o.err.message, stack: o.err.stack } : o.err;
    process.stderr.write(`${JSON.stringify({ level: 'error', msg, ...obj, err })}\n`);
  },
};
