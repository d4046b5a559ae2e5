// Fan-out over several prober servers ("regions"): the same request to all of
// them at once under one deadline, a row (or JSON line) per region, and the
// merged distribution. A region that fails keeps its row; the others go on.
import { connect, isProberRpcError, probeOnce, type Security } from '../client/index.js';
import type { ProbeInput } from '../probe/types.js';
import { mergeSummaries } from '../stats/run-stats.js';
import type { Summary } from '../stats/types.js';
import { formatMsFixed } from '../common/format.js';
import { JSON_SCHEMA_VERSION, type RunInfo, type Style, summaryLine } from './format.js';
import type { ServerEntry } from './servers.js';

/** One region's outcome: its summary, or why there is none. */
export interface RegionRun {
  readonly entry: ServerEntry;
  readonly startedAt: Date;
  readonly endedAt: Date;
  readonly summary?: Summary;
  readonly error?: unknown;
}

export const MERGED_LABEL = 'all regions';

/** Probe on every server concurrently; never rejects (each failure stays in its row). */
export async function probeRegions(
  entries: readonly ServerEntry[],
  input: ProbeInput,
  call: { readonly deadlineMs: number | undefined; readonly signal?: AbortSignal | undefined },
  security: readonly Security[],
): Promise<RegionRun[]> {
  return Promise.all(
    entries.map(async (entry, i): Promise<RegionRun> => {
      const startedAt = new Date();
      const conn = connect(entry.address, security[i]);
      try {
        const summary = await probeOnce(conn, input, {
          ...(call.deadlineMs !== undefined ? { deadlineMs: call.deadlineMs } : {}),
          ...(call.signal !== undefined ? { signal: call.signal } : {}),
        });
        return { entry, startedAt, endedAt: new Date(), summary };
      } catch (error) {
        return { entry, startedAt, endedAt: new Date(), error };
      } finally {
        conn.close();
      }
    }),
  );
}

/** The merged summary of the regions that answered. */
export function mergeRegions(runs: readonly RegionRun[]): Summary {
  return mergeSummaries(runs.flatMap((r) => (r.summary ? [r.summary] : [])));
}

/** Status word of a failed region: the gRPC code name, else ERROR. */
export function regionCode(err: unknown): string {
  return isProberRpcError(err) ? err.codeName : 'ERROR';
}

function errorsText(s: Summary): string {
  return s.errors.length === 0 ? '-' : s.errors.map((e) => `${e.reason}:${e.count}`).join(' ');
}

function pct(s: Summary): string {
  return s.attempts === 0 ? '-' : `${((100 * s.successes) / s.attempts).toFixed(1)}%`;
}

/** The human table: one row per region, then the merged row. */
export function formatRegionTable(
  runs: readonly RegionRun[],
  merged: Summary,
  describe: (r: RegionRun) => string,
  st: Style,
): string {
  const head = ['region', 'status', 'count', 'success', 'p50', 'p90', 'p99', 'avg', 'errors'];
  const row = (name: string, status: string, s: Summary): string[] => [
    name,
    status,
    String(s.attempts),
    pct(s),
    formatMsFixed(s.p50Ms),
    formatMsFixed(s.p90Ms),
    formatMsFixed(s.p99Ms),
    formatMsFixed(s.averageMs),
    errorsText(s),
  ];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const r of runs) {
    if (r.summary) rows.push(row(r.entry.name, r.summary.failures > 0 ? 'FAILING' : 'OK', r.summary));
    else {
      rows.push([r.entry.name, regionCode(r.error), '-', '-', '-', '-', '-', '-', '-']);
      notes.push(st.red(`${r.entry.name}: ${describe(r)}`));
    }
  }
  const answered = runs.filter((r) => r.summary).length;
  rows.push(row(MERGED_LABEL, `${answered}/${runs.length} up`, merged));
  const widths = head.map((_, c) => Math.max(head[c]!.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((v, c) => v.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const body = rows.map((r, i) => (i === rows.length - 1 ? st.bold(line(r)) : line(r)));
  return `${[st.bold(line(head)), ...body, ...notes].join('\n')}\n`;
}

/** One region's --json line: its summary with `region`/`serverRegion`, or a regionError line. */
export function regionLine(
  r: RegionRun,
  run: Omit<RunInfo, 'server' | 'startedAt' | 'endedAt'>,
  describe: (r: RegionRun) => string,
): Record<string, unknown> {
  return r.summary
    ? {
        ...summaryLine(r.summary, { ...run, server: r.entry.address, startedAt: r.startedAt, endedAt: r.endedAt }),
        region: r.entry.name,
        serverRegion: r.summary.region ?? null,
      }
    : {
        type: 'regionError',
        schema: JSON_SCHEMA_VERSION,
        region: r.entry.name,
        server: r.entry.address,
        code: regionCode(r.error),
        message: describe(r),
      };
}

/** The last --json line of a fan-out: the regions that answered, merged. */
export function mergedLine(
  runs: readonly RegionRun[],
  merged: Summary,
  run: Omit<RunInfo, 'server' | 'startedAt' | 'endedAt'>,
): Record<string, unknown> {
  const first = Math.min(...runs.map((r) => r.startedAt.getTime()));
  const last = Math.max(...runs.map((r) => r.endedAt.getTime()));
  const all = summaryLine(merged, { ...run, server: 'all', startedAt: new Date(first), endedAt: new Date(last) });
  return {
    ...all,
    type: 'merged',
    region: MERGED_LABEL,
    regions: runs.length,
    answered: runs.filter((r) => r.summary).length,
  };
}

/** The --json lines: a summary (or regionError) line per region, then the merged line. */
export function regionLines(
  runs: readonly RegionRun[],
  merged: Summary,
  run: Omit<RunInfo, 'server' | 'startedAt' | 'endedAt'>,
  describe: (r: RegionRun) => string,
): Record<string, unknown>[] {
  return [...runs.map((r) => regionLine(r, run, describe)), mergedLine(runs, merged, run)];
}
