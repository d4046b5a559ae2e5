// One server's (region's) live view: a pure function of a snapshot.
import { Box, Text } from 'ink';
import type { FeedSnapshot } from '../feed.js';
import { formatClock, formatCount, formatRate } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { overloadWarning } from '../../stats/index.js';
import type { PanelLayout } from '../layout.js';
import { tone, useTheme, type Tone } from '../theme.js';
import { failedMark, hasFailed, Histogram } from './Histogram.js';
import { Outcomes } from './Outcomes.js';
import { Percentiles, PercentilesLine } from './Percentiles.js';
import { Rates } from './Rates.js';
import { Sparkline } from './Sparkline.js';
import { Waterfall } from './Waterfall.js';

export interface RegionPanelProps {
  readonly snapshot: FeedSnapshot;
  readonly layout: PanelLayout;
  /** The "all regions" panel: no server of its own, so no flow line. */
  readonly merged?: boolean;
}

/** Status word, glyph and tone; the words alone carry the meaning. */
export function statusLabel(s: FeedSnapshot, unicode: boolean): [string, Tone] {
  switch (s.status) {
    case 'connecting':
      return ['connecting…', 'muted'];
    case 'running':
      return [unicode ? '● running' : '* running', 'accent'];
    case 'done':
      return [unicode ? '✓ done' : 'done', 'good'];
    case 'deadline':
      return ['deadline reached: partial results', 'warn'];
    case 'cancelled':
      return [unicode ? '■ cancelled' : 'cancelled', 'warn'];
    case 'reconnecting': {
      const code = s.failure?.codeName ? ` ${s.failure.codeName}` : '';
      const wait = s.retryInMs !== undefined ? ` in ${Math.ceil(s.retryInMs / 1000)}s` : '';
      return [`${unicode ? '✗ ' : ''}error${code} · reconnecting${wait}`, 'bad'];
    }
    case 'error':
      return [`${unicode ? '✗ ' : ''}error${s.failure?.codeName ? ` ${s.failure.codeName}` : ''}`, 'bad'];
  }
}

/** "attempt 12/100" or "elapsed 0:12" (continuous). */
export function progressText(s: FeedSnapshot): string {
  return s.repetitions > 0
    ? `attempt ${formatCount(s.received)}/${formatCount(s.repetitions)}`
    : `${formatCount(s.received)} attempts`;
}

function FlowLine({ snapshot: s }: { readonly snapshot: FeedSnapshot }) {
  const theme = useTheme();
  const srv = s.serverSummary;
  // The server's verdict on its own loop; early in the line so truncation keeps it.
  const overload = srv === undefined ? undefined : overloadWarning(srv);
  return (
    <Text wrap="truncate">
      <Text color={tone(theme, 'muted')}>received </Text>
      {formatCount(s.received)}
      {s.slowConsumerMs > 0 ? (
        <Text color={tone(theme, 'warn')}> (slow consumer {formatMsCompact(s.slowConsumerMs)}/event)</Text>
      ) : null}
      {overload !== undefined ? <Text color={tone(theme, 'bad')}> · {overload}</Text> : null}
      {srv !== undefined ? (
        <Text>
          <Text color={tone(theme, 'muted')}> · server sent </Text>
          {formatCount(srv.eventsSent)}
          <Text color={tone(theme, 'muted')}> · blocked </Text>
          {formatMsCompact(srv.backpressureWaitMs)}
          {srv.scheduleSlips > 0 ? (
            <Text>
              <Text color={tone(theme, 'muted')}> · late starts </Text>
              {formatCount(srv.scheduleSlips)}
            </Text>
          ) : null}
        </Text>
      ) : null}
    </Text>
  );
}

export function RegionPanel({ snapshot: s, layout: l, merged = false }: RegionPanelProps) {
  const theme = useTheme();
  const [status, statusT] = statusLabel(s, theme.unicode);
  const since = s.sinceResetMs !== undefined ? { sinceResetMs: s.sinceResetMs } : {};
  // flexShrink 0: when space is short the layout drops other sections, never these.
  const percentiles = (
    <Box flexDirection="column" flexShrink={0} width={l.statsWidth}>
      {l.percentiles === 'full' ? (
        <Percentiles summary={s.summary} width={l.statsWidth} {...since} />
      ) : (
        <PercentilesLine summary={s.summary} width={l.statsWidth} {...since} />
      )}
    </Box>
  );
  const recent = l.recent ? <Sparkline recent={s.recent} width={l.statsWidth} /> : null;
  const rates = l.rates === 'none' ? null : <Rates rates={s.rates} width={l.statsWidth} compact={l.rates === 'line'} />;
  const mark = failedMark(theme) ?? (theme.unicode ? '█' : '#');
  const phases =
    l.phases === 'none' ? null : (
      <Waterfall phases={s.summary.phases} width={l.statsWidth} compact={l.phases === 'line'} />
    );
  const hist =
    l.histogramRows > 0 || l.histogramTitle ? (
      <Box flexDirection="column" width={l.histogramWidth} flexShrink={0}>
        {l.histogramTitle ? (
          <Text color={tone(theme, 'muted')} wrap="truncate">
            latency histogram
            {s.summary.responses > 0
              ? ` (${formatCount(s.summary.responses)} ${s.summary.responses === 1 ? 'response' : 'responses'})`
              : ''}
            {hasFailed(s.histogram) ? (
              <Text>
                {' '}
                <Text color={tone(theme, 'bad')}>{mark}</Text> failed
              </Text>
            ) : null}
          </Text>
        ) : null}
        <Histogram histogram={s.histogram} width={l.histogramWidth} rows={l.histogramRows} />
      </Box>
    ) : null;
  const bottom = (
    <>
      {l.outcomes === 'none' ? null : (
        <Outcomes summary={s.summary} lastError={s.lastError} width={l.inner} compact={l.outcomes === 'line'} />
      )}
      {l.flow && !merged ? <FlowLine snapshot={s} /> : null}
    </>
  );
  return (
    <Box
      flexDirection="column"
      width={l.width}
      height={l.height}
      borderStyle={theme.unicode ? 'round' : 'classic'}
      borderColor={tone(
        theme,
        s.status === 'error' || s.status === 'reconnecting' ? 'bad' : s.status === 'deadline' ? 'warn' : 'muted',
      )}
      paddingX={1}
      overflow="hidden"
    >
      <Text wrap="truncate">
        <Text bold>{s.label}</Text>
        {'  '}
        <Text color={tone(theme, statusT)}>{status}</Text>
        {'  '}
        {progressText(s)}
        <Text color={tone(theme, 'muted')}> · </Text>
        {formatRate(s.ratePerSec)}
        <Text color={tone(theme, 'muted')}> · elapsed </Text>
        {formatClock(s.elapsedMs)}
        {s.failure ? <Text color={tone(theme, 'bad')}> · {s.failure.message}</Text> : null}
      </Text>
      {l.wide ? (
        <>
          <Box flexDirection="row" height={l.histogramRows + 1} flexShrink={0}>
            {hist}
            <Box width={2} />
            <Box flexDirection="column" width={l.statsWidth}>
              {percentiles}
              {recent}
              {rates}
              {phases}
            </Box>
          </Box>
          {bottom}
        </>
      ) : (
        <>
          {percentiles}
          {recent}
          {rates}
          {hist}
          {phases}
          {bottom}
        </>
      )}
    </Box>
  );
}
