// `prober stream URL --server a=... --server b=...`: every server streams at
// once under one deadline; each line is tagged with its region as it arrives,
// then each region's summary and the merged one (src/cli/fanout.ts).
import { connect, isProberRpcError, probeStream, type Security } from '../../client/index.js';
import { isGone, writeOut } from '../../common/output.js';
import type { ProbeInput } from '../../probe/types.js';
import type { AttemptResult } from '../../probe/types.js';
import { RunStats } from '../../stats/index.js';
import type { CliIo } from '../io.js';
import type { ExitCode } from '../exit.js';
import { formatRegionTable, mergedLine, mergeRegions, regionLine, type RegionRun } from '../fanout.js';
import { attemptLine, formatAttempt, formatSummary, type Style, styleFor } from '../format.js';
import { describeRpcError, exitCodeForRegions, reportError } from '../outcome.js';
import { callDeadlineMs, checkProbeInput, type ProbeOptions, toProbeInput } from '../probe-flags.js';
import { entryFlags, type ServerEntry } from '../servers.js';
import { clientSecurity, type ConnectionFlags, type TransportContext } from '../tls-flags.js';

type FanOutOptions = Omit<ProbeOptions, 'server'> & ConnectionFlags & { readonly json?: true | undefined };

/** A region's run; `interrupted`: its summary was folded here from the attempts received. */
interface StreamRun extends RegionRun {
  readonly interrupted: boolean;
}

/** What every region's loop shares: the request, the stop signal and the printer. */
interface Shared {
  readonly input: ProbeInput;
  readonly deadlineMs: number | undefined;
  readonly stop: AbortSignal;
  readonly io: CliIo;
  readonly closed: () => boolean;
  readonly attempt: (entry: ServerEntry, a: AttemptResult) => Promise<void>;
  readonly ended: (r: StreamRun) => Promise<void>;
}

async function streamRegion(entry: ServerEntry, security: Security, sh: Shared): Promise<StreamRun> {
  const startedAt = new Date();
  const started = performance.now();
  // Folded locally too, for a summary when the call ends without the server's.
  const local = new RunStats();
  let seen = 0;
  const conn = connect(entry.address, security);
  const done = async (r: Omit<StreamRun, 'entry' | 'startedAt' | 'endedAt'>): Promise<StreamRun> => {
    const run = { entry, startedAt, endedAt: new Date(), ...r };
    await sh.ended(run);
    return run;
  };
  try {
    for await (const ev of probeStream(conn, sh.input, { deadlineMs: sh.deadlineMs, signal: sh.stop })) {
      if (sh.closed()) break;
      if (ev.kind === 'summary') return await done({ summary: ev.summary, interrupted: false });
      seen++;
      local.add(ev.attempt);
      await sh.attempt(entry, ev.attempt);
    }
    if (!sh.closed()) throw new Error('stream ended without a summary');
  } catch (error) {
    const stopped = isProberRpcError(error) && error.isCancelled() && sh.stop.aborted;
    const late = isProberRpcError(error) && error.isDeadlineExceeded();
    // Down, refused, or broken mid-way: this region's status line; the others go on.
    if (!stopped && !late) return await done({ error, interrupted: false });
    if (late) sh.io.stderr.write(`prober stream: [${entry.name}] deadline exceeded before the server's summary\n`);
  } finally {
    conn.close();
  }
  const summary = local.summary({
    elapsedMs: performance.now() - started,
    eventsSent: seen,
    deadlineReached: !sh.stop.aborted,
  });
  return await done({ summary, interrupted: true });
}

/** Per-server security, or the usage error of the first server whose flags cannot work. */
function securities(
  entries: readonly ServerEntry[],
  opts: FanOutOptions,
  io: CliIo,
): { security: Security[]; contexts: TransportContext[] } {
  const security: Security[] = [];
  const contexts: TransportContext[] = [];
  for (const e of entries) {
    const s = clientSecurity(entryFlags(e, opts), io.env, true);
    security.push(s.security);
    contexts.push(s.context);
  }
  return { security, contexts };
}

/** Human output after every region ended: each region's summary, then the comparison table. */
function humanEnd(runs: readonly StreamRun[], url: string, opts: FanOutOptions, describe: Describe, st: Style): string {
  const deadlineMs = callDeadlineMs(opts);
  const blocks = runs.flatMap((r) =>
    r.summary
      ? [
          `\n${st.bold(`== ${r.entry.name}`)}\n` +
            formatSummary(
              r.summary,
              { endpoint: url, requested: opts.repetitions, interrupted: r.interrupted, deadlineMs },
              st,
            ),
        ]
      : [],
  );
  return `${blocks.join('')}\n${formatRegionTable(runs, mergeRegions(runs), describe, st)}`;
}

type Describe = (r: RegionRun) => string;

export async function streamFanOut(
  url: string,
  opts: FanOutOptions,
  entries: readonly ServerEntry[],
  io: CliIo,
): Promise<ExitCode> {
  const input = toProbeInput(url, { ...opts, server: undefined });
  const invalid = checkProbeInput(input, { remote: true, stream: true });
  if (invalid !== undefined) return reportError(invalid, io, 'stream', undefined);
  let sec: ReturnType<typeof securities>;
  try {
    sec = securities(entries, opts, io);
  } catch (err) {
    return reportError(err, io, 'stream', undefined);
  }
  const describe: Describe = (r) => {
    if (isProberRpcError(r.error))
      return describeRpcError(r.error, r.entry.address, sec.contexts[entries.indexOf(r.entry)]);
    return r.error instanceof Error ? r.error.message : String(r.error);
  };
  const json = opts.json === true;
  const st = styleFor(io.stdout, io.env);
  const deadlineMs = callDeadlineMs(opts);
  const run = { endpoint: url, requested: opts.repetitions, deadlineMs, streamed: true };
  // One stop for all regions: Ctrl-C, or stdout's reader going away (run() aborts io.signal).
  const stop = new AbortController();
  const onUserStop = (): void => stop.abort();
  io.signal?.addEventListener('abort', onUserStop, { once: true });
  if (io.signal?.aborted) stop.abort();
  const closed = (): boolean => isGone(io.stdout);
  const print = async (text: string): Promise<void> => {
    if (!closed()) await writeOut(io.stdout, text);
  };
  const shared: Shared = {
    input,
    deadlineMs,
    stop: stop.signal,
    io,
    closed,
    attempt: (e, a) =>
      print(
        `${json ? JSON.stringify({ ...attemptLine(a), region: e.name }) : `[${e.name}] ${formatAttempt(a, st)}`}\n`,
      ),
    ended: async (r) => {
      if (json) await print(`${JSON.stringify(regionLine(r, { ...run, interrupted: r.interrupted }, describe))}\n`);
      else if (r.error !== undefined) await print(`${st.red(`[${r.entry.name}] ${describe(r)}`)}\n`);
    },
  };
  let runs: StreamRun[];
  try {
    runs = await Promise.all(entries.map((e, i) => streamRegion(e, sec.security[i]!, shared)));
  } finally {
    io.signal?.removeEventListener('abort', onUserStop);
  }
  if (json) {
    const interrupted = runs.some((r) => r.interrupted);
    await print(`${JSON.stringify(mergedLine(runs, mergeRegions(runs), { ...run, interrupted }))}\n`);
  } else {
    await print(humanEnd(runs, url, opts, describe, st));
  }
  return exitCodeForRegions(runs, opts.repetitions);
}
