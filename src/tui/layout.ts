// Row and column budgets. Ink redraws by erasing the previous frame; a frame
// as tall as the terminal makes it clear the whole screen instead (flicker),
// so the app always stays at least one row short of the terminal. Sections
// degrade in steps (full, one line, hidden) so that a short panel, e.g. one of
// several servers on a 24-row terminal, never overflows.

/** Below this width the panel stacks its sections instead of two columns. */
export const WIDE_MIN_COLUMNS = 96;
/** Below this inner width the two-line percentiles take three lines (p50…p99 do not fit one). */
export const PERCENTILE_LINE_MIN_WIDTH = 46;
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
  /** Histogram rows (0: hidden). */
  readonly histogramRows: number;
  readonly histogramTitle: boolean;
  /** Percentiles: 4 rows + totals, or 2 lines; never hidden. */
  readonly percentiles: Exclude<Detail, 'none'>;
  /** The strip of recent latencies. */
  readonly recent: boolean;
  /** Attempts/s and errors/s over the last minute: 2 lines, 1 line, or hidden. */
  readonly rates: Detail;
  /** Phase waterfall: title + 5 rows, one line, or hidden. */
  readonly phases: Detail;
  /** Statuses, errors, last error: 3 rows, statuses and errors on one line, or hidden. */
  readonly outcomes: Detail;
  /** The received / server sent / blocked line. */
  readonly flow: boolean;
}

const ROWS = {
  percentiles: { full: 5, line: 2 },
  rates: { full: 2, line: 1, none: 0 },
  phases: { full: 6, line: 1, none: 0 },
  outcomes: { full: 3, line: 1, none: 0 },
} as const;

type Sections = Pick<
  PanelLayout,
  'percentiles' | 'recent' | 'rates' | 'phases' | 'outcomes' | 'flow' | 'histogramTitle'
>;

// Stacked, from most to least detail. What goes first: histogram rows (down
// to each tier's minimum), then phases, the rate chart, the flow line,
// outcomes, the recent strip, the histogram; the percentiles go last, and
// then only fold into two lines (every percentile still shown).
const STACKED: ReadonlyArray<Sections & { readonly minHist: number }> = [
  {
    percentiles: 'full',
    recent: true,
    rates: 'full',
    phases: 'full',
    outcomes: 'full',
    flow: true,
    histogramTitle: true,
    minHist: 6,
  },
  {
    percentiles: 'full',
    recent: true,
    rates: 'full',
    phases: 'line',
    outcomes: 'full',
    flow: true,
    histogramTitle: true,
    minHist: 4,
  },
  {
    percentiles: 'full',
    recent: true,
    rates: 'line',
    phases: 'line',
    outcomes: 'full',
    flow: true,
    histogramTitle: true,
    minHist: 4,
  },
  {
    percentiles: 'full',
    recent: true,
    rates: 'line',
    phases: 'line',
    outcomes: 'full',
    flow: false,
    histogramTitle: true,
    minHist: 3,
  },
  {
    percentiles: 'full',
    recent: true,
    rates: 'line',
    phases: 'none',
    outcomes: 'full',
    flow: false,
    histogramTitle: true,
    minHist: 3,
  },
  {
    percentiles: 'full',
    recent: true,
    rates: 'none',
    phases: 'none',
    outcomes: 'line',
    flow: false,
    histogramTitle: true,
    minHist: 3,
  },
  {
    percentiles: 'full',
    recent: false,
    rates: 'none',
    phases: 'none',
    outcomes: 'line',
    flow: false,
    histogramTitle: false,
    minHist: 2,
  },
  {
    percentiles: 'full',
    recent: false,
    rates: 'none',
    phases: 'none',
    outcomes: 'line',
    flow: false,
    histogramTitle: false,
    minHist: 0,
  },
  {
    percentiles: 'line',
    recent: false,
    rates: 'none',
    phases: 'none',
    outcomes: 'line',
    flow: false,
    histogramTitle: false,
    minHist: 2,
  },
  {
    percentiles: 'line',
    recent: false,
    rates: 'none',
    phases: 'none',
    outcomes: 'line',
    flow: false,
    histogramTitle: false,
    minHist: 0,
  },
  {
    percentiles: 'line',
    recent: false,
    rates: 'none',
    phases: 'none',
    outcomes: 'none',
    flow: false,
    histogramTitle: false,
    minHist: 0,
  },
];

/** Rows of the short percentiles form at this width. */
export function percentileLineRows(width: number): number {
  return width >= PERCENTILE_LINE_MIN_WIDTH ? ROWS.percentiles.line : ROWS.percentiles.line + 1;
}

/** Rows the sections take at inner width `inner`, histogram rows aside. */
export function sectionRows(t: Sections, inner: number): number {
  return (
    (t.percentiles === 'full' ? ROWS.percentiles.full : percentileLineRows(inner)) +
    (t.recent ? 1 : 0) +
    ROWS.rates[t.rates] +
    (t.histogramTitle ? 1 : 0) +
    ROWS.phases[t.phases] +
    ROWS.outcomes[t.outcomes] +
    (t.flow ? 1 : 0)
  );
}

export function panelLayout(width: number, height: number): PanelLayout {
  const w = Math.max(40, Math.floor(width));
  const inner = w - 4; // border + 1 column padding each side
  const body = Math.max(2, Math.floor(height) - 3); // border (2) and the title row
  const base = { width: w, height, inner };

  if (w >= WIDE_MIN_COLUMNS) {
    // Histogram | percentiles, recent, rates, phases; outcomes and the flow
    // line below at full width (error messages are long).
    const statsWidth = Math.min(56, Math.floor(inner * 0.45));
    const top = body - ROWS.outcomes.full - 1;
    const pick = (
      [
        ['full', 'full', 'full'],
        ['full', 'full', 'line'],
        ['full', 'line', 'line'],
        ['full', 'none', 'line'],
        ['full', 'none', 'none'],
      ] as const
    ).find(([p, r, ph]) => ROWS.percentiles[p] + 1 + ROWS.rates[r] + ROWS.phases[ph] <= top);
    if (pick !== undefined && top - 1 >= 3) {
      return {
        ...base,
        wide: true,
        statsWidth,
        histogramWidth: inner - statsWidth - 2,
        histogramRows: top - 1,
        histogramTitle: true,
        percentiles: pick[0],
        recent: true,
        rates: pick[1],
        phases: pick[2],
        outcomes: 'full',
        flow: true,
      };
    }
  }

  const tier = STACKED.find((t) => body - sectionRows(t, inner) >= t.minHist) ?? STACKED[STACKED.length - 1]!;
  const { minHist, ...rest } = tier;
  return {
    ...base,
    ...rest,
    wide: false,
    statsWidth: inner,
    histogramWidth: inner,
    histogramRows: Math.max(0, body - sectionRows(tier, inner)),
  };
}

/** Height of each of `n` stacked panels given the terminal rows (header 2, footer 1, 1 spare). */
export function panelHeight(rows: number, n: number): number {
  const area = Math.max(8, rows - 1 - 3);
  return Math.floor(area / Math.max(1, n));
}

/** Narrowest column of the comparison view; narrower terminals stack the regions in rows. */
export const COMPARE_COLUMN_MIN = 40;

export interface CompareLayout {
  /** Regions side by side (else one under the other). */
  readonly columns: boolean;
  /** Every panel's layout: the same for all, so their histograms have the same rows. */
  readonly panel: PanelLayout;
}

/** Several regions plus the merged panel (`panels` in all) under a header, a verdict line and the footer. */
export function compareLayout(columns: number, rows: number, panels: number): CompareLayout {
  const width = Math.max(40, Math.floor(columns));
  const area = Math.max(8, rows - 1 - 4);
  if (width >= panels * COMPARE_COLUMN_MIN) {
    return { columns: true, panel: panelLayout(Math.floor(width / panels), area) };
  }
  return { columns: false, panel: panelLayout(width, Math.floor(area / Math.max(1, panels))) };
}
