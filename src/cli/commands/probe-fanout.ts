// `prober probe URL --server a=... --server b=...`: fan-out (src/cli/fanout.ts).
import type { Security } from '../../client/index.js';
import { writeOut } from '../../common/output.js';
import type { CliIo } from '../io.js';
import { EXIT, type ExitCode } from '../exit.js';
import { formatRegionTable, mergeRegions, probeRegions, regionLines, type RegionRun } from '../fanout.js';
import { styleFor } from '../format.js';
import { describeRpcError, exitCodeForRegions, reportError } from '../outcome.js';
import { callDeadlineMs, checkProbeInput, type ProbeOptions, toProbeInput } from '../probe-flags.js';
import { entryFlags, type ServerEntry } from '../servers.js';
import { clientSecurity, type ConnectionFlags, type TransportContext } from '../tls-flags.js';
import { isProberRpcError } from '../../client/index.js';

type FanOutOptions = Omit<ProbeOptions, 'server'> & ConnectionFlags & { readonly json?: true | undefined };

export async function probeFanOut(
  url: string,
  opts: FanOutOptions,
  entries: readonly ServerEntry[],
  io: CliIo,
): Promise<ExitCode> {
  if (opts.repetitions === 0) {
    io.stderr.write(
      "prober probe: -n/--repetitions must be at least 1 (use 'prober stream -n 0' to probe continuously)\n",
    );
    return EXIT.USAGE;
  }
  const input = toProbeInput(url, { ...opts, server: undefined });
  const invalid = checkProbeInput(input, { remote: true, stream: false });
  if (invalid !== undefined) return reportError(invalid, io, 'probe', undefined);
  const security: Security[] = [];
  const contexts: TransportContext[] = [];
  try {
    for (const e of entries) {
      const s = clientSecurity(entryFlags(e, opts), io.env, true);
      security.push(s.security);
      contexts.push(s.context);
    }
  } catch (err) {
    return reportError(err, io, 'probe', undefined);
  }
  const deadlineMs = callDeadlineMs(opts);
  const runs = await probeRegions(entries, input, { deadlineMs, signal: io.signal }, security);
  const describe = (r: RegionRun): string => {
    const i = entries.indexOf(r.entry);
    if (isProberRpcError(r.error)) return describeRpcError(r.error, r.entry.address, contexts[i]);
    return r.error instanceof Error ? r.error.message : String(r.error);
  };
  const merged = mergeRegions(runs);
  if (opts.json === true) {
    const run = { endpoint: url, requested: opts.repetitions, deadlineMs, interrupted: false, streamed: false };
    const lines = regionLines(runs, merged, run, describe);
    await writeOut(io.stdout, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  } else {
    await writeOut(io.stdout, formatRegionTable(runs, merged, describe, styleFor(io.stdout, io.env)));
  }
  return exitCodeForRegions(runs, opts.repetitions);
}
