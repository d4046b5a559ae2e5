// `prober probe URL`: one unary Probe call, then the summary. On a terminal,
// ProbeStream instead, for a progress line on stderr (progress.ts); same summary.
import { Command } from '@commander-js/extra-typings';
import type { CommandContext } from '../context.js';
import { formatSummary, styleFor, summaryLine } from '../format.js';
import { writeOut } from '../../common/output.js';
import { EXIT } from '../exit.js';
import { collectServers, resolveServers, type ServerEntry } from '../servers.js';
import { addProbeOptions, callDeadlineMs, checkProbeInput, SERVER_HELP, toProbeInput } from '../probe-flags.js';
import { addConnectionOptions, clientSecurity } from '../tls-flags.js';

export function probeCommand(ctx: CommandContext) {
  const cmd = addConnectionOptions(
    addProbeOptions(
      new Command('probe')
        .description('probe an HTTP(S) endpoint N times and print latency statistics')
        .argument('<url>', 'http:// or https:// URL to probe'),
    )
      .option('-s, --server <[name=]host:port>', `${SERVER_HELP}; repeat to fan out (one row per name)`, collectServers)
      .option(
        '--servers <file>',
        'YAML or JSON list of servers with per-server TLS and token (deploy/servers.example.yaml)',
      ),
  )
    .option('--json', 'print the summary as one JSON object (times in ms; docs/json.md)')
    .option('-q, --quiet', 'no progress line on stderr (shown only when stderr is a terminal)');

  return cmd.action(async (url, allOpts) => {
    const { io } = ctx;
    let entries: ServerEntry[];
    try {
      entries = resolveServers(allOpts.server, allOpts.servers);
    } catch (err) {
      const { reportError } = await import('../outcome.js');
      ctx.exitCode = reportError(err, io, 'probe', undefined);
      return;
    }
    if (entries.length > 1) {
      const { probeFanOut } = await import('./probe-fanout.js');
      ctx.exitCode = await probeFanOut(url, allOpts, entries, io);
      return;
    }
    // One server: exactly the single-server output of before.
    const opts = { ...allOpts, ...entries[0]?.connection, server: entries[0]?.address };
    if (opts.repetitions === 0) {
      io.stderr.write(
        "prober probe: -n/--repetitions must be at least 1 (use 'prober stream -n 0' to probe continuously)\n",
      );
      ctx.exitCode = EXIT.USAGE;
      return;
    }
    const input = toProbeInput(url, opts);
    // Before anything loads or connects: a request no server would take.
    const invalid = checkProbeInput(input, { remote: opts.server !== undefined, stream: false });
    // Loaded here, not at the top: `--version` and `--help` need no gRPC (see run.ts).
    const [{ probeOnce }, { withProber }, { exitCodeForSummary, reportError }, { probeWithProgress, showsProgress }] =
      await Promise.all([
        import('../../client/index.js'),
        import('../connection.js'),
        import('../outcome.js'),
        import('../progress.js'),
      ]);
    if (invalid !== undefined) {
      ctx.exitCode = reportError(invalid, io, 'probe', opts.server);
      return;
    }
    let secured: ReturnType<typeof clientSecurity>;
    try {
      secured = clientSecurity(opts, io.env, opts.server !== undefined);
    } catch (err) {
      ctx.exitCode = reportError(err, io, 'probe', opts.server);
      return;
    }
    const progress = showsProgress(io.stderr, opts.quiet);
    try {
      let startedAt = new Date();
      const summary = await withProber(
        opts.server,
        (conn) => {
          startedAt = new Date();
          const call = { deadlineMs: callDeadlineMs(opts), signal: io.signal };
          return progress ? probeWithProgress(conn, input, call, io.stderr) : probeOnce(conn, input, call);
        },
        {},
        secured.security,
      );
      if (opts.json === true) {
        const run = {
          endpoint: url,
          server: opts.server,
          requested: opts.repetitions,
          deadlineMs: callDeadlineMs(opts),
        };
        const line = summaryLine(summary, {
          ...run,
          startedAt,
          endedAt: new Date(),
          interrupted: false,
          streamed: false,
        });
        await writeOut(io.stdout, `${JSON.stringify(line)}\n`);
      } else {
        const text = formatSummary(
          summary,
          { endpoint: url, requested: opts.repetitions, deadlineMs: callDeadlineMs(opts) },
          styleFor(io.stdout, io.env),
        );
        await writeOut(io.stdout, text);
      }
      ctx.exitCode = exitCodeForSummary(summary, opts.repetitions);
    } catch (err) {
      ctx.exitCode = reportError(err, io, 'probe', opts.server, secured.context);
    }
  });
}
