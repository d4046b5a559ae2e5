// Header, footer and help: the frame around the panels.
import { Box, Text } from 'ink';
import type { FeedSnapshot } from '../feed.js';
import { formatClock, formatCount, formatRate } from '../format.js';
import { tone, useTheme } from '../theme.js';

/** The header's numbers: totals over the same snapshots the panels draw. */
export interface FrameTotals {
  readonly received: number;
  /** Attempts expected in total (repetitions x servers); 0 = continuous. */
  readonly expected: number;
  /** Sum of the panels' rates (the servers probe concurrently). */
  readonly ratePerSec: number;
  /** The longest-running server's. */
  readonly elapsedMs: number;
  /** The least time left over the servers; undefined without a deadline. */
  readonly deadlineLeftMs?: number;
  readonly deadlineReached: boolean;
}

export function frameTotals(snapshots: readonly FeedSnapshot[]): FrameTotals {
  let received = 0;
  let expected = 0;
  let continuous = false;
  let ratePerSec = 0;
  let elapsedMs = 0;
  let deadlineLeftMs: number | undefined;
  let deadlineReached = false;
  for (const s of snapshots) {
    received += s.received;
    expected += s.repetitions;
    if (s.repetitions === 0) continuous = true;
    ratePerSec += s.ratePerSec;
    elapsedMs = Math.max(elapsedMs, s.elapsedMs);
    if (s.deadlineLeftMs !== undefined) deadlineLeftMs = Math.min(deadlineLeftMs ?? Infinity, s.deadlineLeftMs);
    if (s.status === 'deadline') deadlineReached = true;
  }
  return {
    received,
    expected: continuous ? 0 : expected,
    ratePerSec,
    elapsedMs,
    ...(deadlineLeftMs !== undefined ? { deadlineLeftMs } : {}),
    deadlineReached,
  };
}

export interface HeaderProps {
  readonly target: string;
  /** One per server, all from the same tick. */
  readonly snapshots: readonly FeedSnapshot[];
  readonly paused: boolean;
  readonly width: number;
}

/** Two lines: what is probed and from where; then progress, rate, clocks. */
export function Header({ target, snapshots, paused, width }: HeaderProps) {
  const theme = useTheme();
  const t = frameTotals(snapshots);
  const sep = <Text color={tone(theme, 'muted')}> · </Text>;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold color={tone(theme, 'accent')}>
          prober watch
        </Text>{' '}
        <Text bold>{target}</Text>
        {sep}
        <Text color={tone(theme, 'muted')}>{snapshots.length > 1 ? 'servers ' : 'server '}</Text>
        {snapshots.map((s) => s.label).join(', ')}
      </Text>
      <Text wrap="truncate">
        {t.expected > 0 ? (
          <Text>
            attempt {formatCount(t.received)}/{formatCount(t.expected)}
          </Text>
        ) : (
          <Text>{formatCount(t.received)} attempts</Text>
        )}
        {sep}
        {formatRate(t.ratePerSec)}
        {sep}
        <Text color={tone(theme, 'muted')}>elapsed </Text>
        {formatClock(t.elapsedMs)}
        {t.deadlineReached ? (
          <Text>
            {sep}
            <Text color={tone(theme, 'warn')} bold>
              deadline reached
            </Text>
          </Text>
        ) : t.deadlineLeftMs !== undefined ? (
          <Text>
            {sep}
            <Text color={tone(theme, 'muted')}>deadline </Text>
            <Text color={t.deadlineLeftMs < 5000 ? tone(theme, 'warn') : undefined}>
              {formatClock(t.deadlineLeftMs)}
            </Text>
            <Text color={tone(theme, 'muted')}> left</Text>
          </Text>
        ) : null}
        {paused ? (
          <Text>
            {sep}
            <Text inverse={theme.color} bold>
              PAUSED
            </Text>
          </Text>
        ) : null}
      </Text>
    </Box>
  );
}

export interface FooterProps {
  readonly paused: boolean;
  readonly finished: boolean;
  readonly interactive: boolean;
  readonly width: number;
}

export function Footer({ paused, finished, interactive, width }: FooterProps) {
  const theme = useTheme();
  const key = (k: string, what: string) => (
    <Text>
      <Text bold color={tone(theme, 'accent')}>
        {k}
      </Text>
      <Text color={tone(theme, 'muted')}> {what} </Text>
    </Text>
  );
  if (finished) {
    return (
      <Box width={width}>
        <Text color={tone(theme, 'muted')}>finished</Text>
      </Box>
    );
  }
  if (!interactive) {
    return (
      <Box width={width}>
        <Text color={tone(theme, 'muted')}>Ctrl+C to stop</Text>
      </Box>
    );
  }
  return (
    <Box width={width}>
      <Text wrap="truncate">
        {key('q', 'quit')}
        {key('p', paused ? 'resume' : 'pause')}
        {key('r', 'reset stats')}
        {key('?', 'help')}
      </Text>
    </Box>
  );
}

export function Help({ width, height }: { readonly width: number; readonly height: number }) {
  const theme = useTheme();
  const rows: Array<[string, string]> = [
    ['q, Ctrl+C', 'quit: cancel the call and print the final summary'],
    ['p', 'pause / resume drawing (attempts are still counted)'],
    ['r', 'reset the statistics shown (the progress counter keeps counting)'],
    ['?', 'show / hide this help'],
  ];
  const notes = [
    'Histogram: log-spaced buckets from the fastest response; far outliers share one ">" row;',
    'the failed responses of a bucket end its bar (red; ▒ or x without colour).',
    'attempts/s, errors/s: one character per second over the last minute.',
    'Latency stats cover attempts that got an HTTP response, whatever its status;',
    'refused or timed-out attempts count as failures and show as × in "recent".',
    'Phases: median per phase over the attempts where it happened (– = never).',
  ];
  return (
    <Box
      flexDirection="column"
      width={width}
      height={height}
      borderStyle={theme.unicode ? 'round' : 'classic'}
      paddingX={1}
      overflow="hidden"
    >
      <Text bold>keys</Text>
      {rows.map(([k, v]) => (
        <Text key={k} wrap="truncate">
          <Text bold color={tone(theme, 'accent')}>
            {k.padEnd(11)}
          </Text>
          {v}
        </Text>
      ))}
      <Text> </Text>
      {notes.map((n) => (
        <Text key={n} wrap="truncate" color={tone(theme, 'muted')}>
          {n}
        </Text>
      ))}
    </Box>
  );
}
