// Strip of the most recent latencies, newest on the right; × marks an attempt
// that failed without a response.
import { Text } from 'ink';
import { sparkline } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme } from '../theme.js';

export interface SparklineProps {
  readonly recent: readonly (number | undefined)[];
  readonly width: number;
}

export function Sparkline({ recent, width }: SparklineProps) {
  const theme = useTheme();
  const label = 'recent ';
  const room = Math.max(1, width - label.length - 18);
  const values = recent.slice(-room);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === undefined) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const fail = theme.unicode ? '×' : 'x';
  const line = sparkline(values, fail, !theme.unicode);
  // Colour failures separately so they stand out; the glyph carries the meaning.
  const parts = line.split(fail);
  return (
    <Text wrap="truncate">
      <Text color={tone(theme, 'muted')}>{label}</Text>
      {parts.map((p, i) => (
        <Text key={i}>
          <Text color={tone(theme, 'accent')}>{p}</Text>
          {i < parts.length - 1 ? <Text color={tone(theme, 'bad')}>{fail}</Text> : null}
        </Text>
      ))}
      {values.length > 0 && hi >= lo ? (
        <Text color={tone(theme, 'muted')}>
          {' '}
          {formatMsCompact(lo)}–{formatMsCompact(hi)}
        </Text>
      ) : null}
    </Text>
  );
}
