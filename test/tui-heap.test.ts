// The live screen must not grow: React's development build keeps a
// PerformanceMeasure per render forever (+38-40 MiB in 20 s at ~1,800
// events/s, issue 9), so bin/prober.js selects the production build. A child
// runs the TUI as the installed CLI does (NODE_ENV=production) at ~1,500
// events/s for 16 s and reports the heap after full GCs at 4 s and at 16 s.
// TUI_HEAP_NODE_ENV=development shows the test catching the growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
const CHILD = new URL('./helpers/tui-heap-child.tsx', import.meta.url).pathname;
const MAX_GROWTH_MIB = 10;

test('TUI at ~1,500 events/s: heap after GC does not grow', { timeout: 90_000 }, async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: process.env.TUI_HEAP_NODE_ENV ?? 'production' };
  delete env.CI; // Ink draws every frame only outside CI, as on a user's terminal
  const { stdout } = await run(process.execPath, ['--expose-gc', '--import', 'tsx', CHILD], {
    env,
    timeout: 80_000,
  });
  const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    nodeEnv: string;
    early: number;
    late: number;
    events: number;
    eventsPerSec: number;
  };
  const growth = r.late - r.early;
  t.diagnostic(
    `NODE_ENV=${r.nodeEnv}: heap ${r.early.toFixed(1)} -> ${r.late.toFixed(1)} MiB (+${growth.toFixed(1)}), ` +
      `${r.events} events, ${Math.round(r.eventsPerSec)}/s`,
  );
  assert.ok(r.events > 2000, `the screen was fed (${r.events} events)`);
  assert.ok(growth < MAX_GROWTH_MIB, `heap grew ${growth.toFixed(1)} MiB between 4 s and 16 s`);
});

test('the installed CLI runs React’s production build unless NODE_ENV says otherwise', async () => {
  const bin = await readFile(new URL('../bin/prober.js', import.meta.url), 'utf8');
  const setAt = bin.search(/process\.env\.NODE_ENV \?\?= 'production'/);
  assert.ok(setAt >= 0 && setAt < bin.indexOf('import('), 'bin/prober.js sets NODE_ENV before loading dist/');
});
