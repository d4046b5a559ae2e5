// Hooks: fold a stream into stats (via StreamFeed) and expose snapshots on a
// throttled tick; terminal size with fallbacks.
import { useEffect, useRef, useState } from 'react';
import { useStdout } from 'ink';
import type { FeedSnapshot, StreamFeed } from './feed.js';

export interface ProbeStreamOptions {
  readonly histogramRows: number;
  readonly recent: number;
  /** Minimum time between snapshots. */
  readonly refreshMs: number;
  /** Freeze the snapshot (the stream is still consumed). */
  readonly paused: boolean;
}

/**
 * Starts consuming `feed` (once) and returns its latest snapshot. Events are
 * folded as they arrive; a snapshot is taken at most every `refreshMs`, and
 * less often when building one gets expensive (huge runs), so drawing never
 * competes with consumption. The final state is always drawn, even if paused.
 */
export function useProbeStream(feed: StreamFeed, opts: ProbeStreamOptions): FeedSnapshot {
  const optsRef = useRef(opts);
  optsRef.current = opts;
  const [snap, setSnap] = useState(() => feed.snapshot(opts));

  useEffect(() => {
    let alive = true;
    let timer: NodeJS.Timeout | undefined;
    let costMs = 0;
    const take = (): void => {
      const t0 = performance.now();
      setSnap(feed.snapshot(optsRef.current));
      costMs = performance.now() - t0;
    };
    const tick = (): void => {
      timer = undefined;
      if (!alive || feed.finished) return;
      if (!optsRef.current.paused) take();
      // Spend at most ~10% of the time on snapshots.
      timer = setTimeout(tick, Math.max(optsRef.current.refreshMs, costMs * 10));
    };
    tick();
    void feed.start().then(() => {
      if (!alive) return;
      if (timer) clearTimeout(timer);
      take();
    });
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [feed]);

  // Re-bin at once when the space changes (resize) or on unpause.
  const { histogramRows, recent, paused } = opts;
  useEffect(() => {
    if (!paused) setSnap(feed.snapshot(optsRef.current));
  }, [feed, histogramRows, recent, paused]);

  return snap;
}

export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

/** Terminal size from Ink's stdout, following resizes; 80x24 when unknown. */
export function useTerminalSize(override?: TerminalSize): TerminalSize {
  const { stdout } = useStdout();
  const read = (): TerminalSize => ({
    columns: stdout.columns > 0 ? stdout.columns : 80,
    rows: stdout.rows > 0 ? stdout.rows : 24,
  });
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (override) return;
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout, override]);
  return override ?? size;
}

/** A value that changes every `ms` (for clocks); stops when `active` is false. */
export function useTicker(ms: number, active: boolean): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setN((x) => x + 1), ms);
    return () => clearInterval(t);
  }, [ms, active]);
  return n;
}
