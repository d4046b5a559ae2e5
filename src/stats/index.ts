export * from './types.js';
export type { RunStatsOptions } from './run-stats.js';
export { LatencyDigest, EXACT_LIMIT, FINE_LOW_MS, FINE_RATIO, nearestRankIndex } from './digest.js';
export {
  RunStats,
  mergeSummaries,
  DISPLAY_BOUNDS_MS,
  trimHistogram,
  compareReasonCounts,
  eventLoopVerdict,
  overloadWarning,
  MAX_STANDINS,
  OVERLOAD_MIN_MS,
  OVERLOAD_FRACTION,
} from './run-stats.js';
export * from './phases.js';
