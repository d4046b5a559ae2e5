#!/usr/bin/env node
// Trivial launcher: the CLI lives in src/cli (compiled to dist/ by `npm install`).
import { main } from '../dist/cli/main.js';

await main();
