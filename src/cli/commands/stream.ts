// `prober stream URL`: ProbeStream, one line per attempt as it finishes, then
// the summary. --json: NDJSON, one object per attempt then the summary, each
// with a `type` field (docs/json.md). Output waits for stdout to drain, so a
// slow pipe slows the reader and, through HTTP/2 flow control, the prober.
// Several servers: stream-fanout.ts.
import { Command } from '@commander-js/extra-typings';
import { RunStats } from '../../stats/index.js';
import type { Summary } from '../../stats/types.js';
import type { CommandContext } from '../context.js';
import type { ExitCode } from '../exit.js';
import type { CliIo } from '../io.js';
import { attemptLine, formatAttempt, formatSummary, styleFor, summaryLine } from '../format.js';
import { isGone, writeOut } from '../../common/output.js';
import { collectServers, resolveServers, type ServerEntry } from '../servers.js';
import {
  addProbeOptions,
  callDeadlineMs,
  checkProbeInput,
  type ProbeOptions,
  SERVER_HELP,
  toProbeInput,
} from '../probe-flags.js';
import { addConnectionOptions, type ConnectionFlags, clientSecurity } from '../tls-flags.js';

export function streamCommand(ctx: CommandContext) {
  const cmd = addConnectionOptions(
    addProbeOptions(
      new Command('stream')
        .description('probe an endpoint and print each attempt as it finishes, then the summary (-n 0: until Ctrl-C)')
        .argument('<url>', 'http:// or https:// URL to probe'),
    )
      .option(
        '-s, --server <[name=]host:port>',
        `${SERVER_HELP}; repeat to fan out (lines tagged by name)`,
        collectServers,
      )
      .option(
        '--servers <file>',
        'YAML or JSON list of servers with per-server TLS and token (deploy/servers.example.yaml)',
      )
      .option(
        '--json',
        'NDJSON: one object per attempt, then the summary ({"type": "attempt" | "summary", ...}; docs/json.md)',
      ),
  );

  return cmd.action(async (url, allOpts) => {
    const { io } = ctx;
    let entries: ServerEntry[];
    try {
      entries = resolveServers(allOpts.server, allOpts.servers);
    } catch (err) {
      const { reportError } = await import('../outcome.js');
      ctx.exitCode = reportError(err, io, 'stream', undefined);
      return;
    }
    if (entries.length > 1) {
      const { streamFanOut } = await import('./stream-fanout.js');
      ctx.exitCode = await streamFanOut(url, allOpts, entries, io);
      return;
    }
    // One server: exactly the single-server output of before.
    ctx.exitCode = await streamOne(url, { ...allOpts, ...entries[0]?.connection, server: entries[0]?.address }, io);
  });
}

type StreamOptions = ProbeOptions & ConnectionFlags & { readonly json?: true | undefined };

async function streamOne(url: string, opts: StreamOptions, io: CliIo): Promise<ExitCode> {
  const input = toProbeInput(url, opts);
  const invalid = checkProbeInput(input, { remote: opts.server !== undefined, stream: true });
  // Loaded here, not at the top: `--version` and `--help` need no gRPC (see run.ts).
  const [{ isProberRpcError, probeStream }, { withProber }, { exitCodeForSummary, reportError }] = await Promise.all([
    import('../../client/index.js'),
    import('../connection.js'),
    import('../outcome.js'),
  ]);
  if (invalid !== undefined) {
    return reportError(invalid, io, 'stream', opts.server);
  }
  let secured: ReturnType<typeof clientSecurity>;
  try {
    secured = clientSecurity(opts, io.env, opts.server !== undefined);
  } catch (err) {
    return reportError(err, io, 'stream', opts.server);
  }
  const style = styleFor(io.stdout, io.env);
  const json = opts.json === true;
  // Folded locally too, for a summary when the user interrupts (a
  // cancelled call gets none from the server).
  const local = new RunStats();
  const started = performance.now();
  let startedAt = new Date();
  let eventsSeen = 0;
  // Stop when the user interrupts or stdout goes away (`| head`: EPIPE; run() watches it).
  const stop = new AbortController();
  const onUserStop = (): void => stop.abort();
  io.signal?.addEventListener('abort', onUserStop, { once: true });
  if (io.signal?.aborted) stop.abort();
  // run() aborts io.signal when stdout's reader goes away; then print nothing more.
  const outputClosed = (): boolean => isGone(io.stdout);

  const printSummary = async (summary: Summary, interrupted: boolean): Promise<void> => {
    if (outputClosed()) return;
    if (json) {
      const run = {
        endpoint: url,
        server: opts.server,
        requested: opts.repetitions,
        deadlineMs: callDeadlineMs(opts),
      };
      const line = summaryLine(summary, { ...run, startedAt, endedAt: new Date(), interrupted, streamed: true });
      await writeOut(io.stdout, `${JSON.stringify(line)}\n`);
    } else {
      const text = formatSummary(
        summary,
        { endpoint: url, requested: opts.repetitions, interrupted, deadlineMs: callDeadlineMs(opts) },
        style,
      );
      await writeOut(io.stdout, `\n${text}`);
    }
  };

  try {
    return await withProber(
      opts.server,
      async (conn) => {
        startedAt = new Date();
        try {
          const events = probeStream(conn, input, {
            deadlineMs: callDeadlineMs(opts),
            signal: stop.signal,
          });
          for await (const ev of events) {
            if (outputClosed()) break;
            if (ev.kind === 'attempt') {
              eventsSeen++;
              local.add(ev.attempt);
              const line = json ? JSON.stringify(attemptLine(ev.attempt)) : formatAttempt(ev.attempt, style);
              await writeOut(io.stdout, `${line}\n`);
            } else {
              await printSummary(ev.summary, false);
              return exitCodeForSummary(ev.summary, opts.repetitions);
            }
          }
          if (!outputClosed()) throw new Error('stream ended without a summary');
        } catch (err) {
          const stopped = isProberRpcError(err) && err.isCancelled() && stop.signal.aborted;
          // The call's deadline passed before the server's summary arrived (it
          // normally sends one in time): report it, then what did arrive.
          const late = isProberRpcError(err) && err.isDeadlineExceeded();
          if (!stopped && !late) throw err;
          if (late) io.stderr.write(`prober stream: deadline exceeded before the server's summary\n`);
        }
        // Interrupted, out of time, or nobody is reading any more: a summary of what arrived.
        const summary = local.summary({
          elapsedMs: performance.now() - started,
          eventsSent: eventsSeen,
          deadlineReached: !stop.signal.aborted,
        });
        await printSummary(summary, true);
        return exitCodeForSummary(summary, opts.repetitions, true);
      },
      {},
      secured.security,
    );
  } catch (err) {
    return reportError(err, io, 'stream', opts.server, secured.context);
  } finally {
    io.signal?.removeEventListener('abort', onUserStop);
  }
}
