// Target 6: the real CLI (`node bin/prober.js watch`, NODE_ENV unset so the
// launcher picks production, as installed) in a 100×32 tmux pane, probing the
// ground-truth target back to back on kept-alive connections. A preload
// (mem-probe.mjs) reports heap after a full GC, RSS, CPU and frames at 10 s
// and at 10 s + BENCH_TUI_SECONDS (20); events/s is what the target served.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROBER_BIN, startTruthTarget } from './peers.js';
import { record } from './report.js';
import { summarise } from './truth-log.js';

const PRELOAD = fileURLToPath(new URL('./mem-probe.mjs', import.meta.url));
const MiB = 1024 * 1024;

interface Dump {
  readonly kind: string;
  readonly pid: number;
  readonly t: number;
  readonly heapUsed: number;
  readonly rss: number;
  readonly cpuUs: number;
  readonly writes: number;
}

function readDumps(file: string): Dump[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Dump);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitDumps(file: string, count: number): Promise<Dump[]> {
  for (let i = 0; i < 200; i++) {
    const d = readDumps(file);
    if (d.length >= count) return d;
    await sleep(50);
  }
  throw new Error(`watch child wrote ${readDumps(file).length} of ${count} memory samples`);
}

export async function benchTui(): Promise<void> {
  if (spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status !== 0) {
    console.log('skip: the TUI bench needs tmux');
    return;
  }
  const windowS = Number(process.env.BENCH_TUI_SECONDS ?? 20);
  const conc = Number(process.env.BENCH_TUI_CONCURRENCY ?? 4);
  const target = await startTruthTarget();
  const out = join(mkdtempSync(join(tmpdir(), 'bench-tui-')), 'mem.jsonl');
  const sock = `prober-bench-tui-${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', BENCH_MEM_OUT: out };
  delete env['NODE_ENV'];
  const tmux = (...a: string[]): string =>
    execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...a], { encoding: 'utf8', env });
  const tag = 'tui';
  const cmd = [
    process.execPath,
    '--expose-gc',
    '--import',
    PRELOAD,
    PROBER_BIN,
    'watch',
    `'${target.url(0, tag)}'`,
    '-n',
    '0',
    '--interval',
    '0',
    '-c',
    String(conc),
    '--reuse',
  ].join(' ');
  tmux('new-session', '-d', '-s', 'w', '-x', '100', '-y', '32', '-e', `BENCH_MEM_OUT=${out}`, cmd);
  try {
    const [start] = await waitDumps(out, 1);
    await sleep(10_000 - start!.t); // 10 s after the process started
    await target.records(tag); // the rate is counted over the window only
    process.kill(start!.pid, 'SIGUSR2');
    const [, a] = await waitDumps(out, 2);
    await sleep(windowS * 1000);
    process.kill(start!.pid, 'SIGUSR2');
    const [, , b] = await waitDumps(out, 3);
    const served = summarise(await target.records(tag));
    const secs = (b!.t - a!.t) / 1000;
    // n periodic writes fit in a window of n-1 periods: the fence post.
    const fps = (b!.writes - a!.writes - 1) / secs;
    const cpu = (b!.cpuUs - a!.cpuUs) / 1e4 / secs;
    const growth = (b!.heapUsed - a!.heapUsed) / MiB;
    console.table([
      {
        'events/s': Math.round(served.n / secs),
        fps: Number(fps.toFixed(1)),
        'CPU % of a core': Math.round(cpu),
        'heap after GC at 10 s MiB': Number((a!.heapUsed / MiB).toFixed(1)),
        [`at ${10 + windowS} s`]: Number((b!.heapUsed / MiB).toFixed(1)),
        'RSS MiB': Math.round(b!.rss / MiB),
      },
    ]);
    record('6', `TUI events/s over ${windowS} s (-c ${conc} --reuse)`, [served.n / secs], { op: '>=', bound: 1000 });
    record('6', `TUI heap after GC, growth 10 s → ${10 + windowS} s`, [growth], { op: '<', bound: 10 }, ' MiB');
    record('6', 'TUI frames/s', [fps], { op: '<=', bound: 30 });
    record('6', 'TUI process CPU (all threads), % of a core', [cpu]);
  } finally {
    tmux('kill-server');
    await target.close();
  }
}
