// Phase waterfall: median of each phase, drawn as consecutive segments on one
// time axis (dns, then connect, then tls, ...), like a browser's network tab.
import { Box, Text } from 'ink';
import type { PhaseMedians } from '../../stats/index.js';
import { fit, formatMs } from '../format.js';
import { tone, useTheme, type Tone } from '../theme.js';

export interface WaterfallProps {
  readonly phases: PhaseMedians;
  readonly width: number;
  /** Single line instead of one row per phase. */
  readonly compact?: boolean;
}

// [field, name, short name for the one-line form, tone]
const PHASES: ReadonlyArray<readonly [keyof PhaseMedians, string, string, Tone]> = [
  ['dnsMs', 'dns', 'dns', 'info'],
  ['connectMs', 'connect', 'conn', 'warn'],
  ['tlsMs', 'tls', 'tls', 'bad'],
  ['ttfbMs', 'ttfb', 'ttfb', 'good'],
  ['transferMs', 'transfer', 'xfer', 'accent'],
];

export function Waterfall({ phases, width, compact = false }: WaterfallProps) {
  const theme = useTheme();
  if (compact) {
    // One line: only the phases that happened (no TLS on http://, ...).
    const present = PHASES.filter(([k]) => phases[k] !== undefined);
    return (
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>phases </Text>
        {present.length === 0 ? <Text color={tone(theme, 'muted')}>–</Text> : null}
        {present.map(([k, , short, t], i) => (
          <Text key={k}>
            {i > 0 ? '  ' : ''}
            <Text color={tone(theme, t)}>{short}</Text> {formatMs(phases[k])}
          </Text>
        ))}
      </Text>
    );
  }
  let total = 0;
  for (const [k] of PHASES) total += phases[k] ?? 0;
  const nameW = 8;
  const valW = 8;
  const track = Math.max(4, width - nameW - valW - 2);
  const fill = theme.unicode ? '█' : '#';
  let start = 0;
  return (
    <Box flexDirection="column" width={width}>
      <Text color={tone(theme, 'muted')} wrap="truncate">
        phases (median){total > 0 ? ` · total ${formatMs(total)}` : ''}
      </Text>
      {PHASES.map(([k, name, , t]) => {
        const ms = phases[k];
        let lead = 0;
        let len = 0;
        if (ms !== undefined && total > 0) {
          lead = Math.min(track - 1, Math.floor((start / total) * track));
          const end = Math.round(((start + ms) / total) * track);
          len = Math.max(1, Math.min(track - lead, end - lead));
          start += ms;
        }
        return (
          <Text key={k} wrap="truncate">
            <Text color={tone(theme, 'muted')}>{fit(name, nameW)}</Text>
            <Text>{fit(formatMs(ms), valW, 'right')} </Text>
            {' '.repeat(lead)}
            <Text color={tone(theme, t)}>{fill.repeat(len)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
