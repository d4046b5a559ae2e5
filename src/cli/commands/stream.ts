// `prober stream URL`: ProbeStream, one line per attempt as it finishes, then
// the summary. --json: NDJSON, one object per attempt then the summary, each
// with a `type` field. Output waits for stdout to drain, so a slow pipe
// slows the reader and, through HTTP/2 flow control, the prober.
import { Command } from '@commander-js/extra-typings';
import { isProberRpcError, probeStream } from '../../client/index.js';
import { RunStats } from '../../stats/index.js';
import type { Summary } from '../../stats/types.js';
import type { CommandContext } from '../context.js';
import { attemptJson, formatAttempt, formatSummary, styleFor, summaryJson } from '../format.js';
import { writeOut } from '../io.js';
import { addProbeOptions, callDeadlineMs, toProbeInput, withProber } from '../options.js';
import { exitCodeForSummary, reportError } from '../outcome.js';

export function streamCommand(ctx: CommandContext) {
  const cmd = addProbeOptions(
    new Command('stream')
      .description('probe an endpoint and print each attempt as it finishes, then the summary (-n 0: until Ctrl-C)')
      .argument('<url>', 'http:// or https:// URL to probe'),
  ).option('--json', 'NDJSON: one object per attempt, then the summary ({"type": "attempt" | "summary", ...})');

  return cmd.action(async (url, opts) => {
    const { io } = ctx;
    const style = styleFor(io.stdout, io.env);
    const json = opts.json === true;
    // Folded locally too: phase medians for the human summary, and a summary
    // when the user interrupts (a cancelled call gets none from the server).
    const local = new RunStats();
    const started = performance.now();
    let eventsSeen = 0;

    const printSummary = async (summary: Summary, interrupted: boolean): Promise<void> => {
      if (json) {
        await writeOut(io.stdout, `${JSON.stringify({ type: 'summary', interrupted, ...summaryJson(summary) })}\n`);
      } else {
        const text = formatSummary(
          summary,
          { endpoint: url, requested: opts.repetitions, interrupted, phases: local.phaseMedians() },
          style,
        );
        await writeOut(io.stdout, `\n${text}`);
      }
    };

    try {
      ctx.exitCode = await withProber(opts.server, async (conn) => {
        try {
          const events = probeStream(conn, toProbeInput(url, opts), {
            deadlineMs: callDeadlineMs(opts),
            signal: io.signal,
          });
          for await (const ev of events) {
            if (ev.kind === 'attempt') {
              eventsSeen++;
              local.add(ev.attempt);
              const line = json ? JSON.stringify({ type: 'attempt', ...attemptJson(ev.attempt) }) : formatAttempt(ev.attempt, style);
              await writeOut(io.stdout, `${line}\n`);
            } else {
              await printSummary(ev.summary, false);
              return exitCodeForSummary(ev.summary, opts.repetitions);
            }
          }
          throw new Error('stream ended without a summary');
        } catch (err) {
          if (isProberRpcError(err) && err.codeName === 'CANCELLED' && io.signal?.aborted) {
            const summary = local.summary({ elapsedMs: performance.now() - started, eventsSent: eventsSeen });
            await printSummary(summary, true);
            return exitCodeForSummary(summary, opts.repetitions, true);
          }
          throw err;
        }
      });
    } catch (err) {
      ctx.exitCode = reportError(err, io, 'stream', opts.server);
    }
  });
}
