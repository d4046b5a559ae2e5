// The watch screen: a header, one panel per server, a footer with keys.
import { useEffect, useRef, useState } from 'react';
import { Box, useApp, useInput, useStdin } from 'ink';
import type { StreamFeed } from '../feed.js';
import { useFeedFrame, useTerminalSize, type TerminalSize } from '../hooks.js';
import { panelHeight, panelLayout } from '../layout.js';
import { ThemeProvider, DEFAULT_THEME, type Theme } from '../theme.js';
import { Footer, Header, Help } from './Chrome.js';
import { RegionPanel } from './RegionPanel.js';

export interface AppProps {
  /** The URL being probed. */
  readonly target: string;
  readonly feeds: readonly StreamFeed[];
  /** Minimum time between snapshots. */
  readonly refreshMs?: number;
  readonly theme?: Theme;
  /** q / Ctrl+C: the caller cancels the feeds; the app exits once they have ended. */
  readonly onQuit: () => void;
  /** Fixed size (tests); otherwise the terminal's. */
  readonly size?: TerminalSize;
}

export function App({ target, feeds, refreshMs = 100, theme = DEFAULT_THEME, onQuit, size }: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize(size);
  const [paused, setPaused] = useState(false);
  const [help, setHelp] = useState(false);
  const quitting = useRef(false);
  const width = Math.max(40, columns);
  const h = panelHeight(rows, feeds.length);
  const layout = panelLayout(width, h);
  // The header and every panel draw from this one set of snapshots.
  const { snapshots, finished } = useFeedFrame(feeds, {
    histogramRows: layout.histogramRows,
    recent: layout.statsWidth,
    refreshMs,
    paused,
  });

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

  return (
    <ThemeProvider value={theme}>
      <Box flexDirection="column" width={width}>
        <Header target={target} snapshots={snapshots} paused={paused} width={width} />
        {help && !finished ? (
          <Help width={width} height={h * feeds.length} />
        ) : (
          snapshots.map((s, i) => <RegionPanel key={`${i}:${s.label}`} snapshot={s} layout={layout} />)
        )}
        <Footer paused={paused} finished={finished} interactive={isRawModeSupported === true} width={width} />
      </Box>
    </ThemeProvider>
  );
}
