// End to end in a real terminal: `prober watch` under tmux against a local
// target. Builds dist/ and runs bin/prober.js as a user would.
import { test, before, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep } from './helpers/wait.js';
import { startTarget, type Target } from './helpers/target.js';

const run = promisify(execFile);
const ROOT = new URL('..', import.meta.url).pathname;
const TMUX = existsSync('/usr/bin/tmux') ? '/usr/bin/tmux' : 'tmux';

before(async () => {
  // Others' files may be mid-edit: tsc still emits; we only need ours built.
  await run('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT }).catch(() => undefined);
  assert.ok(existsSync(join(ROOT, 'dist/cli/main.js')) && existsSync(join(ROOT, 'dist/tui/render.js')), 'dist built');
});

/** Environment for the pane: no CI markers (Ink then draws only the last frame). */
function paneEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'CI' || k === 'CONTINUOUS_INTEGRATION' || k.startsWith('CI_') || k === 'NO_COLOR' || k === 'FORCE_COLOR')
      continue;
    env[k] = v;
  }
  return { ...env, TERM: 'xterm-256color', ...extra };
}

class Tmux {
  readonly socket = `prober-tui-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  private readonly dir = mkdtempSync(join(tmpdir(), 'prober-tui-'));
  constructor(private readonly env: NodeJS.ProcessEnv) {
    writeFileSync(join(this.dir, 'tmux.conf'), 'set -g history-limit 5000\n');
  }
  private tmux(args: string[]): string {
    return execFileSync(TMUX, ['-L', this.socket, '-f', join(this.dir, 'tmux.conf'), ...args], {
      env: this.env,
      encoding: 'utf8',
    });
  }
  start(cmd: string, cols = 100, rows = 32): void {
    this.tmux(['new-session', '-d', '-s', 'w', '-x', String(cols), '-y', String(rows), cmd]);
  }
  screen(escapes = false): string {
    return this.tmux(['capture-pane', '-p', '-t', 'w', ...(escapes ? ['-e'] : [])]);
  }
  /** Everything, scrollback included. */
  all(): string {
    return this.tmux(['capture-pane', '-p', '-t', 'w', '-S', '-5000']);
  }
  keys(...k: string[]): void {
    this.tmux(['send-keys', '-t', 'w', ...k]);
  }
  /** The prober's pid: the child of the pane's shell. */
  proberPid(): number {
    const shell = this.tmux(['display', '-p', '-t', 'w', '#{pane_pid}']).trim();
    const kids = readFileSync(`/proc/${shell}/task/${shell}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(kids.length, 1, `one child of the pane shell: ${kids}`);
    return Number(kids[0]);
  }
  /**
   * Resolves with prober's exit status, which the pane's shell prints (tmux
   * 3.3 can lose a dead pane's status when the pty closes first).
   */
  async exited(what: string): Promise<number> {
    await this.waitFor(() => /^EXIT=\d+$/m.test(this.all()), what);
    return Number(/^EXIT=(\d+)$/m.exec(this.all())![1]);
  }
  async waitFor(pred: () => boolean, what: string, ms = 30_000): Promise<void> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (pred()) return;
      await sleep(200);
    }
    assert.fail(`timed out waiting for ${what}; screen:\n${this.all()}`);
  }
  close(): void {
    try {
      this.tmux(['kill-server']);
    } catch {
      // already gone
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function watchCmd(target: Target, extra: string): string {
  // The shell outlives prober to report its exit status; the pane is killed at the end.
  return `cd ${JSON.stringify(ROOT)} && node bin/prober.js watch ${target.url}/delay/2 -c 2 ${extra}; echo EXIT=$?; sleep 600`;
}

/** A local target and a tmux pane, both closed when the test ends. */
async function targetAndPane(t: TestContext, env: NodeJS.ProcessEnv): Promise<{ target: Target; tmux: Tmux }> {
  const target = await startTarget();
  const tmux = new Tmux(env);
  t.after(async () => {
    tmux.close();
    await target.close();
  });
  return { target, tmux };
}

test('prober watch in a real terminal: histogram and percentiles live, q quits cleanly with the summary', {
  timeout: 120_000,
}, async (t) => {
  const { target, tmux } = await targetAndPane(t, paneEnv({}));
  tmux.start(watchCmd(target, ''));

  const live = (): boolean => {
    const s = tmux.screen();
    return /latency histogram \(\d[\d,]* responses\)/.test(s) && /│█/.test(s) && /p99\s+\d[\d.]*(ms|µs)/.test(s);
  };
  await tmux.waitFor(live, 'histogram and percentiles on screen');
  const screen = tmux.screen();
  assert.match(screen, /prober watch http:\/\/127\.0\.0\.1:\d+\/delay\/2/);
  for (const p of ['p50', 'p90', 'p95', 'p99']) assert.match(screen, new RegExp(`${p}\\s+\\d[\\d.]*(ms|µs)`), p);
  assert.match(screen, /phases \(median\)/);
  assert.match(screen, /status 200 ×\d/);
  assert.match(screen, /q quit/);
  assert.match(tmux.screen(true), /\u001b\[(?:[\d;]*;)?(?:3[0-8]|9[0-7])[;m]/, 'coloured by default');
  // Live: the count moves.
  const count = (): number => Number(/(\d[\d,]*) attempts/.exec(tmux.screen())?.[1]?.replace(/,/g, '') ?? 0);
  const n0 = count();
  await tmux.waitFor(() => count() > n0, 'the attempt count to move');
  t.diagnostic(`screen:\n${tmux.screen()}`);

  tmux.keys('q');
  const status = await tmux.exited('prober to exit after q');
  const all = tmux.all();
  assert.equal(status, 0, `exit status (continuous run, no failures); output:\n${all}`);
  assert.match(all, /finished/, 'the last frame stays');
  assert.match(all, /average latency\s+\d/, 'the final summary is printed');
  assert.match(all, /events received\s+\d+/);
  assert.doesNotMatch(all, /Error|at .*\.js:\d+/, 'no stack trace');
  assert.doesNotMatch(all, /Raw mode is not supported/);
});

test('NO_COLOR, a finite run with --slow-consumer, and kill -INT: no colour, exit 130, summary', {
  timeout: 120_000,
}, async (t) => {
  const { target, tmux } = await targetAndPane(t, paneEnv({ NO_COLOR: '1' }));
  tmux.start(watchCmd(target, '-n 10000 --deadline 60s --slow-consumer 5ms'), 80, 24);
  await tmux.waitFor(() => /p50\s+\d/.test(tmux.screen()), 'percentiles on screen');
  assert.match(tmux.screen(), /attempt \d[\d,]*\/10,000/);
  assert.match(tmux.screen(), /slow consumer 5\.00ms\/event/);
  assert.match(tmux.screen(), /deadline \d+:\d\d/, 'deadline countdown');
  // Foreground colours 30-38 / 90-97 (39 is "default", which tmux emits anyway).
  assert.doesNotMatch(tmux.screen(true), /\u001b\[(?:[\d;]*;)?(?:3[0-8]|9[0-7])[;m]/, 'NO_COLOR: no colour escapes');

  process.kill(tmux.proberPid(), 'SIGINT');
  const status = await tmux.exited('prober to exit after SIGINT');
  const all = tmux.all();
  // A signal from outside: the shell convention, 128 + 2.
  assert.equal(status, 130, all);
  assert.match(all, /average latency\s+\d/);
  assert.match(all, /interrupted/);
  assert.doesNotMatch(all, /Error|at .*\.js:\d+/);
});

test('a finite run ends by itself: the last frame stays, the summary follows, exit 0', {
  timeout: 120_000,
}, async (t) => {
  const { target, tmux } = await targetAndPane(t, paneEnv({}));
  tmux.start(watchCmd(target, '-n 30'), 100, 30);
  const status = await tmux.exited('prober to finish 30 attempts');
  const all = tmux.all();
  assert.equal(status, 0, all);
  assert.match(all, /✓ done\s+attempt 30\/30/, 'the last frame stays');
  assert.match(all, /30 of 30 attempts/);
  assert.match(all, /events received\s+30\s+server sent 30/);
  assert.equal(target.requests(), 30);
});

/** "watch URL/mixed": 503 every 5th request, a 300 ms outlier every 40th. */
function mixedCmd(target: Target, extra: string): string {
  return `cd ${JSON.stringify(ROOT)} && node bin/prober.js watch ${target.url}/mixed -c 2 -i 0 ${extra}; echo EXIT=$?; sleep 600`;
}

/** Histogram rows of the screen: "  5.00ms │███ 12". */
function histogramRows(screen: string): string[] {
  return screen.split('\n').filter((l) => /^\s*│?\s*>?\s*[\d.]+(ms|µs|s) │/.test(l));
}

test('live view: failed part of the bars in red, outliers in one overflow row, rates, "since reset" after r', {
  timeout: 120_000,
}, async (t) => {
  const { target, tmux } = await targetAndPane(t, paneEnv({}));
  tmux.start(mixedCmd(target, ''), 110, 40);
  // Enough responses for outliers (every 40th) to be a small share.
  await tmux.waitFor(
    () => Number(/latency histogram \((\d[\d,]*) responses\)/.exec(tmux.screen())?.[1]?.replace(/,/g, '') ?? 0) >= 200,
    '200 responses',
  );
  // The axis is cut only where outliers stand far from the body (Tukey's far-out
  // fence): on a loaded machine the body spreads and it can take more responses.
  // The outliers take 300 ms; on a loaded machine one may take longer (566 ms seen), so any max from 300 ms.
  const overflow = /│ >\s*[\d.]+ms │[█▏▎▍▌▋▊▉]+ \d+ · max (?:[3-9]\d\dms|[\d.]+s)/;
  await tmux.waitFor(() => overflow.test(tmux.screen()), 'an overflow row for the 300 ms outliers', 60_000);
  const screen = tmux.screen();
  assert.match(screen, /max\s+(?:[3-9]\d\dms|[\d.]+s)/, 'the max stays in the stats');
  assert.match(screen, overflow, `overflow row:\n${screen}`);
  assert.ok(histogramRows(screen).length >= 10, `most rows hold the body:\n${screen}`);
  assert.match(screen, /█ failed/, 'the legend');
  assert.match(screen, /attempts\/s [▁▂▃▄▅▆▇█ ]+ \d+ peak \d+/);
  assert.match(screen, /errors\/s +[▁▂▃▄▅▆▇█ ]+ \d+/);
  // Colour: a histogram row holds a bar in red (31) after its cyan (36) part.
  const coloured = tmux
    .screen(true)
    .split('\n')
    .filter((l) => /[\d.]+ms /.test(l) && /│/.test(l));
  assert.ok(
    coloured.some((l) => /\u001b\[(?:[\d;]*;)?36m█[^\u001b]*\u001b\[(?:[\d;]*;)?31m█/.test(l)),
    `a bar ends in red:\n${coloured.join('\n')}`,
  );
  assert.doesNotMatch(screen, /since reset/);

  tmux.keys('r');
  await tmux.waitFor(() => /since reset 0:0\d/.test(tmux.screen()), '"since reset" after r');
  await tmux.waitFor(() => /since reset 0:0[2-9]/.test(tmux.screen()), 'the clock since the reset to run');
  t.diagnostic(`screen:\n${tmux.screen()}`);
});

test('NO_COLOR: the failed part of the bars is marked ▒, with a legend', { timeout: 120_000 }, async (t) => {
  const { target, tmux } = await targetAndPane(t, paneEnv({ NO_COLOR: '1' }));
  tmux.start(mixedCmd(target, ''), 100, 34);
  await tmux.waitFor(() => /▒ failed/.test(tmux.screen()) && /│[█▏▎▍▌▋▊▉]*▒+ \d/.test(tmux.screen()), 'a marked bar');
  assert.doesNotMatch(tmux.screen(true), /\u001b\[(?:[\d;]*;)?(?:3[0-8]|9[0-7])[;m]/, 'no colour escapes');
});

test('an invalid URL fails before the first frame: no screen drawn, the message, exit 2', {
  timeout: 120_000,
}, async (t) => {
  const tmux = new Tmux(paneEnv({}));
  t.after(() => tmux.close());
  tmux.start(`cd ${JSON.stringify(ROOT)} && node bin/prober.js watch not-a-url; echo EXIT=$?; sleep 600`, 160, 30);
  const status = await tmux.exited('prober to reject the URL');
  const all = tmux.all();
  assert.equal(status, 2, all);
  assert.match(
    all,
    /prober watch: invalid argument: endpoint must be an absolute http:\/\/ or https:\/\/ URL .*\(URL\)/,
  );
  assert.doesNotMatch(all, /q quit|latency histogram|embedded|connecting/, 'no frame drawn');
});

test('q on a finite run where nothing failed exits 0; q after failures exits 1', { timeout: 120_000 }, async (t) => {
  const target = await startTarget();
  t.after(() => target.close());
  for (const [path, want] of [
    ['/delay/2', 0],
    ['/status/503', 1],
  ] as const) {
    const tmux = new Tmux(paneEnv({}));
    try {
      tmux.start(
        `cd ${JSON.stringify(ROOT)} && node bin/prober.js watch ${target.url}${path} -n 10000 -i 20ms; echo EXIT=$?; sleep 600`,
      );
      await tmux.waitFor(() => /p50\s+\d/.test(tmux.screen()), 'percentiles on screen');
      tmux.keys('q');
      const status = await tmux.exited('prober to exit after q');
      const all = tmux.all();
      assert.equal(status, want, `${path}: ${all}`);
      assert.match(all, /average latency\s+\d/);
      assert.doesNotMatch(all, /Error|at .*\.js:\d+/);
    } finally {
      tmux.close();
    }
  }
});

/** A free loopback port (closed again: the server binds it). */
async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** `prober serve` on 127.0.0.1:port as its own process; resolves once it listens. */
async function serve(port: number): Promise<import('node:child_process').ChildProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    ['bin/prober.js', 'serve', '--listen', `127.0.0.1:${port}`, '--no-metrics', '--log-level', 'info'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const t0 = Date.now();
  while (!/listening/.test(out)) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000) {
      child.kill('SIGKILL');
      assert.fail(`prober serve did not start: ${out}`);
    }
    await sleep(50);
  }
  return child;
}

test('two regions: one server killed mid-run shows its error and DOWN, the other keeps counting; restarted, it reconnects', {
  timeout: 120_000,
}, async (t) => {
  const target = await startTarget();
  const [p1, p2] = [await freePort(), await freePort()];
  const a = await serve(p1);
  let b = await serve(p2);
  const tmux = new Tmux(paneEnv({}));
  t.after(async () => {
    tmux.close();
    a.kill('SIGKILL');
    b.kill('SIGKILL');
    await target.close();
  });
  const A = `127.0.0.1:${p1}`;
  const B = `127.0.0.1:${p2}`;
  tmux.start(
    `cd ${JSON.stringify(ROOT)} && node bin/prober.js watch ${target.url}/delay/2 -i 50ms -s ${A} -s ${B}; echo EXIT=$?; sleep 600`,
    100,
    60,
  );
  /** A panel's attempt count, from its title line. */
  const count = (label: string): number => {
    const m = new RegExp(`^│ ${label.replace(/\./g, '\\.')} .*?(\\d[\\d,]*) attempts`, 'm').exec(tmux.screen());
    return Number(m?.[1]?.replace(/,/g, '') ?? -1);
  };
  await tmux.waitFor(() => /up in 2\/2 regions/.test(tmux.screen()) && count(B) > 3, 'both regions up');
  assert.match(tmux.screen(), /all regions\s+● running/);

  b.kill('SIGKILL');
  await tmux.waitFor(
    () => new RegExp(`DOWN in 1/2 \\(${B}: UNAVAILABLE\\)`).test(tmux.screen()),
    'the verdict to say the killed region is down',
  );
  await tmux.waitFor(() => /✗ error UNAVAILABLE · reconnecting in \ds/.test(tmux.screen()), 'reconnecting in Ns');
  const bDown = count(B);
  assert.ok(bDown > 0, 'the killed region keeps its last numbers');
  const a0 = count(A);
  await tmux.waitFor(() => count(A) > a0 + 5, 'the other region to keep counting');
  assert.equal(count(B), bDown, 'no attempts while down');
  t.diagnostic(`down:\n${tmux.screen()}`);

  b = await serve(p2);
  await tmux.waitFor(
    () => /up in 2\/2 regions/.test(tmux.screen()) && count(B) > bDown + 3,
    'the region to reconnect',
    40_000,
  );
  t.diagnostic(`back:\n${tmux.screen()}`);
  tmux.keys('q');
  await tmux.exited('prober to exit after q');
  assert.doesNotMatch(tmux.all(), /at .*\.js:\d+/, 'no stack trace');
});
