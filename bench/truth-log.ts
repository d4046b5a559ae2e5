// Pure parts of the ground-truth target (bench/truth-target.ts): what a
// request asks for, and what the target recorded per tag. Kept apart so the
// correlation logic has a unit test and the bench reads the same types.

/** One request as the target saw it: arrival and its own handling time (ms, target's monotonic clock). */
export interface TruthRecord {
  readonly arriveMs: number;
  readonly handleMs: number;
}

export interface TargetRequest {
  /** How long the target holds the response, ms. */
  readonly delayMs: number;
  /** Which measurement (tool, round) the request belongs to; '' when untagged. */
  readonly tag: string;
}

/**
 * `/delay/N?tag=T` -> { delayMs: N, tag: T }. The prober's URL is fixed per
 * call, so the tag names a call (one tool, one round), not a request; within
 * a tag, arrival order is attempt order when concurrency is 1.
 */
export function parseTargetPath(url: string): TargetRequest | undefined {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const m = /^\/delay\/(\d+)$/.exec(path);
  if (m === null) return undefined;
  const tag = q === -1 ? '' : (new URLSearchParams(url.slice(q + 1)).get('tag') ?? '');
  return { delayMs: Number(m[1]), tag };
}

/** Records per tag, in arrival order; `take` hands them over once. */
export class TruthLog {
  private readonly byTag = new Map<string, TruthRecord[]>();

  add(tag: string, rec: TruthRecord): void {
    let list = this.byTag.get(tag);
    if (list === undefined) {
      list = [];
      this.byTag.set(tag, list);
    }
    list.push(rec);
  }

  take(tag: string): TruthRecord[] {
    const list = this.byTag.get(tag) ?? [];
    this.byTag.delete(tag);
    return list;
  }
}

/** Nearest-rank quantile (q in 0..1) of unsorted values; NaN when empty. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export const median = (xs: readonly number[]): number => quantile(xs, 0.5);

/** What a call cost the target: median handling, and attempts/s over the span it saw them. */
export interface TruthSummary {
  readonly n: number;
  readonly handleP50Ms: number;
  /** n / (last end - first arrival): the rate the target actually served, independent of the tool's start-up. */
  readonly perSec: number;
}

export function summarise(recs: readonly TruthRecord[]): TruthSummary {
  if (recs.length === 0) return { n: 0, handleP50Ms: Number.NaN, perSec: Number.NaN };
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const r of recs) {
    first = Math.min(first, r.arriveMs);
    last = Math.max(last, r.arriveMs + r.handleMs);
  }
  return {
    n: recs.length,
    handleP50Ms: median(recs.map((r) => r.handleMs)),
    perSec: (recs.length / (last - first)) * 1000,
  };
}

/**
 * Per-attempt overhead when attempts are sequential (concurrency 1): the k-th
 * latency (in seq order) minus the k-th handling time (in arrival order).
 */
export function pairedOverheads(latenciesBySeq: readonly number[], recs: readonly TruthRecord[]): number[] {
  if (latenciesBySeq.length !== recs.length) {
    throw new Error(`client saw ${latenciesBySeq.length} attempts, target ${recs.length}`);
  }
  return latenciesBySeq.map((l, i) => l - recs[i]!.handleMs);
}
