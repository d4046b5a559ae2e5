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

type Counts = Pick<Summary, 'statuses' | 'errors'>;

/** "200 ×12  503 ×2" in status colours. */
function StatusCounts({ statuses }: Pick<Counts, 'statuses'>) {
  const theme = useTheme();
  const times = theme.unicode ? '×' : 'x';
  return statuses.map((s) => (
    <Text key={s.status}>
      <Text color={tone(theme, statusTone(s.status))} bold>
        {s.status}
      </Text>
      {` ${times}${formatCount(s.count)}  `}
    </Text>
  ));
}

/** "TIMEOUT ×3  RESET ×1". */
function ErrorCounts({ errors }: Pick<Counts, 'errors'>) {
  const theme = useTheme();
  const times = theme.unicode ? '×' : 'x';
  return errors.map((e) => (
    <Text key={e.reason}>
      <Text color={tone(theme, 'bad')}>{e.reason}</Text>
      {` ${times}${formatCount(e.count)}  `}
    </Text>
  ));
}

export function Outcomes({ summary, lastError, width, compact = false }: OutcomesProps) {
  const theme = useTheme();
  if (compact) {
    return (
      <Text wrap="truncate">
        <StatusCounts statuses={summary.statuses} />
        <ErrorCounts errors={summary.errors} />
        {summary.statuses.length + summary.errors.length === 0 ? (
          <Text color={tone(theme, 'muted')}>no results yet</Text>
        ) : null}
      </Text>
    );
  }
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>status </Text>
        {summary.statuses.length === 0 ? <Text color={tone(theme, 'muted')}>–</Text> : null}
        <StatusCounts statuses={summary.statuses} />
      </Text>
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>errors </Text>
        {summary.errors.length === 0 ? <Text color={tone(theme, 'muted')}>none</Text> : null}
        <ErrorCounts errors={summary.errors} />
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
