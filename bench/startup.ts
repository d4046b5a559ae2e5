// `node --import tsx bench/startup.ts [other/bin/prober.js ...]`: wall time of
// the installed CLI (bin/prober.js, so `npm run build` first) for --version,
// `probe -n 1` against a local target, and the first frame of `watch` under
// tmux (time until the pane shows anything). Medians of BENCH_RUNS (5) runs;
// with other launchers given (say, a build of main), runs alternate between
// them so load from elsewhere hits all alike. See docs/performance.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChildTarget } from './target.js';

const BINS = [
  fileURLToPath(new URL('../bin/prober.js', import.meta.url)),
  ...process.argv.slice(2).map((p) => resolve(p)),
];
const runs = Number(process.env.BENCH_RUNS ?? 5);
// NODE_ENV unset, as a user runs it (bin/prober.js picks production).
const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
delete env['NODE_ENV'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timeCommand(bin: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args], { stdio: 'ignore', env });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${String(r.status)}`);
  return performance.now() - t0;
}

let panes = 0;

/** Time from starting `watch` in a tmux pane until anything is drawn in it. */
function timeFirstFrame(bin: string, url: string): number {
  // A server per run: reusing one just after kill-server races its exit.
  const sock = `prober-startup-${process.pid}-${String(panes++)}`;
  const tmux = (...a: string[]): string =>
    execFileSync('tmux', ['-L', sock, '-f', '/dev/null', ...a], { encoding: 'utf8', env });
  const t0 = performance.now();
  tmux('new-session', '-d', '-s', 'w', '-x', '100', '-y', '32', `${process.execPath} ${bin} watch ${url} -n 0`);
  try {
    for (;;) {
      if (tmux('capture-pane', '-p', '-t', 'w').trim() !== '') return performance.now() - t0;
      if (performance.now() - t0 > 30_000) throw new Error('no frame within 30 s');
    }
  } finally {
    tmux('kill-server');
  }
}

const target = await startChildTarget();
try {
  const cases: Array<[string, (bin: string) => number]> = [
    ['--version', (bin) => timeCommand(bin, ['--version'])],
    ['probe -n 1', (bin) => timeCommand(bin, ['probe', target.url, '-n', '1'])],
    ['watch: first frame', (bin) => timeFirstFrame(bin, target.url)],
  ];
  const rows: Record<string, number | string>[] = [];
  for (const [name, f] of cases) {
    const times = BINS.map(() => [] as number[]);
    for (let i = 0; i < runs; i++) {
      for (const [b, bin] of BINS.entries()) times[b]!.push(f(bin));
    }
    BINS.forEach((bin, b) => {
      const xs = times[b]!;
      rows.push({ name, bin, medianMs: Math.round(median(xs)), runsMs: xs.map((x) => Math.round(x)).join(' ') });
    });
  }
  console.table(rows);
} finally {
  target.close();
}
