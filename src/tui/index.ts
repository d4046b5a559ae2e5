// The TUI's public surface: the `watch` facade and the types it takes.
export { watch, isInteractive } from './render.js';
export type { WatchOptions, WatchReport, WatchRun } from './render.js';
export { StreamFeed } from './feed.js';
export type { FeedOutcome, FeedSnapshot, FeedStatus, WatchEvent, WatchSource } from './feed.js';
export { themeFromEnv, type Theme } from './theme.js';
