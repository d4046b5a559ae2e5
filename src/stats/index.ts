export * from './types.js';
export type { RunStatsOptions } from './run-stats.js';
export { LatencyDigest, EXACT_LIMIT, nearestRankIndex } from './digest.js';
export {
  RunStats,
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
