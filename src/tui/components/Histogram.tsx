// Latency histogram: one row per log-spaced bucket, bar length proportional
// to the count, count at the end of the bar.
import { Box, Text } from 'ink';
import type { Histogram as HistogramData } from '../../stats/index.js';
import { bar, fit, formatCount } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme } from '../theme.js';

export interface HistogramProps {
  readonly histogram: HistogramData;
  /** Columns available. */
  readonly width: number;
  /** Rows available for buckets (the data should already have at most this many). */
  readonly rows: number;
}

export function Histogram({ histogram, width, rows }: HistogramProps) {
  const theme = useTheme();
  const buckets = histogram.buckets.slice(-Math.max(1, rows));
  if (buckets.length === 0) {
    return (
      <Box flexDirection="column" width={width}>
        <Text color={tone(theme, 'muted')}>waiting for responses…</Text>
      </Box>
    );
  }
  let max = histogram.overflow;
  for (const b of buckets) if (b.count > max) max = b.count;
  const labels = buckets.map((b) => formatMsCompact(b.upperBoundMs));
  if (histogram.overflow > 0) labels.push(`>${formatMsCompact(buckets[buckets.length - 1]!.upperBoundMs)}`);
  const labelW = Math.max(...labels.map((l) => l.length));
  const countW = formatCount(max).length;
  // label, " │", bar, " ", count
  const barW = Math.max(1, width - labelW - 2 - 1 - countW);
  const axis = theme.unicode ? '│' : '|';
  const counts = buckets.map((b) => b.count);
  if (histogram.overflow > 0) counts.push(histogram.overflow);
  return (
    <Box flexDirection="column" width={width}>
      {counts.map((count, i) => {
        const b = bar(max > 0 ? count / max : 0, barW, !theme.unicode);
        return (
          <Text key={i} wrap="truncate">
            <Text color={tone(theme, 'muted')}>{fit(labels[i]!, labelW, 'right')} {axis}</Text>
            <Text color={tone(theme, 'bar')}>{b}</Text>
            {count > 0 ? <Text> {formatCount(count)}</Text> : null}
          </Text>
        );
      })}
    </Box>
  );
}
