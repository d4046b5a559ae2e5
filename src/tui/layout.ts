// Row and column budgets. Ink redraws by erasing the previous frame; a frame
// as tall as the terminal makes it clear the whole screen instead (flicker),
// so the app always stays at least one row short of the terminal.

/** Below this width the panel stacks its sections instead of two columns. */
export const WIDE_MIN_COLUMNS = 96;
/** Narrowest width the layout is designed for (still readable, not pretty, below). */
export const MIN_COLUMNS = 60;

export interface PanelLayout {
  readonly width: number;
  readonly height: number;
  readonly wide: boolean;
  /** Inner width (inside border and padding). */
  readonly inner: number;
  /** Width of the histogram column and of the stats column. */
  readonly histogramWidth: number;
  readonly statsWidth: number;
  readonly histogramRows: number;
  readonly compactPhases: boolean;
  readonly compactPercentiles: boolean;
}

// Rows of the stats sections: percentiles (4 + totals line) or 2 compact;
// sparkline 1; phases (title + 5) or 1 compact; outcomes 3; flow line 1.
const PCT_FULL = 5;
const PCT_COMPACT = 2;
const PHASES_FULL = 6;
const PHASES_COMPACT = 1;
const OTHER = 1 + 3 + 1;

export function panelLayout(width: number, height: number): PanelLayout {
  const w = Math.max(40, Math.floor(width));
  const inner = w - 4; // border + 1 column padding each side
  // Border (2) and the title row.
  const body = Math.max(3, Math.floor(height) - 3);
  const wide = w >= WIDE_MIN_COLUMNS;
  let compactPhases = false;
  let compactPercentiles = false;
  let histogramRows: number;
  let histogramWidth: number;
  let statsWidth: number;
  if (wide) {
    // Histogram | percentiles, recent, phases; outcomes and the flow line
    // below at full width (error messages are long).
    statsWidth = Math.min(56, Math.floor(inner * 0.45));
    histogramWidth = inner - statsWidth - 2;
    const top = body - OTHER;
    let stats = PCT_FULL + 1 + PHASES_FULL;
    if (stats > top) {
      compactPhases = true;
      stats = PCT_FULL + 1 + PHASES_COMPACT;
    }
    if (stats > top) compactPercentiles = true;
    histogramRows = Math.max(2, top - 1); // minus its title
  } else {
    statsWidth = inner;
    histogramWidth = inner;
    const minHist = 4;
    let fixed = PCT_FULL + PHASES_FULL + OTHER + 1; // + histogram title
    if (body - fixed < minHist) {
      compactPhases = true;
      fixed = PCT_FULL + PHASES_COMPACT + OTHER + 1;
    }
    if (body - fixed < minHist) {
      compactPercentiles = true;
      fixed = PCT_COMPACT + PHASES_COMPACT + OTHER + 1;
    }
    histogramRows = Math.max(2, body - fixed);
  }
  return {
    width: w,
    height,
    wide,
    inner,
    histogramWidth,
    statsWidth,
    histogramRows,
    compactPhases,
    compactPercentiles,
  };
}

/** Height of each of `n` stacked panels given the terminal rows (header and footer take one each). */
export function panelHeight(rows: number, n: number): number {
  const area = Math.max(8, rows - 1 - 2);
  return Math.floor(area / Math.max(1, n));
}
