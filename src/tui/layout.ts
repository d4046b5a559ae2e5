// Row and column budgets. Ink redraws by erasing the previous frame; a frame
// as tall as the terminal makes it clear the whole screen instead (flicker),
// so the app always stays at least one row short of the terminal. Sections
// degrade in steps (full, one line, hidden) so that a short panel, e.g. one of
// several servers on a 24-row terminal, never overflows.

/** Below this width the panel stacks its sections instead of two columns. */
export const WIDE_MIN_COLUMNS = 96;
/** Narrowest width the layout is designed for (still readable, not pretty, below). */
export const MIN_COLUMNS = 60;

export type Detail = 'full' | 'line' | 'none';

export interface PanelLayout {
  readonly width: number;
  readonly height: number;
  /** Histogram beside the numbers (else stacked). */
  readonly wide: boolean;
  /** Inner width (inside border and padding). */
  readonly inner: number;
  readonly histogramWidth: number;
  readonly statsWidth: number;
  readonly histogramRows: number;
  readonly histogramTitle: boolean;
  /** Percentiles: 4 rows + totals, or 2 lines. */
  readonly percentiles: Exclude<Detail, 'none'>;
  /** Phase waterfall: title + 5 rows, one line, or hidden. */
  readonly phases: Detail;
  /** Statuses, errors, last error: 3 rows, or statuses and errors on one line. */
  readonly outcomes: Exclude<Detail, 'none'>;
  /** The received / server sent / blocked line. */
  readonly flow: boolean;
}

const ROWS = {
  percentiles: { full: 5, line: 2 },
  phases: { full: 6, line: 1, none: 0 },
  outcomes: { full: 3, line: 1 },
} as const;

export function panelLayout(width: number, height: number): PanelLayout {
  const w = Math.max(40, Math.floor(width));
  const inner = w - 4; // border + 1 column padding each side
  const body = Math.max(3, Math.floor(height) - 3); // border (2) and the title row
  const base = { width: w, height, inner };

  if (w >= WIDE_MIN_COLUMNS) {
    // Histogram | percentiles, recent, phases; outcomes and the flow line
    // below at full width (error messages are long).
    const statsWidth = Math.min(56, Math.floor(inner * 0.45));
    const top = body - ROWS.outcomes.full - 1;
    const pick = (
      [
        ['full', 'full'],
        ['full', 'line'],
        ['line', 'line'],
      ] as const
    ).find(([p, ph]) => ROWS.percentiles[p] + 1 + ROWS.phases[ph] <= top);
    if (pick !== undefined) {
      return {
        ...base,
        wide: true,
        statsWidth,
        histogramWidth: inner - statsWidth - 2,
        histogramRows: top - 1,
        histogramTitle: true,
        percentiles: pick[0],
        phases: pick[1],
        outcomes: 'full',
        flow: true,
      };
    }
  }

  // Stacked, from most to least detail; the histogram takes what is left.
  const tiers: ReadonlyArray<Omit<PanelLayout, 'width' | 'height' | 'inner' | 'wide' | 'histogramWidth' | 'statsWidth' | 'histogramRows'> & { minHist: number }> = [
    { percentiles: 'full', phases: 'full', outcomes: 'full', flow: true, histogramTitle: true, minHist: 4 },
    { percentiles: 'full', phases: 'line', outcomes: 'full', flow: true, histogramTitle: true, minHist: 4 },
    { percentiles: 'line', phases: 'line', outcomes: 'full', flow: true, histogramTitle: true, minHist: 3 },
    { percentiles: 'line', phases: 'none', outcomes: 'line', flow: false, histogramTitle: false, minHist: 2 },
  ];
  const rowsOf = (t: (typeof tiers)[number]): number =>
    ROWS.percentiles[t.percentiles] + 1 + (t.histogramTitle ? 1 : 0) + ROWS.phases[t.phases] + ROWS.outcomes[t.outcomes] + (t.flow ? 1 : 0);
  const tier = tiers.find((t) => body - rowsOf(t) >= t.minHist) ?? tiers[tiers.length - 1]!;
  const { minHist, ...rest } = tier;
  return {
    ...base,
    ...rest,
    wide: false,
    statsWidth: inner,
    histogramWidth: inner,
    histogramRows: Math.max(minHist, body - rowsOf(tier)),
  };
}

/** Height of each of `n` stacked panels given the terminal rows (header 2, footer 1, 1 spare). */
export function panelHeight(rows: number, n: number): number {
  const area = Math.max(8, rows - 1 - 3);
  return Math.floor(area / Math.max(1, n));
}
