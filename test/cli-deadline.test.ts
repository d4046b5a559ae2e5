// The deadline cutting a run short: exit 1, the attempt it aborted is not a
// failure of the target, and the human summary says what to do.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../src/cli/run.js';
import { EXIT } from '../src/cli/outcome.js';
import { startTarget, type Target } from './helpers/target.js';
import { testIo } from './helpers/cli-io.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.close();
});

// /hang never answers and --timeout outlasts the deadline: the one attempt
// in flight is always the deadline's to abort.
const cut = (cmd: string, ...extra: string[]): string[] => [
  cmd,
  `${target.url}/hang`,
  '-n',
  '3',
  '--deadline',
  '600ms',
  '--timeout',
  '10s',
  '--interval',
  '0',
  ...extra,
];

for (const cmd of ['probe', 'stream', 'watch']) {
  test(`${cmd}: the aborted attempt is not a failure; the summary says to raise --deadline; exit 1`, {
    timeout: 60_000,
  }, async () => {
    const io = testIo();
    const code = await run(cut(cmd, ...(cmd === 'watch' ? ['--no-tui'] : [])), io);
    assert.equal(code, EXIT.PROBE_FAILED, io.stderr.text());
    const out = io.stdout.text();
    assert.match(out, /successes 0\s+failures 0\s+aborted 1\b/);
    assert.match(
      out,
      /deadline reached\s+yes: 0 of 3 attempts before the 600 ms deadline \(1 aborted by it\); raise --deadline/,
    );
  });
}

test('--json: aborted apart from failures, the deadline and the requested count to act on', {
  timeout: 60_000,
}, async () => {
  for (const cmd of ['probe', 'stream']) {
    const io = testIo();
    assert.equal(await run(cut(cmd, '--json'), io), EXIT.PROBE_FAILED, io.stderr.text());
    const s = JSON.parse(io.stdout.text().trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(s['type'], 'summary', cmd);
    assert.equal(s['failures'], 0, cmd);
    assert.equal(s['aborted'], 1, cmd);
    assert.equal(s['deadlineReached'], true, cmd);
    assert.equal(s['deadlineMs'], 600, cmd);
    assert.equal(s['requested'], 3, cmd);
    assert.deepEqual(s['errors'], [{ reason: 'ABORTED', count: 1 }], cmd);
  }
});

test('a run the deadline did not cut gives no advice', { timeout: 60_000 }, async () => {
  const io = testIo();
  assert.equal(await run(['probe', `${target.url}/ok`, '-n', '2', '--deadline', '10s'], io), EXIT.OK, io.stderr.text());
  assert.match(io.stdout.text(), /deadline reached\s+no\n/);
  assert.doesNotMatch(io.stdout.text(), /aborted|raise --deadline/);
});
