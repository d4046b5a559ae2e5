// Folding attempts into statistics: RunStats against the obvious peer (keep
// every latency in a JS array, sort it for percentiles), same data, same run.
import { RunStats } from '../src/stats/index.js';

export interface StatsRow {
  readonly name: string;
  readonly nsPerAdd: number;
  readonly heapBytes: number;
  readonly p99: number;
}

function sample(i: number): number {
  // Deterministic, skewed latencies (ms) without Math.random.
  const x = ((i * 2654435761) >>> 0) / 2 ** 32;
  return 5 + 50 * x * x * x;
}

function heapAfterGc(): number {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  // Typed arrays live outside the JS heap; count them too.
  return m.heapUsed + m.arrayBuffers;
}

// Holds what is being measured so the collector cannot free it early.
const keep: unknown[] = [];

export function benchStats(n: number): StatsRow[] {
  const rows: StatsRow[] = [];

  let h0 = heapAfterGc();
  let t0 = performance.now();
  const stats = new RunStats();
  for (let i = 0; i < n; i++) stats.add({ latencyMs: sample(i), status: 200 });
  const p99 = stats.summary().p99Ms ?? NaN;
  let t = performance.now() - t0;
  keep.push(stats);
  // What one RunStats retains is small next to GC noise: average over copies.
  const copies = 8;
  for (let c = 1; c < copies; c++) {
    const more = new RunStats();
    for (let i = 0; i < n; i++) more.add({ latencyMs: sample(i), status: 200 });
    keep.push(more);
  }
  rows.push({ name: 'RunStats', nsPerAdd: (t * 1e6) / n, heapBytes: (heapAfterGc() - h0) / copies, p99 });

  h0 = heapAfterGc();
  t0 = performance.now();
  const all: number[] = [];
  for (let i = 0; i < n; i++) all.push(sample(i));
  const sorted = [...all].sort((a, b) => a - b);
  const naiveP99 = sorted[Math.ceil(0.99 * n) - 1] ?? NaN;
  t = performance.now() - t0;
  keep.push(all, sorted);
  rows.push({ name: 'array+sort', nsPerAdd: (t * 1e6) / n, heapBytes: heapAfterGc() - h0, p99: naiveP99 });
  keep.length = 0;
  return rows;
}
