// Phase waterfall: median of each phase, drawn as consecutive segments on one
// time axis (dns, then connect, then tls, ...), like a browser's network tab.
import { Box, Text } from 'ink';
import { PHASE_FIELD, PHASES, type Phase, type PhaseMedians } from '../../stats/index.js';
import { fit } from '../format.js';
import { formatMsCompact } from '../../common/format.js';
import { tone, useTheme, type Tone } from '../theme.js';

export interface WaterfallProps {
  readonly phases: PhaseMedians;
  readonly width: number;
  /** Single line instead of one row per phase. */
  readonly compact?: boolean;
}

interface PhaseStyle {
  readonly label: string;
  /** For the one-line form. */
  readonly short: string;
  readonly tone: Tone;
}

const STYLE: Readonly<Record<Phase, PhaseStyle>> = {
  dns: { label: 'dns', short: 'dns', tone: 'info' },
  connect: { label: 'connect', short: 'conn', tone: 'warn' },
  proxy: { label: 'proxy', short: 'prxy', tone: 'warn' },
  tls: { label: 'tls', short: 'tls', tone: 'bad' },
  ttfb: { label: 'ttfb', short: 'ttfb', tone: 'good' },
  transfer: { label: 'transfer', short: 'xfer', tone: 'accent' },
};

/** Rows of the full form: the layout budgets title + FULL_ROWS. */
const FULL_ROWS = 5;

/**
 * The full form's rows: every phase but proxy (shown only when it happened);
 * over FULL_ROWS, absent rows go first, then the earliest present ones move
 * into the title line (`folded`).
 */
function fullRows(phases: PhaseMedians): { rows: Phase[]; folded: Phase[] } {
  const has = (ph: Phase): boolean => phases[PHASE_FIELD[ph]] !== undefined;
  let rows: Phase[] = PHASES.filter((ph) => ph !== 'proxy' || has(ph));
  while (rows.length > FULL_ROWS) {
    const absent = rows.find((ph) => !has(ph));
    if (absent === undefined) break;
    rows = rows.filter((ph) => ph !== absent);
  }
  const folded = rows.slice(0, Math.max(0, rows.length - FULL_ROWS));
  return { rows: rows.filter((ph) => !folded.includes(ph)), folded };
}

export function Waterfall({ phases, width, compact = false }: WaterfallProps) {
  const theme = useTheme();
  if (compact) {
    // One line: only the phases that happened (no TLS on http://, ...).
    const present = PHASES.filter((ph) => phases[PHASE_FIELD[ph]] !== undefined);
    return (
      <Text wrap="truncate">
        <Text color={tone(theme, 'muted')}>phases </Text>
        {present.length === 0 ? <Text color={tone(theme, 'muted')}>–</Text> : null}
        {present.map((ph, i) => (
          <Text key={ph}>
            {i > 0 ? '  ' : ''}
            <Text color={tone(theme, STYLE[ph].tone)}>{STYLE[ph].short}</Text>{' '}
            {formatMsCompact(phases[PHASE_FIELD[ph]])}
          </Text>
        ))}
      </Text>
    );
  }
  let total = 0;
  for (const ph of PHASES) total += phases[PHASE_FIELD[ph]] ?? 0;
  const { rows, folded } = fullRows(phases);
  const nameW = 8;
  const valW = 8;
  const track = Math.max(4, width - nameW - valW - 2);
  const fill = theme.unicode ? '█' : '#';
  let start = 0;
  return (
    <Box flexDirection="column" width={width}>
      <Text color={tone(theme, 'muted')} wrap="truncate">
        phases (median){total > 0 ? ` · total ${formatMsCompact(total)}` : ''}
        {folded.map((ph) => ` · ${STYLE[ph].short} ${formatMsCompact(phases[PHASE_FIELD[ph]])}`).join('')}
      </Text>
      {PHASES.map((ph) => {
        const ms = phases[PHASE_FIELD[ph]];
        if (!rows.includes(ph)) {
          start += ms ?? 0;
          return null;
        }
        let lead = 0;
        let len = 0;
        if (ms !== undefined && total > 0) {
          lead = Math.min(track - 1, Math.floor((start / total) * track));
          const end = Math.round(((start + ms) / total) * track);
          len = Math.max(1, Math.min(track - lead, end - lead));
          start += ms;
        }
        return (
          <Text key={ph} wrap="truncate">
            <Text color={tone(theme, 'muted')}>{fit(STYLE[ph].label, nameW)}</Text>
            <Text>{fit(formatMsCompact(ms), valW, 'right')} </Text>
            {' '.repeat(lead)}
            <Text color={tone(theme, STYLE[ph].tone)}>{fill.repeat(len)}</Text>
          </Text>
        );
      })}
    </Box>
  );
}
