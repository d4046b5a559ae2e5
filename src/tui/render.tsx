// The one entry point of the TUI: `watch(options)` runs the live screen on a
// terminal, or plain line output when stdout or stdin is not a TTY, and
// resolves with each server's outcome once the final summary is printed.
import { render } from 'ink';
import { App } from './components/App.js';
import { StreamFeed, type FeedOutcome, type WatchSource } from './feed.js';
import type { AttemptResult } from '../probe/types.js';
import { DEFAULT_THEME, type Theme } from './theme.js';
import { writeOut } from '../common/output.js';
import { onStopSignals } from '../common/signals.js';

export interface WatchOptions {
  /** The URL being probed (header). */
  readonly target: string;
  /** One per server; one panel each. */
  readonly sources: readonly WatchSource[];
  /** Requested attempts per server; 0 = continuous. */
  readonly repetitions: number;
  /** The call deadline, ms from start (countdown only; the source enforces it). */
  readonly deadlineMs?: number;
  /** Debug: delay per consumed event, to demonstrate backpressure. */
  readonly slowConsumerMs?: number;
  /** Ink's frame cap (default 30). */
  readonly maxFps?: number;
  /** Minimum time between stats snapshots (default 100 ms). */
  readonly refreshMs?: number;
  readonly theme?: Theme;
  /** Aborted on SIGINT/SIGTERM by the CLI. Without it, watch handles those signals itself. */
  readonly signal?: AbortSignal;
  readonly stdout?: NodeJS.WriteStream;
  readonly stdin?: NodeJS.ReadStream;
  readonly stderr?: NodeJS.WriteStream;
  /** Force a mode; default: 'tui' when both stdout and stdin are TTYs. */
  readonly mode?: 'tui' | 'plain';
  /** Text for the normal screen (the CLI's formatting): line mode and the final summary. */
  readonly report: WatchReport;
}

export interface WatchReport {
  /** One line (no newline) per attempt in line mode; `label` is set when there are several servers. */
  attempt(a: AttemptResult, label: string | undefined): string;
  /** The final summary of one server's run, printed after the screen is left. */
  summary(run: WatchRun): string;
}

export interface WatchRun {
  readonly label: string;
  readonly outcome: FeedOutcome;
}

/** How long a cancelled stream may take to end before we stop waiting for it. */
const CANCEL_GRACE_MS = 3000;

export function isInteractive(stdout: { isTTY?: boolean }, stdin: { isTTY?: boolean }): boolean {
  return stdout.isTTY === true && stdin.isTTY === true;
}

/** Runs the watch: TUI or line mode. Never rejects for stream failures (they are outcomes). */
export async function watch(opts: WatchOptions): Promise<WatchRun[]> {
  const stdout = opts.stdout ?? process.stdout;
  const stdin = opts.stdin ?? process.stdin;
  const mode = opts.mode ?? (isInteractive(stdout, stdin) ? 'tui' : 'plain');
  return mode === 'tui' ? runTui(opts, stdout, stdin) : runPlain(opts, stdout);
}

/** Label of the merged panel. */
export const ALL_REGIONS = 'all regions';

/** Never yields: the merged feed is only folded into, by the regions' feeds. */
const NO_SOURCE = {
  label: ALL_REGIONS,
  open: (): AsyncIterable<never> => ({ [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }) }),
};

/**
 * One feed per server. Several servers in a continuous run: a region whose
 * server fails reconnects with backoff (a finite run would ask for all its
 * attempts again, so it keeps its error), and every attempt is also folded
 * into `merged`, the "all regions" panel.
 */
function makeFeeds(
  opts: WatchOptions,
  onEvent?: (label: string) => StreamFeedOnEvent,
): { feeds: StreamFeed[]; merged?: StreamFeed } {
  const many = opts.sources.length > 1;
  const merged = many ? new StreamFeed(NO_SOURCE, { repetitions: 0 }) : undefined;
  const reconnect = many && opts.repetitions === 0;
  const feeds = opts.sources.map(
    (src) =>
      new StreamFeed(src, {
        repetitions: opts.repetitions,
        ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
        ...(opts.slowConsumerMs !== undefined ? { slowConsumerMs: opts.slowConsumerMs } : {}),
        ...(onEvent ? { onEvent: onEvent(src.label) } : {}),
        ...(merged !== undefined ? { tee: merged } : {}),
        ...(reconnect ? { reconnect: {} } : {}),
      }),
  );
  return { feeds, ...(merged !== undefined ? { merged } : {}) };
}
type StreamFeedOnEvent = NonNullable<ConstructorParameters<typeof StreamFeed>[1]['onEvent']>;

/** Calls `onStop` on the CLI's signal, or on SIGINT/SIGTERM if there is none. Returns the undo. */
function onStopRequest(signal: AbortSignal | undefined, onStop: () => void): () => void {
  if (signal !== undefined) {
    if (signal.aborted) queueMicrotask(onStop);
    signal.addEventListener('abort', onStop, { once: true });
    return () => signal.removeEventListener('abort', onStop);
  }
  // Without a handler an external `kill -INT` would kill the process before
  // the terminal is restored and the summary printed.
  return onStopSignals(() => onStop());
}

async function settle(feeds: readonly StreamFeed[]): Promise<WatchRun[]> {
  for (const f of feeds) f.cancel(); // no-op for those that have ended
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, CANCEL_GRACE_MS);
  });
  await Promise.race([Promise.all(feeds.map((f) => f.start())), grace]);
  clearTimeout(timer);
  return feeds.map((f) => ({ label: f.label, outcome: f.outcomeNow() }));
}

async function runTui(opts: WatchOptions, stdout: NodeJS.WriteStream, stdin: NodeJS.ReadStream): Promise<WatchRun[]> {
  const { feeds, merged } = makeFeeds(opts);
  let forceTimer: NodeJS.Timeout | undefined;
  const quit = (): void => {
    for (const f of feeds) f.cancel();
    // The app exits by itself once every stream has ended; if one ignores
    // the cancellation, unmount anyway.
    forceTimer ??= setTimeout(() => instance.unmount(), CANCEL_GRACE_MS);
  };
  const undoSignals = onStopRequest(opts.signal, quit);
  const instance = render(
    <App
      target={opts.target}
      feeds={feeds}
      {...(merged !== undefined ? { merged } : {})}
      refreshMs={opts.refreshMs ?? 100}
      theme={opts.theme ?? DEFAULT_THEME}
      onQuit={quit}
    />,
    {
      stdout,
      stdin,
      stderr: opts.stderr ?? process.stderr,
      // q and Ctrl+C go through onQuit: cancel the call, then exit.
      exitOnCtrlC: false,
      maxFps: opts.maxFps ?? 30,
    },
  );
  try {
    await instance.waitUntilExit();
  } finally {
    undoSignals();
    clearTimeout(forceTimer);
  }
  const runs = await settle(feeds);
  await writeSummaries(stdout, opts, runs);
  return runs;
}

/** The final summaries, after a blank line; nothing at all when none has text (e.g. a rejected request). */
async function writeSummaries(
  stdout: NodeJS.WritableStream,
  opts: WatchOptions,
  runs: readonly WatchRun[],
): Promise<void> {
  const text = runs
    .map((r) => opts.report.summary(r))
    .filter((t) => t !== '')
    .join('\n');
  if (text !== '') await writeOut(stdout, `\n${text}`);
}

async function runPlain(opts: WatchOptions, stdout: NodeJS.WritableStream): Promise<WatchRun[]> {
  const many = opts.sources.length > 1;
  const { feeds } = makeFeeds(opts, (label) => (ev) => {
    if (ev.kind !== 'attempt') return;
    // Awaited by the feed: a slow pipe slows consumption, which paces the server.
    return writeOut(stdout, `${opts.report.attempt(ev.attempt, many ? label : undefined)}\n`);
  });
  let stopped: () => void = () => {};
  const stop = new Promise<void>((resolve) => {
    stopped = resolve;
  });
  const undoSignals = onStopRequest(opts.signal, () => {
    for (const f of feeds) f.cancel();
    stopped();
  });
  try {
    // settle() below bounds the wait for a stream that ignores cancellation.
    await Promise.race([Promise.all(feeds.map((f) => f.start())), stop]);
  } finally {
    undoSignals();
  }
  const runs = await settle(feeds);
  await writeSummaries(stdout, opts, runs);
  return runs;
}
