// Latency histogram: one row per log-spaced bucket, bar length proportional
// to the count, count at the end of the bar. The failed responses of a bucket
// end its bar in the bad tone (without colour: a different fill, see
// failedMark); the slowest responses past the axis share one overflow row.
import { Box, Text } from 'ink';
import type { BarHistogram } from '../feed.js';
import { fit, formatCount, splitBar } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme, type Theme } from '../theme.js';

export interface HistogramProps {
  readonly histogram: BarHistogram;
  /** Columns available. */
  readonly width: number;
  /** Rows available, the overflow row included. */
  readonly rows: number;
}

/** The fill of a bar's failed part when colour cannot say it; undefined when colour does. */
export function failedMark(theme: Theme): string | undefined {
  if (!theme.unicode) return 'x';
  return theme.color ? undefined : '▒';
}

/** Whether any bucket (or the overflow) holds a failed response. */
export function hasFailed(h: BarHistogram): boolean {
  return (h.overflowFailed ?? 0) > 0 || h.buckets.some((b) => (b.failed ?? 0) > 0);
}

export function Histogram({ histogram, width, rows }: HistogramProps) {
  const theme = useTheme();
  if (rows <= 0) return null;
  const over = histogram.overflow > 0;
  const buckets = histogram.buckets.slice(-Math.max(1, over ? rows - 1 : rows));
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
  if (over) labels.push(`>${formatMsCompact(buckets[buckets.length - 1]!.upperBoundMs)}`);
  const labelW = Math.max(...labels.map((l) => l.length));
  const countW = formatCount(max).length;
  // label, " │", bar, " ", count
  const barW = Math.max(1, width - labelW - 2 - 1 - countW);
  const axis = theme.unicode ? '│' : '|';
  const rowsData = buckets.map((b) => [b.count, b.failed ?? 0] as const);
  if (over) rowsData.push([histogram.overflow, histogram.overflowFailed ?? 0]);
  const mark = failedMark(theme);
  return (
    <Box flexDirection="column" width={width}>
      {rowsData.map(([count, failed], i) => {
        const [good, bad] = splitBar(max > 0 ? count / max : 0, max > 0 ? failed / max : 0, barW, {
          ascii: !theme.unicode,
          ...(mark !== undefined ? { mark } : {}),
        });
        const last = over && i === rowsData.length - 1;
        return (
          <Text key={i} wrap="truncate">
            <Text color={tone(theme, 'muted')}>
              {fit(labels[i]!, labelW, 'right')} {axis}
            </Text>
            <Text color={tone(theme, 'bar')}>{good}</Text>
            {bad !== '' ? <Text color={tone(theme, 'bad')}>{bad}</Text> : null}
            {count > 0 ? <Text> {formatCount(count)}</Text> : null}
            {last && histogram.maxMs !== undefined ? (
              <Text color={tone(theme, 'muted')}> · max {formatMsCompact(histogram.maxMs)}</Text>
            ) : null}
          </Text>
        );
      })}
    </Box>
  );
}
