// `probe`'s progress line (src/cli/progress.ts): the pure line(), then run()
// with a stderr that says it is a terminal, against local targets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { line } from '../src/cli/progress.js';
import { startTarget, type Target } from './helpers/target.js';
import { capture, type TestIo } from './helpers/cli-io.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

test('line(): done/total, rate, errors, time left before the deadline', () => {
  assert.equal(
    line({ done: 37, total: 400, errors: 2, elapsedMs: 1_000, deadlineMs: 30_000 }),
    '37/400 attempts · 37/s · 2 errors · deadline in 29 s',
  );
  assert.equal(
    line({ done: 3, total: 10, errors: 1, elapsedMs: 1_500, deadlineMs: undefined }),
    '3/10 attempts · 2.0/s · 1 error',
  );
  // Nothing done yet, and a deadline already passed, stay readable.
  assert.equal(
    line({ done: 0, total: 5, errors: 0, elapsedMs: 0, deadlineMs: 2_000 }),
    '0/5 attempts · 0.0/s · 0 errors · deadline in 2 s',
  );
  assert.equal(
    line({ done: 1, total: 5, errors: 0, elapsedMs: 2_500, deadlineMs: 2_000 }),
    '1/5 attempts · 0.4/s · 0 errors · deadline in 0 s',
  );
});

const ERASE_LINE = '\u001b[2K';

/** What a terminal shows after `raw`: \r to column 0, ESC[2K erases the line, \n starts the next. */
function screen(raw: string): string[] {
  const rows: string[][] = [[]];
  let col = 0;
  for (let i = 0; i < raw.length; i++) {
    const row = rows[rows.length - 1]!;
    if (raw.startsWith(ERASE_LINE, i)) {
      row.length = 0;
      i += ERASE_LINE.length - 1;
    } else if (raw[i] === '\r') col = 0;
    else if (raw[i] === '\n') {
      rows.push([]);
      col = 0;
    } else row[col++] = raw[i]!;
  }
  return rows
    .map((r) =>
      Array.from(r, (c) => c ?? ' ')
        .join('')
        .trimEnd(),
    )
    .filter((r) => r !== '');
}

function ttyIo(opts: { stderrTTY?: boolean; signal?: AbortSignal } = {}): TestIo {
  return {
    stdout: capture(),
    stderr: capture(opts.stderrTTY ?? true),
    env: {},
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  };
}

const PROGRESS = /\d+\/\d+ attempts · [\d.]+\/s · \d+ errors? · deadline in \d+ s/;

test('stderr a terminal: progress lines drawn in place, erased before the result', { timeout: 60_000 }, async () => {
  const io = ttyIo();
  const code = await run(['probe', `${target.url}/delay/150`, '-n', '5'], io);
  assert.equal(code, EXIT.OK, io.stderr.text());
  const err = io.stderr.text();
  assert.match(err, new RegExp(`\\r\\x1b\\[2K${PROGRESS.source}`), JSON.stringify(err));
  assert.match(err, /\/5 attempts/);
  assert.doesNotMatch(err, /\n/, 'progress never moves to a new line');
  assert.ok(err.endsWith('\r\x1b[2K'), `erased at the end: ${JSON.stringify(err.slice(-40))}`);
  assert.deepEqual(screen(err), [], 'nothing left on the terminal');
  // The result is the one the unary call prints.
  assert.match(io.stdout.text(), /5 of 5 attempts/);
  assert.match(io.stdout.text(), /successes 5\s+failures 0/);
});

test('progress counts errors; --json gives the same summary as without progress', { timeout: 60_000 }, async () => {
  const args = ['probe', `${target.url}/status/503`, '-n', '8', '-i', '80ms', '--json'];
  const shown = ttyIo();
  const quiet = ttyIo({ stderrTTY: false });
  const [a, b] = [await run(args, shown), await run(args, quiet)];
  assert.equal(a, EXIT.PROBE_FAILED);
  assert.equal(b, EXIT.PROBE_FAILED);
  assert.match(shown.stderr.text(), /\d+ errors?/);
  assert.deepEqual(screen(shown.stderr.text()), []);
  const strip = (s: Record<string, unknown>): Record<string, unknown> => {
    // Timings differ run to run (and so do late starts under load); everything else is the same object.
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(s))
      if (!/Ms$|At$|^histogram|^phases$|^intendedLatency$|^eventLoopDelay$|^scheduleSlips$/.test(k)) out[k] = v;
    return out;
  };
  const sa = JSON.parse(shown.stdout.text()) as Record<string, unknown>;
  const sb = JSON.parse(quiet.stdout.text()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(sa), Object.keys(sb));
  assert.deepEqual(strip(sa), strip(sb));
  assert.equal(sa['failures'], 8);
  assert.equal(sa['eventsSent'], sb['eventsSent']);
});

test('--quiet, -q, or stderr not a terminal: nothing on stderr', { timeout: 60_000 }, async () => {
  for (const [extra, tty] of [
    [['--quiet'], true],
    [['-q'], true],
    [[], false],
  ] as const) {
    const io = ttyIo({ stderrTTY: tty });
    const code = await run(['probe', `${target.url}/delay/150`, '-n', '4', ...extra], io);
    assert.equal(code, EXIT.OK, io.stderr.text());
    assert.equal(io.stderr.text(), '', `${extra.join(' ')} tty=${String(tty)}`);
    assert.match(io.stdout.text(), /4 of 4 attempts/);
  }
});

test('interrupted: the progress line is erased before the message', { timeout: 60_000 }, async () => {
  const ac = new AbortController();
  const io = ttyIo({ signal: ac.signal });
  const running = run(['probe', `${target.url}/delay/200`, '-n', '50'], io);
  await io.stderr.waitFor(PROGRESS);
  ac.abort();
  const code = await running;
  assert.equal(code, EXIT.PROBE_FAILED);
  assert.deepEqual(screen(io.stderr.text()), ['prober probe: interrupted']);
});

test('the deadline cuts the run: no progress left on the terminal', { timeout: 60_000 }, async () => {
  const io = ttyIo();
  const code = await run(['probe', `${target.url}/delay/150`, '-n', '50', '--deadline', '900ms'], io);
  assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
  assert.match(io.stderr.text(), PROGRESS);
  for (const row of screen(io.stderr.text())) assert.doesNotMatch(row, /attempts · /);
});
