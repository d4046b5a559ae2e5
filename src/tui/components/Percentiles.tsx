// Live percentiles and moments of response latency.
import type React from 'react';
import { Box, Text } from 'ink';
import type { Summary } from '../../stats/index.js';
import { fit, formatClock, formatCount } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme } from '../theme.js';
import { PERCENTILE_LINE_MIN_WIDTH } from '../layout.js';

export interface PercentilesProps {
  readonly summary: Summary;
  readonly width: number;
  /** Time since the statistics were last reset (r); undefined before any. */
  readonly sinceResetMs?: number;
}

interface Item {
  readonly key: string;
  readonly text: string;
  readonly node: React.ReactNode;
  /** Dropped first when the line is too long: higher drops first. */
  readonly drop: number;
}

/** The items of one line, dropping the least needed until it fits `width`. */
function fitItems(items: readonly Item[], width: number, sep: string): Item[] {
  let kept = [...items];
  const len = (xs: readonly Item[]): number =>
    xs.reduce((n, x) => n + [...x.text].length, 0) + Math.max(0, xs.length - 1) * sep.length;
  while (len(kept) > width) {
    const worst = kept.reduce((a, b) => (b.drop > a.drop ? b : a));
    if (worst.drop <= 0) break;
    kept = kept.filter((x) => x !== worst);
  }
  return kept;
}

/** "since reset 0:12": the statistics above start at the last r. */
function sinceResetItem(ms: number | undefined, muted: string | undefined): Item[] {
  if (ms === undefined) return [];
  const clock = formatClock(ms);
  return [
    {
      key: 'reset',
      text: `since reset ${clock}`,
      node: (
        <Text>
          <Text color={muted}>since reset </Text>
          <Text bold>{clock}</Text>
        </Text>
      ),
      drop: 0,
    },
  ];
}

export function Percentiles({ summary: s, width, sinceResetMs }: PercentilesProps) {
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
  const muted = tone(theme, 'muted');
  return (
    <Box flexDirection="column" width={width}>
      {rows.map(([a, av, b, bv]) => (
        <Text key={a} wrap="truncate">
          <Text color={tone(theme, 'muted')}>{a} </Text>
          <Text bold>{v(av)}</Text>
          <Text color={tone(theme, 'muted')}>
            {'   '}
            {fit(theme.unicode ? b : b === 'σ' ? 'sd' : b, 3)}{' '}
          </Text>
          <Text>{v(bv)}</Text>
        </Text>
      ))}
      <Text wrap="truncate">
        {fitItems(
          [
            {
              key: 'responses',
              text: `responses ${formatCount(s.responses)}`,
              node: (
                <Text>
                  <Text color={muted}>responses </Text>
                  {formatCount(s.responses)}
                </Text>
              ),
              drop: 1,
            },
            {
              key: 'ok',
              text: `ok ${formatCount(ok)}`,
              node: (
                <Text>
                  <Text color={muted}>ok </Text>
                  <Text color={tone(theme, 'good')}>{formatCount(ok)}</Text>
                </Text>
              ),
              drop: 0,
            },
            {
              key: 'failed',
              text: `failed ${formatCount(failed)}`,
              node: (
                <Text>
                  <Text color={muted}>failed </Text>
                  <Text color={failed > 0 ? tone(theme, 'bad') : undefined}>{formatCount(failed)}</Text>
                </Text>
              ),
              drop: 0,
            },
            ...sinceResetItem(sinceResetMs, muted),
          ],
          width,
          ' · ',
        ).map((it, i) => (
          <Text key={it.key}>
            {i > 0 ? <Text color={muted}> · </Text> : null}
            {it.node}
          </Text>
        ))}
      </Text>
    </Box>
  );
}

/**
 * Short variant: p50…p99 on one line, then min/avg/max, ok/failed; below
 * PERCENTILE_LINE_MIN_WIDTH three lines (p50 p90 min / p95 p99 max / the rest).
 */
export function PercentilesLine({ summary: s, width, sinceResetMs }: PercentilesProps) {
  const theme = useTheme();
  const muted = tone(theme, 'muted');
  const ms = (k: string, v: number | undefined, drop = 0): Item => ({
    key: k,
    text: `${k} ${formatMsCompact(v)}`,
    node: (
      <Text>
        <Text color={muted}>{k} </Text>
        <Text bold>{formatMsCompact(v)}</Text>
      </Text>
    ),
    drop,
  });
  const counts: Item = {
    key: 'ok',
    text: `ok ${formatCount(s.successes)} failed ${formatCount(s.failures)}`,
    node: (
      <Text>
        <Text color={muted}>ok </Text>
        <Text color={tone(theme, 'good')}>{formatCount(s.successes)}</Text>
        <Text color={muted}> failed </Text>
        <Text color={s.failures > 0 ? tone(theme, 'bad') : undefined}>{formatCount(s.failures)}</Text>
      </Text>
    ),
    drop: 0,
  };
  const since = sinceResetItem(sinceResetMs, muted);
  const lines: Item[][] =
    width >= PERCENTILE_LINE_MIN_WIDTH
      ? [
          [ms('p50', s.p50Ms), ms('p90', s.p90Ms), ms('p95', s.p95Ms), ms('p99', s.p99Ms)],
          [ms('min', s.minMs), ms('avg', s.averageMs, 1), ms('max', s.maxMs), counts, ...since],
        ]
      : [
          [ms('p50', s.p50Ms), ms('p90', s.p90Ms), ms('min', s.minMs)],
          [ms('p95', s.p95Ms), ms('p99', s.p99Ms), ms('max', s.maxMs)],
          [ms('avg', s.averageMs, 1), counts, ...since],
        ];
  return (
    <Box flexDirection="column" width={width}>
      {lines.map((items, n) => (
        <Text key={n} wrap="truncate">
          {fitItems(items, width, '  ').map((it, i) => (
            <Text key={it.key}>
              {i > 0 ? '  ' : ''}
              {it.node}
            </Text>
          ))}
        </Text>
      ))}
    </Box>
  );
}
