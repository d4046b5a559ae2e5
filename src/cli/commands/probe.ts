// `prober probe URL`: one unary Probe call, then the summary.
import { Command } from '@commander-js/extra-typings';
import { probeOnce } from '../../client/index.js';
import type { CommandContext } from '../context.js';
import { formatSummary, styleFor, summaryJson } from '../format.js';
import { writeOut } from '../../common/output.js';
import { withProber } from '../connection.js';
import { oneServer } from '../options.js';
import { EXIT, exitCodeForSummary, reportError } from '../outcome.js';
import { addProbeOptions, callDeadlineMs, checkProbeInput, SERVER_HELP, toProbeInput } from '../probe-flags.js';

export function probeCommand(ctx: CommandContext) {
  const cmd = addProbeOptions(
    new Command('probe')
      .description('probe an HTTP(S) endpoint N times and print latency statistics')
      .argument('<url>', 'http:// or https:// URL to probe'),
  )
    .option('-s, --server <host:port>', SERVER_HELP, oneServer('probe'))
    .option('--json', 'print the summary as one JSON object (times in ms)');

  return cmd.action(async (url, opts) => {
    const { io } = ctx;
    if (opts.repetitions === 0) {
      io.stderr.write(
        "prober probe: -n/--repetitions must be at least 1 (use 'prober stream -n 0' to probe continuously)\n",
      );
      ctx.exitCode = EXIT.USAGE;
      return;
    }
    const input = toProbeInput(url, opts);
    const invalid = checkProbeInput(input, { remote: opts.server !== undefined, stream: false });
    if (invalid !== undefined) {
      ctx.exitCode = reportError(invalid, io, 'probe', opts.server);
      return;
    }
    try {
      const summary = await withProber(opts.server, (conn) =>
        probeOnce(conn, input, { deadlineMs: callDeadlineMs(opts), signal: io.signal }),
      );
      if (opts.json === true) await writeOut(io.stdout, `${JSON.stringify(summaryJson(summary))}\n`);
      else {
        const text = formatSummary(summary, { endpoint: url, requested: opts.repetitions }, styleFor(io.stdout, io.env));
        await writeOut(io.stdout, text);
      }
      ctx.exitCode = exitCodeForSummary(summary, opts.repetitions);
    } catch (err) {
      ctx.exitCode = reportError(err, io, 'probe', opts.server);
    }
  });
}
