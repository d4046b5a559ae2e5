// `prober watch URL`: the live TUI (src/tui). One panel per --server, or an
// embedded in-process prober when there is none. Falls back to one line per
// attempt when stdout or stdin is not a terminal (or with --no-tui).
import { Command, InvalidArgumentError } from '@commander-js/extra-typings';
import type { ProberConnection, probeStream } from '../../client/index.js';
import type { ProbeInput } from '../../probe/types.js';
// Types only: Ink and React load lazily, so `probe`/`stream`/`serve` start fast.
import type { WatchRun, WatchSource } from '../../tui/index.js';
import { formatMsFixed } from '../../common/format.js';
import { formatAttempt, formatSummary, styleFor } from '../format.js';
import type { CommandContext } from '../context.js';
import { durationFlag } from '../options.js';
import { collectServers, entryFlags, resolveServers, type ServerEntry } from '../servers.js';
import { addProbeOptions, callDeadlineMs, checkProbeInput, SERVER_HELP, toProbeInput } from '../probe-flags.js';
import { addConnectionOptions, type ConnectionFlags, clientSecurity } from '../tls-flags.js';

function parseFps(value: string): number {
  const n = Number(value);
  if (!/^\s*\d+\s*$/.test(value) || !(n >= 1 && n <= 60)) {
    throw new InvalidArgumentError(`expected a whole number 1..60, got ${JSON.stringify(value)}`);
  }
  return n;
}

function source(
  open: typeof probeStream,
  conn: ProberConnection,
  label: string,
  input: ProbeInput,
  deadlineMs: number | undefined,
): WatchSource {
  return {
    label,
    open: (signal) => open(conn, input, { deadlineMs, signal }),
  };
}

/** The servers to watch and how to reach each: its file settings over the command's flags. */
function watchServers(
  opts: ConnectionFlags & { readonly server?: ServerEntry[] | undefined; readonly servers?: string | undefined },
  env: Readonly<Record<string, string | undefined>>,
) {
  const servers = resolveServers(opts.server, opts.servers);
  const secured = clientSecurity(opts, env, servers.length > 0);
  const perServer = servers.map((s) => clientSecurity(entryFlags(s, opts), env, true));
  return { servers, secured, perServer };
}

export function watchCommand(ctx: CommandContext) {
  const { io } = ctx;
  const cmd = addConnectionOptions(
    addProbeOptions(
      new Command('watch')
        .description(
          'watch an endpoint live: latency histogram, percentiles, phases, statuses (-n 0, the default: until q or Ctrl-C)',
        )
        .argument('<url>', 'http:// or https:// URL to probe'),
      { repetitions: 0 },
    )
      .option('-s, --server <[name=]host:port>', `${SERVER_HELP}; repeat for one panel per server`, collectServers)
      .option('--servers <file>', 'YAML or JSON server list, per-server TLS and token (deploy/servers.example.yaml)')
      .option('--no-tui', 'plain output: one line per attempt, then the summary (automatic when not on a terminal)')
      .option('--fps <n>', 'maximum frames per second, 1..60', parseFps, 30)
      .option(
        '--slow-consumer <duration>',
        'debug: wait this long after each event before reading the next, to show backpressure pacing the server',
        durationFlag('--slow-consumer'),
      ),
  );

  return cmd.action(async (url, opts) => {
    const input = toProbeInput(url, { ...opts, server: undefined });
    // Before the first frame, and before Ink loads: a request no server would take draws nothing.
    const remote = opts.server !== undefined || opts.servers !== undefined;
    const invalid = checkProbeInput(input, { remote, stream: true });
    if (invalid !== undefined) {
      const { reportError } = await import('../outcome.js');
      ctx.exitCode = reportError(invalid, io, 'watch', undefined);
      return;
    }
    // Loaded here, not at the top: `--version` and `--help` need neither Ink nor gRPC.
    // Ink is the slowest (docs/performance.md): it loads while the embedded
    // prober's thread starts on the other core, and is awaited only to draw.
    const tuiLoading = import('../../tui/index.js');
    tuiLoading.catch(() => {}); // awaited (and so reported) in run()
    const [
      { connect, isProberRpcError, probeStream },
      { withProber },
      { describeRpcError, exitCodeForFeed, reportError, worstExitCode },
    ] = await Promise.all([import('../../client/index.js'), import('../connection.js'), import('../outcome.js')]);
    let resolved: ReturnType<typeof watchServers>;
    try {
      resolved = watchServers(opts, io.env);
    } catch (err) {
      ctx.exitCode = reportError(err, io, 'watch', undefined);
      return;
    }
    const { servers, secured, perServer } = resolved;
    const deadlineMs = callDeadlineMs(opts);
    const style = styleFor(io.stdout, io.env);
    const stdout = io.stdout as NodeJS.WriteStream;
    const run = async (sources: WatchSource[]): Promise<WatchRun[]> => {
      const { themeFromEnv, watch } = await tuiLoading;
      return watch({
        target: url,
        sources,
        repetitions: opts.repetitions,
        ...(deadlineMs !== undefined ? { deadlineMs } : {}),
        ...(opts.slowConsumer !== undefined ? { slowConsumerMs: opts.slowConsumer } : {}),
        maxFps: opts.fps,
        theme: themeFromEnv(io.env as NodeJS.ProcessEnv),
        ...(io.signal !== undefined ? { signal: io.signal } : {}),
        stdout,
        ...(opts.tui ? {} : { mode: 'plain' as const }),
        report: {
          attempt: (a, label) => (label === undefined ? '' : `[${label}] `) + formatAttempt(a, style),
          summary: ({ label, outcome: o }) => {
            const lines: string[] = [];
            if (servers.length > 1) lines.push(style.bold(`== ${label}`));
            if (o.status === 'deadline')
              lines.push(style.red('deadline reached: statistics cover the attempts made before it'));
            // A call that failed before any attempt has nothing to summarise; stderr says why.
            if (o.status === 'error' && o.summary.attempts === 0) return lines.join('\n') + (lines.length ? '\n' : '');
            lines.push(
              formatSummary(
                o.summary,
                { endpoint: url, requested: opts.repetitions, interrupted: o.serverSummary === undefined, deadlineMs },
                style,
              ).trimEnd(),
            );
            const srv = o.serverSummary;
            lines.push(
              `  events received   ${o.received}` +
                (srv
                  ? `   server sent ${srv.eventsSent}   server blocked ${formatMsFixed(srv.backpressureWaitMs)}`
                  : ''),
            );
            return `${lines.join('\n')}\n`;
          },
        },
      });
    };

    let runs: WatchRun[];
    if (servers.length === 0) {
      // On its own thread: rendering must not delay the timestamps the engine takes.
      runs = await withProber(undefined, (conn) => run([source(probeStream, conn, 'embedded', input, deadlineMs)]), {
        thread: true,
      });
    } else {
      const conns = servers.map((s, i) => connect(s.address, perServer[i]!.security));
      try {
        runs = await run(conns.map((c, i) => source(probeStream, c, servers[i]!.name, input, deadlineMs)));
      } finally {
        for (const c of conns) c.close();
      }
    }
    for (const { label, outcome: o } of runs) {
      if (o.failure === undefined || o.status !== 'error') continue;
      const err = o.failure.cause;
      const i = servers.findIndex((s) => s.name === label);
      const context = perServer[i]?.context ?? secured.context;
      io.stderr.write(
        `prober watch: ${isProberRpcError(err) ? describeRpcError(err, servers[i]?.address, context) : o.failure.message}\n`,
      );
    }
    ctx.exitCode = worstExitCode(runs.map((r) => exitCodeForFeed(r.outcome, opts.repetitions)));
  });
}
