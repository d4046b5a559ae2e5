// Status-code distribution, error reasons with counts, and the last error.
import { Box, Text } from 'ink';
import type { Summary } from '../../stats/index.js';
import type { LastError } from '../feed.js';
import { formatCount } from '../format.js';
import { statusTone, tone, useTheme } from '../theme.js';

export interface OutcomesProps {
  readonly summary: Summary;
  readonly lastError?: LastError;
  readonly width: number;
  /** Statuses and errors on one line, no last error. */
  readonly compact?: boolean;
}

export function Outcomes({ summary, lastError, width, compact = false }: OutcomesProps) {
  const theme = useTheme();
  const times = theme.unicode ? '×' : 'x';
  if (compact) {
    return (
      <Text wrap="truncate">
        {summary.statuses.map((s) => (
          <Text key={s.status}>
            <Text color={tone(theme, statusTone(s.status))} bold>
              {s.status}
            </Text>
            {` ${times}${formatCount(s.count)}  `}
          </Text>
        ))}
        {summary.errors.map((e) => (
          <Text key={e.reason}>
            <Text color={tone(theme, 'bad')}>{e.reason}</Text>
            {` ${times}${formatCount(e.count)}  `}
          </Text>
        ))}
        {summary.statuses.length + summary.errors.length === 0 ? <Text color={tone(theme, 'muted')}>no results yet</Text> : null}
      </Text>
    );
  }
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>status </Text>
        {summary.statuses.length === 0 ? <Text color={tone(theme, 'muted')}>–</Text> : null}
        {summary.statuses.map((s) => (
          <Text key={s.status}>
            <Text color={tone(theme, statusTone(s.status))} bold>
              {s.status}
            </Text>
            {` ${times}${formatCount(s.count)}  `}
          </Text>
        ))}
      </Text>
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>errors </Text>
        {summary.errors.length === 0 ? <Text color={tone(theme, 'muted')}>none</Text> : null}
        {summary.errors.map((e) => (
          <Text key={e.reason}>
            <Text color={tone(theme, 'bad')}>{e.reason}</Text>
            {` ${times}${formatCount(e.count)}  `}
          </Text>
        ))}
      </Text>
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>last error </Text>
        {lastError === undefined ? (
          <Text color={tone(theme, 'muted')}>–</Text>
        ) : (
          <Text>
            <Text color={tone(theme, 'muted')}>#{lastError.seq} </Text>
            <Text color={tone(theme, 'bad')}>{lastError.reason}</Text>: {lastError.message}
          </Text>
        )}
      </Text>
    </Box>
  );
}
