// Hooks: every feed's snapshot taken together on one throttled tick (the
// header and the panels draw the same frame); terminal size with fallbacks.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useStdout } from 'ink';
import type { FeedSnapshot, SnapshotOptions, StreamFeed } from './feed.js';
import { mergedSnapshot } from './compare.js';

export interface FrameOptions extends SnapshotOptions {
  /** Minimum time between snapshots. */
  readonly refreshMs: number;
  /** Freeze the frame (the streams are still consumed). */
  readonly paused: boolean;
  /** Several regions: the feed they all tee into; its axis is every region's. */
  readonly merged?: StreamFeed;
}

/** What one frame draws: one immutable snapshot per feed, in feed order. */
export interface Frame {
  readonly snapshots: readonly FeedSnapshot[];
  /** The "all regions" panel, with `merged`. */
  readonly merged?: FeedSnapshot;
  /** The bucket bounds every histogram of this frame shares (with `merged`). */
  readonly boundsMs?: readonly number[];
  /** Every stream has ended and these are the final snapshots. */
  readonly finished: boolean;
}

/**
 * Starts consuming `feeds` (once) and returns the latest frame. Events are
 * folded as they arrive; snapshots are taken at most every `refreshMs`, and
 * less often when building them gets expensive (huge runs), so drawing never
 * competes with consumption. A stream's final state is always drawn, even
 * when paused.
 */
export function useFeedFrame(feeds: readonly StreamFeed[], opts: FrameOptions): Frame {
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const [frame, setFrame] = useState<Frame>(() => buildFrame(feeds, opts, undefined, () => true, false));
  // The committed frame, so a partial refresh can keep the other snapshots.
  const current = useRef(frame);

  /** Snapshots the feeds `fresh` picks (keeping the others) and commits the frame; returns the cost in ms. */
  const refresh = useCallback(
    (fresh: (f: StreamFeed) => boolean, finished: boolean): number => {
      const t0 = performance.now();
      const next = buildFrame(feeds, optsRef.current, current.current, fresh, finished);
      current.current = next;
      setFrame(next);
      return performance.now() - t0;
    },
    [feeds],
  );

  useEffect(() => {
    let alive = true;
    let timer: NodeJS.Timeout | undefined;
    let costMs = 0;
    const tick = (): void => {
      timer = undefined;
      if (!alive) return;
      if (!optsRef.current.paused) costMs = refresh(() => true, false);
      // Spend at most ~10% of the time on snapshots.
      timer = setTimeout(tick, Math.max(optsRef.current.refreshMs, costMs * 10));
    };
    tick();
    // A stream that ends is drawn at once; the others stay frozen when paused.
    for (const f of feeds) {
      void f.start().then(() => {
        if (alive && !feeds.every((g) => g.finished)) refresh((g) => g.finished || !optsRef.current.paused, false);
      });
    }
    void Promise.all(feeds.map((f) => f.start())).then(() => {
      if (!alive) return;
      alive = false;
      if (timer) clearTimeout(timer);
      refresh(() => true, true);
    });
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [feeds, refresh]);

  // Re-bin at once when the space changes (resize) or on unpause.
  const { histogramRows, recent, paused } = opts;
  // biome-ignore lint/correctness/useExhaustiveDependencies: feeds and the sizes are triggers here, read through refresh
  useEffect(() => {
    if (!paused) refresh(() => true, current.current.finished);
  }, [feeds, histogramRows, recent, paused, refresh]);

  return frame;
}

/**
 * One frame: the snapshots `fresh` picks are taken anew, the others kept. With
 * a merged feed every histogram is binned with the same bounds, taken once
 * from the merged feed (all regions' responses); a partial refresh reuses the
 * previous frame's bounds so the kept snapshots still match.
 */
function buildFrame(
  feeds: readonly StreamFeed[],
  opts: FrameOptions,
  prev: Frame | undefined,
  fresh: (f: StreamFeed) => boolean,
  finished: boolean,
): Frame {
  const merged = opts.merged;
  const all = prev === undefined || feeds.every(fresh);
  const boundsMs = merged === undefined ? undefined : all ? merged.axisBounds(opts.histogramRows) : prev.boundsMs;
  const snapOpts = { ...opts, ...(boundsMs !== undefined ? { boundsMs } : {}) };
  const snapshots = feeds.map((f, i) => {
    const old = prev?.snapshots[i];
    return old !== undefined && !fresh(f) ? old : f.snapshot(snapOpts);
  });
  const keepMerged = !all && prev?.merged !== undefined;
  return {
    snapshots,
    ...(merged !== undefined
      ? { merged: keepMerged ? prev.merged! : mergedSnapshot(merged.snapshot(snapOpts), snapshots) }
      : {}),
    ...(boundsMs !== undefined ? { boundsMs } : {}),
    finished,
  };
}

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

function readSize(stdout: NodeJS.WriteStream): TerminalSize {
  return { columns: stdout.columns > 0 ? stdout.columns : 80, rows: stdout.rows > 0 ? stdout.rows : 24 };
}

/** Terminal size from Ink's stdout, following resizes; 80x24 when unknown. */
export function useTerminalSize(override?: TerminalSize): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => readSize(stdout));
  useEffect(() => {
    if (override) return;
    const onResize = (): void => setSize(readSize(stdout));
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, override]);
  return override ?? size;
}
