// The comparison view's pure parts: which regions are down, the headline
// verdict, and the merged "all regions" snapshot's run-level fields.
import { DOWN_STREAK, type FeedSnapshot, type FeedStatus } from './feed.js';

export type RegionHealth = 'up' | 'down' | 'pending';

/**
 * Down: its stream failed (and is reconnecting, or gave up), or its last
 * DOWN_STREAK attempts all failed. Up: not down and at least one attempt
 * received. Pending: still connecting, nothing received yet.
 */
export function regionHealth(s: FeedSnapshot): RegionHealth {
  if (s.status === 'error' || s.status === 'reconnecting' || s.failStreak >= DOWN_STREAK) return 'down';
  return s.received > 0 || s.status !== 'connecting' ? 'up' : 'pending';
}

/** Why a region is down: the stream's status name, else the reason its attempts fail. */
export function downReason(s: FeedSnapshot): string {
  if (s.status === 'error' || s.status === 'reconnecting') return s.failure?.codeName ?? 'ERROR';
  return s.streakReason ?? 'FAILING';
}

export interface Verdict {
  readonly down: number;
  readonly up: number;
  readonly total: number;
  /** "up in 3/3 regions", "DOWN in 1/3 (eu: CONNECT_TIMEOUT)". */
  readonly text: string;
}

export function verdict(regions: readonly FeedSnapshot[]): Verdict {
  const total = regions.length;
  const down = regions.filter((s) => regionHealth(s) === 'down');
  const up = regions.filter((s) => regionHealth(s) === 'up').length;
  if (down.length > 0) {
    const why = down.map((s) => `${s.label}: ${downReason(s)}`).join(', ');
    return { down: down.length, up, total, text: `DOWN in ${down.length}/${total} (${why})` };
  }
  const pending = total - up;
  const text = `up in ${up}/${total} regions${pending > 0 ? ` (${pending} connecting)` : ''}`;
  return { down: 0, up, total, text };
}

/**
 * The merged panel's snapshot: the statistics from the feed every region tees
 * into; progress, clocks and state from the regions (the merged feed itself
 * is never started).
 */
export function mergedSnapshot(base: FeedSnapshot, regions: readonly FeedSnapshot[]): FeedSnapshot {
  let elapsedMs = 0;
  let ratePerSec = 0;
  let repetitions = 0;
  let deadlineLeftMs: number | undefined;
  for (const s of regions) {
    elapsedMs = Math.max(elapsedMs, s.elapsedMs);
    ratePerSec += s.ratePerSec;
    repetitions = s.repetitions === 0 || repetitions < 0 ? -1 : repetitions + s.repetitions;
    if (s.deadlineLeftMs !== undefined) deadlineLeftMs = Math.min(deadlineLeftMs ?? Infinity, s.deadlineLeftMs);
  }
  const live: FeedStatus[] = ['connecting', 'running', 'reconnecting'];
  const status: FeedStatus = regions.some((s) => live.includes(s.status)) ? 'running' : 'done';
  const { deadlineLeftMs: _drop, failure: _f, serverSummary: _s, retryInMs: _r, ...rest } = base;
  return {
    ...rest,
    status,
    elapsedMs,
    ratePerSec,
    repetitions: Math.max(0, repetitions),
    ...(deadlineLeftMs !== undefined ? { deadlineLeftMs } : {}),
  };
}
