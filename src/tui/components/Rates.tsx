// Attempts/s and errors/s over the last minute (or as many seconds as fit),
// one character per second, newest on the right, like oha's requests/s chart.
import { Box, Text } from 'ink';
import type { RateSeries } from '../feed.js';
import { formatCount, rateSparkline } from '../format.js';
import { tone, useTheme } from '../theme.js';

export interface RatesProps {
  readonly rates: RateSeries;
  readonly width: number;
  /** One line: attempts/s only, the latest errors/s as a number. */
  readonly compact?: boolean;
}

const LABEL_W = 11; // "attempts/s "

export function Rates({ rates, width, compact = false }: RatesProps) {
  const theme = useTheme();
  const ascii = !theme.unicode;
  // Room for the chart: label, then " 1,234/s peak 1,234".
  const room = Math.max(1, Math.min(60, width - LABEL_W - 18));
  const att = rates.attempts.slice(-room);
  const err = rates.errors.slice(-room);
  const last = (xs: readonly number[]): number => xs[xs.length - 1] ?? 0;
  let peak = 0;
  for (const v of att) if (v > peak) peak = v;
  const span = att.length > 0 ? `${att.length}s` : '';
  // Errors on the attempts' scale, so the bars read as a share (any error still shows).
  const line = (label: string, xs: readonly number[], t: 'accent' | 'bad', extra: string) => (
    <Text wrap="truncate">
      <Text color={tone(theme, 'muted')}>{label.padEnd(LABEL_W)}</Text>
      {xs.length === 0 ? (
        <Text color={tone(theme, 'muted')}>–</Text>
      ) : (
        <Text>
          <Text color={tone(theme, t)}>{rateSparkline(xs, ascii, peak)}</Text> {formatCount(last(xs))}
          <Text color={tone(theme, 'muted')}>{extra}</Text>
        </Text>
      )}
    </Text>
  );
  if (compact) {
    return (
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>{'attempts/s '}</Text>
        {att.length === 0 ? <Text color={tone(theme, 'muted')}>–</Text> : null}
        <Text color={tone(theme, 'accent')}>{rateSparkline(att, ascii)}</Text>
        {att.length > 0 ? ` ${formatCount(last(att))}` : ''}
        <Text color={tone(theme, 'muted')}> · errors/s </Text>
        <Text color={last(err) > 0 ? tone(theme, 'bad') : undefined}>{formatCount(last(err))}</Text>
      </Text>
    );
  }
  return (
    <Box flexDirection="column" width={width}>
      {line('attempts/s', att, 'accent', ` peak ${formatCount(peak)} · ${span}`)}
      {line('errors/s', err, 'bad', '')}
    </Box>
  );
}
