// Live percentiles and moments of response latency.
import { Box, Text } from 'ink';
import type { Summary } from '../../stats/index.js';
import { fit, formatCount } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme } from '../theme.js';

export interface PercentilesProps {
  readonly summary: Summary;
  readonly width: number;
}

export function Percentiles({ summary: s, width }: PercentilesProps) {
  const theme = useTheme();
  const v = (ms: number | undefined): string => fit(formatMsCompact(ms), 8, 'right');
  const rows: Array<[string, number | undefined, string, number | undefined]> = [
    ['p50', s.p50Ms, 'min', s.minMs],
    ['p90', s.p90Ms, 'avg', s.averageMs],
    ['p95', s.p95Ms, 'max', s.maxMs],
    ['p99', s.p99Ms, 'σ', s.stddevMs],
  ];
  const ok = s.successes;
  const failed = s.failures;
  return (
    <Box flexDirection="column" width={width}>
      {rows.map(([a, av, b, bv]) => (
        <Text key={a} wrap="truncate">
          <Text color={tone(theme, 'muted')}>{a} </Text>
          <Text bold>{v(av)}</Text>
          <Text color={tone(theme, 'muted')}>{'   '}{fit(theme.unicode ? b : b === 'σ' ? 'sd' : b, 3)} </Text>
          <Text>{v(bv)}</Text>
        </Text>
      ))}
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>responses </Text>
        {formatCount(s.responses)}
        <Text color={tone(theme, 'muted')}> · ok </Text>
        <Text color={tone(theme, 'good')}>{formatCount(ok)}</Text>
        <Text color={tone(theme, 'muted')}> · failed </Text>
        <Text color={failed > 0 ? tone(theme, 'bad') : undefined}>{formatCount(failed)}</Text>
      </Text>
    </Box>
  );
}

/** One-line variant for short panels. */
export function PercentilesLine({ summary: s, width }: PercentilesProps) {
  const theme = useTheme();
  const item = (k: string, ms: number | undefined) => (
    <Text key={k}>
      <Text color={tone(theme, 'muted')}>{k} </Text>
      <Text bold>{formatMsCompact(ms)}</Text>
      {'  '}
    </Text>
  );
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        {item('p50', s.p50Ms)}
        {item('p90', s.p90Ms)}
        {item('p95', s.p95Ms)}
        {item('p99', s.p99Ms)}
      </Text>
      <Text wrap="truncate">
        {item('min', s.minMs)}
        {item('avg', s.averageMs)}
        {item('max', s.maxMs)}
        <Text color={tone(theme, 'muted')}>ok </Text>
        <Text color={tone(theme, 'good')}>{formatCount(s.successes)}</Text>
        <Text color={tone(theme, 'muted')}> failed </Text>
        <Text color={s.failures > 0 ? tone(theme, 'bad') : undefined}>{formatCount(s.failures)}</Text>
      </Text>
    </Box>
  );
}
