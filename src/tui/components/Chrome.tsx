// Header, footer and help: the frame around the panels.
import { Box, Text } from 'ink';
import { formatClock, formatCount, formatRate } from '../format.js';
import { tone, useTheme } from '../theme.js';

export interface HeaderProps {
  readonly target: string;
  readonly servers: readonly string[];
  readonly received: number;
  /** Attempts expected in total (repetitions x servers); 0 = continuous. */
  readonly expected: number;
  readonly ratePerSec: number;
  readonly elapsedMs: number;
  readonly deadlineLeftMs?: number;
  readonly deadlineReached: boolean;
  readonly paused: boolean;
  readonly width: number;
}

/** Two lines: what is probed and from where; then progress, rate, clocks. */
export function Header(p: HeaderProps) {
  const theme = useTheme();
  const sep = <Text color={tone(theme, 'muted')}> · </Text>;
  return (
    <Box flexDirection="column" width={p.width}>
      <Text wrap="truncate">
        <Text bold color={tone(theme, 'accent')}>
          prober watch
        </Text>{' '}
        <Text bold>{p.target}</Text>
        {sep}
        <Text color={tone(theme, 'muted')}>{p.servers.length > 1 ? 'servers ' : 'server '}</Text>
        {p.servers.join(', ')}
      </Text>
      <Text wrap="truncate">
        {p.expected > 0 ? (
          <Text>
            attempt {formatCount(p.received)}/{formatCount(p.expected)}
          </Text>
        ) : (
          <Text>{formatCount(p.received)} attempts</Text>
        )}
        {sep}
        {formatRate(p.ratePerSec)}
        {sep}
        <Text color={tone(theme, 'muted')}>elapsed </Text>
        {formatClock(p.elapsedMs)}
        {p.deadlineReached ? (
          <Text>
            {sep}
            <Text color={tone(theme, 'warn')} bold>
              deadline reached
            </Text>
          </Text>
        ) : p.deadlineLeftMs !== undefined ? (
          <Text>
            {sep}
            <Text color={tone(theme, 'muted')}>deadline </Text>
            <Text color={p.deadlineLeftMs < 5000 ? tone(theme, 'warn') : undefined}>
              {formatClock(p.deadlineLeftMs)}
            </Text>
            <Text color={tone(theme, 'muted')}> left</Text>
          </Text>
        ) : null}
        {p.paused ? (
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
      <Text color={tone(theme, 'muted')}> {what}   </Text>
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
    'Histogram: log-spaced buckets between the fastest and slowest response.',
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
