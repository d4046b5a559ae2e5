// Small pure helpers for the TUI: numbers to short strings, bars, sparklines,
// log-spaced histogram bounds. No React here so they are cheap to test.
// Milliseconds: formatMsCompact in src/common/format.ts.

/** Elapsed or remaining time as a clock: 0:07, 1:02:03. */
export function formatClock(ms: number): string {
  const totalS = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/** A count with thin grouping: 1234567 -> 1,234,567. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A rate: 0.5/s, 12.3/s, 1,234/s. */
export function formatRate(perSec: number): string {
  if (!Number.isFinite(perSec) || perSec <= 0) return '0/s';
  if (perSec < 10) return `${perSec.toFixed(1)}/s`;
  return `${formatCount(perSec)}/s`;
}

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/**
 * A horizontal bar of `fraction` (0..1) of `width` cells, with eighth-cell
 * precision. A non-zero fraction always shows at least a sliver so a bucket
 * with one attempt is visible next to one with thousands.
 */
export function bar(fraction: number, width: number, ascii = false): string {
  if (!(width > 0) || !(fraction > 0)) return '';
  const f = Math.min(1, fraction);
  if (ascii) return '#'.repeat(Math.max(1, Math.round(f * width)));
  const eighths = Math.max(1, Math.round(f * width * 8));
  return '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8]!;
}

const SPARKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * One character per value, scaled logarithmically between the smallest and
 * largest value shown (latencies span decades; linear would flatten all but
 * the outliers). `undefined` values (failed attempts) become `failChar`.
 */
export function sparkline(values: readonly (number | undefined)[], failChar = '×', ascii = false): string {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === undefined || !(v > 0)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const chars = ascii ? ['_', '.', '-', '~', '=', '*', '#', '@'] : SPARKS;
  const span = Math.log(hi) - Math.log(lo);
  let out = '';
  for (const v of values) {
    if (v === undefined) out += failChar;
    else if (!(span > 1e-9)) out += chars[3];
    else {
      const t = (Math.log(Math.max(v, lo)) - Math.log(lo)) / span;
      out += chars[Math.min(chars.length - 1, Math.floor(t * chars.length))];
    }
  }
  return out;
}

/** Rounds to `digits` significant figures (keeps bounds readable as labels). */
export function roundSig(x: number, digits = 2): number {
  if (!(x > 0)) return x;
  const p = 10 ** (Math.floor(Math.log10(x)) - digits + 1);
  return Math.round(x / p) * p;
}

/**
 * At most `count` ascending, log-spaced upper bounds covering [minMs, maxMs]:
 * the last bound is >= maxMs so nothing overflows. Bounds are rounded to two
 * significant figures (labels stay short) and de-duplicated, so a narrow range
 * may get fewer buckets than asked.
 */
export function logBounds(minMs: number, maxMs: number, count: number): number[] {
  const n = Math.max(1, Math.floor(count));
  if (!(maxMs > 0) || !Number.isFinite(maxMs)) return [1];
  const lo = Math.max(minMs > 0 ? minMs : maxMs / 1000, 1e-3);
  if (n === 1 || maxMs <= lo) return [ceilSig(maxMs)];
  const ratio = maxMs / lo;
  const out: number[] = [];
  for (let i = 1; i <= n; i++) {
    const b = i === n ? ceilSig(maxMs) : roundSig(lo * ratio ** (i / n), 2);
    if (out.length === 0 || b > out[out.length - 1]!) out.push(b);
  }
  // Rounding may push an inner bound past the last; keep ascending order.
  if (out[out.length - 1]! < maxMs) out.push(ceilSig(maxMs));
  return out;
}

/** Smallest two-significant-figure number >= x. */
function ceilSig(x: number): number {
  const p = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Math.ceil(x / p - 1e-9) * p;
}

/** Pads or truncates to exactly `width` characters (width in code points). */
export function fit(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const chars = [...s];
  if (chars.length > width)
    return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
  const pad = ' '.repeat(width - chars.length);
  return align === 'left' ? s + pad : pad + s;
}

/**
 * A bar whose last part is marked as failed: [good, failed] strings, drawn
 * one after the other. The failed part starts on a cell boundary so it can
 * take its own colour; `mark` (no colour) fills it with whole cells of a
 * different character instead. A non-zero failed count always shows.
 */
export function splitBar(
  fraction: number,
  failedFraction: number,
  width: number,
  opts: { readonly ascii?: boolean; readonly mark?: string } = {},
): [string, string] {
  const ascii = opts.ascii ?? false;
  if (!(failedFraction > 0)) return [bar(fraction, width, ascii), ''];
  if (!(width > 0) || !(fraction > 0)) return ['', ''];
  const full = ascii ? '#' : '█';
  const f = Math.min(1, fraction);
  const ff = Math.min(f, failedFraction);
  if (ascii || opts.mark !== undefined) {
    const cells = Math.max(1, Math.round(f * width));
    const failed = Math.min(cells, Math.max(1, Math.round(ff * width)));
    return [full.repeat(cells - failed), (opts.mark ?? 'x').repeat(failed)];
  }
  const eighths = Math.max(1, Math.round(f * width * 8));
  const failedE = Math.min(eighths, Math.max(1, Math.round(ff * width * 8)));
  const goodCells = Math.floor((eighths - failedE) / 8);
  const rest = eighths - goodCells * 8;
  return [full.repeat(goodCells), '█'.repeat(Math.floor(rest / 8)) + EIGHTHS[rest % 8]!];
}

/**
 * One character per count, linear from 0 to `max` (rates: zero matters and is
 * blank). `max` defaults to the largest value.
 */
export function rateSparkline(values: readonly number[], ascii = false, max?: number): string {
  const chars = ascii ? ['_', '.', '-', '~', '=', '*', '#', '@'] : SPARKS;
  let hi = max ?? 0;
  if (max === undefined) for (const v of values) if (v > hi) hi = v;
  let out = '';
  for (const v of values) {
    if (!(v > 0) || !(hi > 0)) out += ' ';
    else out += chars[Math.min(chars.length - 1, Math.max(0, Math.ceil((v / hi) * chars.length) - 1))];
  }
  return out;
}

/** Percentiles tried, highest first, for the end of the histogram's axis. */
const AXIS_PERCENTILES = [100, 99.9, 99.5, 99, 98, 97, 96, 95] as const;

/**
 * Where the histogram's axis ends: the highest of max, p99.9, p99.5, p99, ...,
 * p95 that is not a far outlier, i.e. not beyond Tukey's far-out fence
 * (p75 + 3 IQR) on log latency. Log-normal latencies never reach that fence,
 * so the axis then ends at the max; a few responses far out (4 of 164 at
 * 400 ms over a 2-10 ms body) go to one overflow row instead of stretching a
 * log axis until most rows are empty. Never below p95.
 */
export function axisTopMs(percentile: (p: number) => number | undefined): number | undefined {
  const p25 = percentile(25);
  const p75 = percentile(75);
  if (p25 === undefined || p75 === undefined) return percentile(100);
  const fence = p25 > 0 ? p75 * (p75 / p25) ** 3 : Infinity;
  let top: number | undefined;
  for (const p of AXIS_PERCENTILES) {
    top = percentile(p);
    if (top !== undefined && top <= fence) return top;
  }
  return top;
}
