// The watch screen: a header, one panel per server, a footer with keys.
import { useEffect, useRef, useState } from 'react';
import { Box, useApp, useInput, useStdin } from 'ink';
import type { StreamFeed } from '../feed.js';
import { useFeedFrame, useTerminalSize, type TerminalSize } from '../hooks.js';
import { compareLayout, panelHeight, panelLayout } from '../layout.js';
import { ThemeProvider, DEFAULT_THEME, type Theme } from '../theme.js';
import { Footer, Header, Help } from './Chrome.js';
import { RegionPanel } from './RegionPanel.js';
import { VerdictLine } from './Verdict.js';

export interface AppProps {
  /** The URL being probed. */
  readonly target: string;
  readonly feeds: readonly StreamFeed[];
  /** Several servers: the feed every region tees into (the "all regions" panel). */
  readonly merged?: StreamFeed;
  /** Minimum time between snapshots. */
  readonly refreshMs?: number;
  readonly theme?: Theme;
  /** q / Ctrl+C: the caller cancels the feeds; the app exits once they have ended. */
  readonly onQuit: () => void;
  /** Fixed size (tests); otherwise the terminal's. */
  readonly size?: TerminalSize;
}

export function App({ target, feeds, merged, refreshMs = 100, theme = DEFAULT_THEME, onQuit, size }: AppProps) {
  const { exit } = useApp();
  const { isRawModeSupported } = useStdin();
  const { columns, rows } = useTerminalSize(size);
  const [paused, setPaused] = useState(false);
  const [help, setHelp] = useState(false);
  const quitting = useRef(false);
  const width = Math.max(40, columns);
  // Several regions: one layout for every panel (same histogram rows, so one axis fits all).
  const compare = merged !== undefined ? compareLayout(width, rows, feeds.length + 1) : undefined;
  const h = compare !== undefined ? compare.panel.height : panelHeight(rows, feeds.length);
  const layout = compare?.panel ?? panelLayout(width, h);
  // The header and every panel draw from this one set of snapshots.
  const frame = useFeedFrame(feeds, {
    histogramRows: layout.histogramRows,
    recent: layout.statsWidth,
    refreshMs,
    paused,
    ...(merged !== undefined ? { merged } : {}),
  });
  const { snapshots, finished } = frame;

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
      else if (input === 'r') for (const f of merged !== undefined ? [...feeds, merged] : feeds) f.reset();
      else if (input === '?') setHelp((x) => !x);
      else if (key.escape && help) setHelp(false);
    },
    { isActive: isRawModeSupported === true },
  );

  return (
    <ThemeProvider value={theme}>
      <Box flexDirection="column" width={width}>
        <Header target={target} snapshots={snapshots} paused={paused} width={width} />
        {compare !== undefined ? <VerdictLine regions={snapshots} /> : null}
        {help && !finished ? (
          <Help
            width={width}
            height={compare !== undefined ? (compare.columns ? h : h * (feeds.length + 1)) : h * feeds.length}
          />
        ) : (
          <Box flexDirection={compare?.columns === true ? 'row' : 'column'}>
            {snapshots.map((s, i) => (
              <RegionPanel key={`${i}:${s.label}`} snapshot={s} layout={layout} />
            ))}
            {frame.merged !== undefined ? <RegionPanel snapshot={frame.merged} layout={layout} merged /> : null}
          </Box>
        )}
        <Footer paused={paused} finished={finished} interactive={isRawModeSupported === true} width={width} />
      </Box>
    </ThemeProvider>
  );
}
