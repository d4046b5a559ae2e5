export * from './types.js';
export { LatencyDigest, EXACT_LIMIT, nearestRankIndex } from './digest.js';
export { RunStats, DISPLAY_BOUNDS_MS, trimHistogram, compareReasonCounts } from './run-stats.js';
export * from './phases.js';
