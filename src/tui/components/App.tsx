// The watch screen: a header, one panel per server, a footer with keys.
import { useEffect, useRef, useState } from 'react';
import { Box, useApp, useInput, useStdin } from 'ink';
import { RateMeter, type StreamFeed } from '../feed.js';
import { useProbeStream, useTerminalSize, useTicker, type TerminalSize } from '../hooks.js';
import { panelHeight, panelLayout, type PanelLayout } from '../layout.js';
import { ThemeProvider, DEFAULT_THEME, type Theme } from '../theme.js';
import { Footer, Header, Help } from './Chrome.js';
import { RegionPanel } from './RegionPanel.js';

export interface AppProps {
  /** The URL being probed. */
  readonly target: string;
  readonly feeds: readonly StreamFeed[];
  /** Requested attempts per server; 0 = continuous. */
  readonly repetitions: number;
  /** The call's deadline (relative), for the countdown. */
  readonly deadlineMs?: number;
  /** Minimum time between snapshots. */
  readonly refreshMs?: number;
  readonly theme?: Theme;
  /** q / Ctrl+C: the caller cancels the feeds; the app exits once they have ended. */
  readonly onQuit: () => void;
  /** Fixed size (tests); otherwise the terminal's. */
  readonly size?: TerminalSize;
}

function LiveRegion({
  feed,
  layout,
  refreshMs,
  paused,
}: {
  readonly feed: StreamFeed;
  readonly layout: PanelLayout;
  readonly refreshMs: number;
  readonly paused: boolean;
}) {
  const snapshot = useProbeStream(feed, {
    histogramRows: layout.histogramRows,
    recent: layout.statsWidth,
    refreshMs,
    paused,
  });
  return <RegionPanel snapshot={snapshot} layout={layout} />;
}

export function App({
  target,
  feeds,
  repetitions,
  deadlineMs,
  refreshMs = 100,
  theme = DEFAULT_THEME,
  onQuit,
  size,
}: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize(size);
  const [paused, setPaused] = useState(false);
  const [help, setHelp] = useState(false);
  const [finished, setFinished] = useState(false);
  const quitting = useRef(false);
  const meter = useRef(new RateMeter());

  useTicker(Math.max(refreshMs, 250), !finished && !paused);

  useEffect(() => {
    let alive = true;
    void Promise.all(feeds.map((f) => f.start())).then(() => {
      if (alive) setFinished(true);
    });
    return () => {
      alive = false;
    };
  }, [feeds]);

  // Exit after the final frame has been committed.
  useEffect(() => {
    if (!finished) return;
    const t = setTimeout(() => exit(), 0);
    return () => clearTimeout(t);
  }, [finished, exit]);

  useInput(
    (input, key) => {
      if (input === 'q' || (key.ctrl && input === 'c')) {
        if (!quitting.current) {
          quitting.current = true;
          onQuit();
        }
      } else if (input === 'p') setPaused((x) => !x);
      else if (input === 'r') for (const f of feeds) f.reset();
      else if (input === '?') setHelp((x) => !x);
      else if (key.escape && help) setHelp(false);
    },
    { isActive: isRawModeSupported === true },
  );

  let received = 0;
  let elapsed = 0;
  let deadlineReached = false;
  for (const f of feeds) {
    received += f.received;
    elapsed = Math.max(elapsed, f.elapsedMs);
    if (f.status === 'deadline') deadlineReached = true;
  }
  const rate = finished
    ? elapsed > 0
      ? (received * 1000) / elapsed
      : 0
    : meter.current.sample(performance.now(), received);
  const width = Math.max(40, columns);
  const h = panelHeight(rows, feeds.length);
  const layout = panelLayout(width, h);

  return (
    <ThemeProvider value={theme}>
      <Box flexDirection="column" width={width}>
        <Header
          target={target}
          servers={feeds.map((f) => f.label)}
          received={received}
          expected={repetitions * feeds.length}
          ratePerSec={rate}
          elapsedMs={elapsed}
          {...(deadlineMs !== undefined ? { deadlineLeftMs: Math.max(0, deadlineMs - elapsed) } : {})}
          deadlineReached={deadlineReached}
          paused={paused}
          width={width}
        />
        {help && !finished ? (
          <Help width={width} height={h * feeds.length} />
        ) : (
          feeds.map((f, i) => (
            <LiveRegion key={`${i}:${f.label}`} feed={f} layout={layout} refreshMs={refreshMs} paused={paused} />
          ))
        )}
        <Footer paused={paused} finished={finished} interactive={isRawModeSupported === true} width={width} />
      </Box>
    </ThemeProvider>
  );
}
