// Every exit code of the CLI: the table, and the mapping from what happened
// (a summary, an RPC error, a configuration error, several servers' runs).
// Errors are told apart by type and numeric status, never by their text.
import { isProberRpcError, transportFailure, type ProberRpcError, type TransportFailure } from '../client/index.js';
import { isConfigError } from '../common/errors.js';
import { isInvalidArgumentError } from '../probe/errors.js';
import { flagForField } from '../probe/validate.js';
import type { Summary } from '../stats/types.js';
// Types only: the TUI loads lazily.
import type { FeedOutcome } from '../tui/feed.js';
import { EXIT, type ExitCode } from './exit.js';
import { OUTPUT_CLOSED, type CliIo } from './io.js';
import type { TransportContext } from './tls-flags.js';

export { EXIT, exitCodeForStop, type ExitCode } from './exit.js';

/**
 * 0 when every requested attempt ran and succeeded; 1 when any failed or the
 * run was cut short (deadline, Ctrl-C). A continuous run (requested 0) has no
 * count to reach: it passes when nothing failed. 3 when the server's shutdown
 * cut the run (`shutdown`), whatever was measured: the prober, not the target,
 * ended it, as the stream's UNAVAILABLE says; run again elsewhere.
 */
export function exitCodeForSummary(s: Summary, requested: number, interrupted = false): ExitCode {
  if (s.shutdown) return EXIT.RPC;
  if (s.failures > 0) return EXIT.PROBE_FAILED;
  if (requested === 0) return EXIT.OK;
  // Aborted attempts are not failures, but they are not the requested attempts either.
  if (interrupted || s.deadlineReached || s.aborted > 0 || s.attempts < requested) return EXIT.PROBE_FAILED;
  return EXIT.OK;
}

/**
 * Exit code for an RPC failure: INVALID_ARGUMENT is a usage error;
 * DEADLINE_EXCEEDED is the deadline cutting the run short (the server
 * normally answers before it, with deadline_reached set); the rest are 3.
 */
export function exitCodeFor(err: ProberRpcError): ExitCode {
  if (err.isInvalidArgument()) return EXIT.USAGE;
  if (err.isDeadlineExceeded()) return EXIT.PROBE_FAILED;
  return EXIT.RPC;
}

/**
 * Exit code for a failure while starting (serve, the embedded prober): a
 * ConfigError is a usage error, anything else (EADDRINUSE, ...) a runtime one.
 */
export function exitCodeForStartup(err: unknown): ExitCode {
  return isConfigError(err) ? EXIT.USAGE : EXIT.RPC;
}

/**
 * Exit code of a fan-out: 3 when no region answered, 2 when a region said
 * INVALID_ARGUMENT, 1 when a region is down or any attempt failed (or a run
 * was cut short), else 0.
 */
export function exitCodeForRegions(
  runs: readonly { readonly summary?: Summary; readonly error?: unknown }[],
  requested: number,
): ExitCode {
  if (!runs.some((r) => r.summary !== undefined)) {
    const usage = runs.some((r) => isProberRpcError(r.error) && r.error.isInvalidArgument());
    return usage ? EXIT.USAGE : EXIT.RPC;
  }
  const codes = runs.map((r): ExitCode => {
    if (r.summary === undefined) {
      return isProberRpcError(r.error) && r.error.isInvalidArgument() ? EXIT.USAGE : EXIT.PROBE_FAILED;
    }
    // A region whose server shut down mid-run counts as a region down here.
    const c = exitCodeForSummary(r.summary, requested);
    return c === EXIT.RPC ? EXIT.PROBE_FAILED : c;
  });
  return worstExitCode(codes);
}

const RANK: Readonly<Record<ExitCode, number>> = {
  [EXIT.OK]: 0,
  [EXIT.PROBE_FAILED]: 1,
  [EXIT.RPC]: 2,
  [EXIT.USAGE]: 3,
};

/** Worst of several exit codes: usage > rpc > probe failed > ok. */
export function worstExitCode(codes: Iterable<ExitCode>): ExitCode {
  let worst: ExitCode = EXIT.OK;
  for (const c of codes) if (RANK[c] > RANK[worst]) worst = c;
  return worst;
}

/**
 * Exit code of one watched server's run. Quitting the live view (q) is how
 * it normally ends, as in oha: 0 when nothing failed, 1 when attempts did.
 */
export function exitCodeForFeed(o: FeedOutcome, requested: number): ExitCode {
  if (o.status === 'error') {
    const cause = o.failure?.cause;
    return isProberRpcError(cause) ? exitCodeFor(cause) : EXIT.RPC;
  }
  if (o.status === 'cancelled') return o.summary.failures > 0 ? EXIT.PROBE_FAILED : EXIT.OK;
  return exitCodeForSummary(o.summary, requested, o.status === 'deadline');
}

/** "invalid argument: <message> (<flag>)": the server's rejection, or the same check made locally. */
function describeInvalidArgument(message: string, field: string | undefined): string {
  const flag = field === undefined ? undefined : flagForField(field);
  return `invalid argument: ${message}${flag === undefined ? '' : ` (${flag})`}`;
}

/** TLS and token failures in words, with the flag that fixes them (the cause comes from client/errors.ts). */
export function describeTransportFailure(f: TransportFailure, transport?: TransportContext): string {
  switch (f.kind) {
    case 'untrusted':
      return `certificate not trusted: ${f.reason} (is --ca right?)`;
    case 'expired':
      return 'certificate expired (the server must renew it)';
    case 'name-mismatch':
      return `name mismatch: certificate is for ${f.certNames}, not ${f.requested} (use --server-name)`;
    case 'client-cert-required':
      return 'server requires a client certificate (--cert/--key)';
    case 'not-tls':
      return 'TLS handshake failed: the server does not speak TLS (drop --tls/--ca)';
    case 'handshake-closed':
      if (transport?.clientCert)
        return 'server closed the TLS handshake: it does not trust the client certificate (--cert)';
      if (transport?.tls === false) return 'server closed the connection: it may require TLS (try --tls or --ca)';
      return 'server closed the connection before gRPC started';
    case 'token-rejected':
      return transport?.token === false
        ? `server requires a token (--token-file or $PROBER_TOKEN) (UNAUTHENTICATED: ${f.details})`
        : `token rejected (UNAUTHENTICATED: ${f.details})`;
  }
}

/** One-line message for an RPC failure, naming the flag when the server named a field. */
export function describeRpcError(
  err: ProberRpcError,
  server: string | undefined,
  transport?: TransportContext,
): string {
  if (err.isInvalidArgument()) return describeInvalidArgument(err.details, err.field);
  const where = server === undefined ? 'the embedded prober' : `prober at ${server}`;
  const failure = transportFailure(err);
  if (failure !== undefined) return `${where}: ${describeTransportFailure(failure, transport)}`;
  // grpc-js may end UNAVAILABLE details with an empty "Resolution note:".
  const details = err.details.replace(/\s*Resolution note:\s*$/, '').trim();
  const hint = err.isDeadlineExceeded() ? ' (the call outlived --deadline)' : '';
  return `${where}: ${err.codeName}: ${details}${hint}`;
}

/** Reports an error on stderr as one line (no stack trace) and picks the exit code. */
export function reportError(
  err: unknown,
  io: CliIo,
  command: string,
  server: string | undefined,
  transport?: TransportContext,
): ExitCode {
  if (isProberRpcError(err)) {
    if (err.isCancelled() && io.signal?.aborted) {
      // Nobody reads stdout any more: end quietly.
      if (io.signal.reason !== OUTPUT_CLOSED) io.stderr.write(`prober ${command}: interrupted\n`);
      return EXIT.PROBE_FAILED;
    }
    io.stderr.write(`prober ${command}: ${describeRpcError(err, server, transport)}\n`);
    return exitCodeFor(err);
  }
  // The request failed the local check (checkProbeInput): as the server's INVALID_ARGUMENT.
  if (isInvalidArgumentError(err)) {
    io.stderr.write(`prober ${command}: ${describeInvalidArgument(err.message, err.field)}\n`);
    return EXIT.USAGE;
  }
  const msg = err instanceof Error ? err.message : String(err);
  io.stderr.write(`prober ${command}: ${msg}\n`);
  // A connection flag that cannot work (tls-flags.ts, client/transport.ts).
  return isConfigError(err) ? EXIT.USAGE : EXIT.RPC;
}
