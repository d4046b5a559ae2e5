// Latency digest: exact moments always, exact nearest-rank percentiles up to
// EXACT_LIMIT samples, a fine log histogram (<= 0.5% relative error) always.
import type { Histogram, HistogramBucket, LatencySketch } from './types.js';

/** Samples kept for exact percentiles; beyond this the fine histogram answers. */
export const EXACT_LIMIT = 100_000;
const INITIAL_SAMPLES = 16;

// Fine log histogram: bucket i covers (LOW * R^(i-1), LOW * R^i]; bucket 0 is
// everything <= LOW. Reporting a bucket by its geometric midpoint is off by at
// most sqrt(R) - 1 ~= 0.5% relative, inside the 1% the proto promises.
// Exported: the sketch on the wire (LatencySketch in the proto) uses this scheme.
export const FINE_LOW_MS = 0.001; // 1 µs: below this the absolute error is irrelevant
const FINE_HIGH_MS = 1e8; // ~28 h: far above any timeout
export const FINE_RATIO = 1.01;
const LOG_RATIO = Math.log(FINE_RATIO);
export const FINE_BUCKETS = Math.ceil(Math.log(FINE_HIGH_MS / FINE_LOW_MS) / LOG_RATIO) + 1;

function fineIndex(v: number): number {
  if (!(v > FINE_LOW_MS)) return 0; // also NaN and negatives
  const i = Math.ceil(Math.log(v / FINE_LOW_MS) / LOG_RATIO);
  return i >= FINE_BUCKETS ? FINE_BUCKETS - 1 : i;
}

/** Representative value of a fine bucket: its geometric midpoint. */
function fineValue(i: number): number {
  if (i === 0) return FINE_LOW_MS;
  return FINE_LOW_MS * FINE_RATIO ** (i - 0.5);
}

/** Nearest-rank index (0-based) of percentile p (0..100] in n sorted values. */
export function nearestRankIndex(p: number, n: number): number {
  const rank = Math.ceil((p / 100) * n);
  return Math.min(n, Math.max(1, rank)) - 1;
}

export class LatencyDigest {
  private n = 0;
  private total = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private mu = 0;
  private m2 = 0;
  // Exact samples; released (undefined) once more than EXACT_LIMIT arrive.
  // Starts small: a server holds ~8 digests per call, 1,000 calls at once.
  private samples: Float64Array | undefined = new Float64Array(INITIAL_SAMPLES);
  // samples[0, sortedTo) are sorted; the tail is merged in lazily.
  private sortedTo = 0;
  // The fine histogram (20 KiB), built only once the samples are released
  // (or a sketch is merged in); while they are kept it is derived from them.
  // Invariant: exactly one of samples and fine is set.
  private fine: Float64Array | undefined;

  add(ms: number): void {
    this.n++;
    this.total += ms;
    if (ms < this.lo) this.lo = ms;
    if (ms > this.hi) this.hi = ms;
    // Welford: numerically stable running mean and sum of squared deviations.
    const d = ms - this.mu;
    this.mu += d / this.n;
    this.m2 += d * (ms - this.mu);

    const s = this.samples;
    if (s === undefined || this.n > EXACT_LIMIT) {
      const fine = this.fineHistogram(this.n - 1);
      const fi = fineIndex(ms);
      fine[fi] = fine[fi]! + 1;
      return;
    }
    if (this.n > s.length) {
      const grown = new Float64Array(Math.min(EXACT_LIMIT, s.length * 2));
      grown.set(s);
      this.samples = grown;
    }
    this.samples![this.n - 1] = ms;
  }

  /**
   * The fine histogram, built from the first `kept` samples the first time
   * (the samples are then released: percentiles come from it from now on).
   */
  private fineHistogram(kept: number): Float64Array {
    if (this.fine !== undefined) return this.fine;
    const fine = new Float64Array(FINE_BUCKETS);
    const s = this.samples;
    for (let i = 0; s !== undefined && i < kept; i++) {
      const k = fineIndex(s[i]!);
      fine[k] = fine[k]! + 1;
    }
    this.fine = fine;
    this.samples = undefined;
    return fine;
  }

  /** Fine-bucket counts, sparse and ascending by index, from whichever form is held. */
  private fineBuckets(): Array<{ index: number; count: number }> {
    const buckets: Array<{ index: number; count: number }> = [];
    const fine = this.fine;
    if (fine !== undefined) {
      for (let i = 0; i < FINE_BUCKETS; i++) if (fine[i]! > 0) buckets.push({ index: i, count: fine[i]! });
      return buckets;
    }
    // Sorted samples give ascending bucket indexes.
    for (const v of this.sorted() ?? []) {
      const index = fineIndex(v);
      const last = buckets[buckets.length - 1];
      if (last !== undefined && last.index === index) last.count++;
      else buckets.push({ index, count: 1 });
    }
    return buckets;
  }

  get count(): number {
    return this.n;
  }
  get sum(): number {
    return this.total;
  }
  /** True while percentiles are exact (count <= EXACT_LIMIT). */
  get exact(): boolean {
    return this.samples !== undefined;
  }
  get min(): number | undefined {
    return this.n === 0 ? undefined : this.lo;
  }
  get max(): number | undefined {
    return this.n === 0 ? undefined : this.hi;
  }
  get mean(): number | undefined {
    return this.n === 0 ? undefined : this.mu;
  }
  /** Population variance. */
  get variance(): number | undefined {
    return this.n === 0 ? undefined : this.m2 / this.n;
  }
  get stddev(): number | undefined {
    const v = this.variance;
    return v === undefined ? undefined : Math.sqrt(Math.max(0, v));
  }

  /** Nearest-rank percentile, p in (0, 100]. Undefined when empty. */
  percentile(p: number): number | undefined {
    if (this.n === 0) return undefined;
    const idx = nearestRankIndex(p, this.n);
    const sorted = this.sorted();
    if (sorted !== undefined) return sorted[idx];
    const fine = this.fineHistogram(this.n);
    let seen = 0;
    for (let i = 0; i < FINE_BUCKETS; i++) {
      seen += fine[i]!;
      if (seen > idx) return Math.min(this.hi, Math.max(this.lo, fineValue(i)));
    }
    return this.hi;
  }

  /**
   * Re-bins into ascending inclusive upper bounds: bucket k counts values in
   * (bounds[k-1], bounds[k]]; values above the last bound go to `overflow`.
   * Exact while samples are kept, else bucket placement is within 1%.
   */
  histogram(boundsMs: readonly number[]): Histogram {
    const counts = new Array<number>(boundsMs.length).fill(0);
    let overflow = 0;
    const sorted = this.sorted();
    if (sorted !== undefined) {
      // Sorted samples: one binary search per bound, O(bounds * log n).
      let prev = 0;
      for (let k = 0; k < boundsMs.length; k++) {
        const end = countAtOrBelow(sorted, boundsMs[k]!);
        counts[k] = Math.max(0, end - prev);
        prev = Math.max(prev, end);
      }
      overflow = sorted.length - prev;
    } else {
      const fine = this.fineHistogram(this.n);
      for (let i = 0; i < FINE_BUCKETS; i++) {
        const c = fine[i]!;
        if (c === 0) continue;
        const k = lowerBound(boundsMs, Math.min(this.hi, Math.max(this.lo, fineValue(i))));
        if (k === boundsMs.length) overflow += c;
        else counts[k] = counts[k]! + c;
      }
    }
    const buckets: HistogramBucket[] = boundsMs.map((upperBoundMs, k) => ({ upperBoundMs, count: counts[k]! }));
    return { buckets, overflow };
  }

  /**
   * The mergeable part: sparse fine buckets plus exact moments. Another
   * digest merged from it has the same fine buckets, so its percentiles are
   * within the fine histogram's 0.5%.
   */
  sketch(): LatencySketch {
    const buckets = this.fineBuckets();
    return {
      count: this.n,
      sumMs: this.total,
      // Sum of squares from Welford's state: exact moments survive the trip.
      sumSquaresMs2: this.m2 + (this.n === 0 ? 0 : this.total * this.mu),
      minMs: this.min ?? 0,
      maxMs: this.max ?? 0,
      buckets,
    };
  }

  /** Adds another digest's values: moments exact, samples kept while both are exact and fit. */
  merge(other: LatencyDigest): void {
    if (other.n === 0) return;
    const os = other.sorted();
    if (this.samples === undefined || os === undefined || this.n + other.n > EXACT_LIMIT) {
      // Past exact: from now on the fine histogram answers.
      const fine = this.fineHistogram(this.n);
      for (const b of other.fineBuckets()) fine[b.index] = fine[b.index]! + b.count;
      this.mergeMoments(other.n, other.total, other.mu, other.m2, other.lo, other.hi);
      return;
    }
    this.mergeMoments(other.n, other.total, other.mu, other.m2, other.lo, other.hi);
    this.mergeSamples(os);
  }

  /** Adds a sketch (from another server): percentiles come from the fine buckets from now on. */
  mergeSketch(k: LatencySketch): void {
    if (k.count === 0) return;
    const mu = k.sumMs / k.count;
    const m2 = Math.max(0, k.sumSquaresMs2 - k.sumMs * mu);
    // The sketch has no samples: from now on the fine histogram answers.
    const fine = this.fineHistogram(this.n);
    this.mergeMoments(k.count, k.sumMs, mu, m2, k.minMs, k.maxMs);
    for (const b of k.buckets) {
      const i = Math.min(FINE_BUCKETS - 1, Math.max(0, Math.trunc(b.index)));
      fine[i] = fine[i]! + b.count;
    }
  }

  // Chan et al.: combine two (n, mean, M2) triples exactly.
  private mergeMoments(n: number, total: number, mu: number, m2: number, lo: number, hi: number): void {
    if (n === 0) return;
    const n0 = this.n;
    const all = n0 + n;
    const d = mu - this.mu;
    this.mu += (d * n) / all;
    this.m2 += m2 + (d * d * n0 * n) / all;
    this.n = all;
    this.total += total;
    if (lo < this.lo) this.lo = lo;
    if (hi > this.hi) this.hi = hi;
  }

  /** Both exact and the sum fits (merge checked): appends the other's samples. */
  private mergeSamples(other: Float64Array): void {
    const s = this.samples!;
    const before = this.n - other.length;
    const grown = new Float64Array(Math.max(INITIAL_SAMPLES, this.n));
    grown.set(s.subarray(0, before));
    grown.set(other, before);
    this.samples = grown;
  }

  reset(): void {
    this.n = 0;
    this.total = 0;
    this.lo = Infinity;
    this.hi = -Infinity;
    this.mu = 0;
    this.m2 = 0;
    this.samples = new Float64Array(INITIAL_SAMPLES);
    this.sortedTo = 0;
    this.fine = undefined;
  }

  /** The exact samples sorted ascending, or undefined past EXACT_LIMIT. */
  private sorted(): Float64Array | undefined {
    const s = this.samples;
    if (s === undefined) return undefined;
    const n = this.n;
    if (this.sortedTo < n) {
      // Sort only the new tail, then merge it into the sorted prefix: cheap
      // when a live view asks for a summary after every few attempts.
      if (n - this.sortedTo > n / 8) {
        s.subarray(0, n).sort(); // mostly new data: a full sort is cheaper
        this.sortedTo = n;
        return s.subarray(0, n);
      }
      const tail = s.slice(this.sortedTo, n).sort();
      let i = this.sortedTo; // sorted prefix still to place: s[0, i)
      let end = n; // s[end, n) is final
      for (let j = tail.length - 1; j >= 0; j--) {
        const v = tail[j]!;
        const pos = countAtOrBelow(s, v, i);
        // Block move (memmove) of the prefix values greater than v.
        s.copyWithin(end - (i - pos), pos, i);
        end -= i - pos;
        s[--end] = v;
        i = pos;
      }
      this.sortedTo = n;
    }
    return s.subarray(0, n);
  }
}

/** Number of values <= v in the ascending sorted[0, end). */
function countAtOrBelow(sorted: Float64Array, v: number, end = sorted.length): number {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index k with bounds[k] >= v (bounds ascending); bounds.length if none. */
function lowerBound(bounds: readonly number[], v: number): number {
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (bounds[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
