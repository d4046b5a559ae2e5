#!/usr/bin/env node
// Trivial launcher: the CLI lives in src/cli (compiled to dist/ by `npm install`).
// React's production build unless told otherwise: the development one is
// slower to load and keeps profiling entries (PerformanceMeasure) forever.
process.env.NODE_ENV ??= 'production';
const { main } = await import('../dist/cli/main.js');

await main();
