// Start-up wall time of the installed CLI (bin/prober.js, so `npm run build`
// first). Two uses:
// - `npm run bench -- startup` (target 5): --version and `probe URL -n 1
//   --server` (a running `prober serve`) as ratios to `node -e 0`, all
//   interleaved per run, median of per-run ratios; the embedded `probe -n 1`
//   and watch's first frame as context.
// - `node --import tsx bench/startup.ts [other/bin/prober.js ...]`: the same
//   commands for several launchers (say, a build of main), runs alternating
//   between them so load from elsewhere hits all alike; medians in ms.
// Medians of BENCH_RUNS (5) runs. See docs/performance.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startProberServer, startTruthTarget } from './peers.js';
import { record } from './report.js';
import { median } from './truth-log.js';

const runs = Number(process.env.BENCH_RUNS ?? 5);
// NODE_ENV unset, as a user runs it (bin/prober.js picks production).
const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
delete env['NODE_ENV'];

function timeNode(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(r.status)}`);
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

function hasTmux(): boolean {
  return spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** Target 5, recorded into the results table. */
export async function benchStartupRatios(): Promise<void> {
  const bin = fileURLToPath(new URL('../bin/prober.js', import.meta.url));
  const target = await startTruthTarget();
  const server = await startProberServer();
  try {
    const url = target.url(0, 'startup');
    const cases: Array<[string, () => number]> = [
      ['node -e 0', () => timeNode(['-e', '0'])],
      ['prober --version', () => timeNode([bin, '--version'])],
      ['prober probe URL -n 1 --server', () => timeNode([bin, 'probe', url, '-n', '1', '--server', server.address])],
      ['prober probe URL -n 1 (embedded)', () => timeNode([bin, 'probe', url, '-n', '1'])],
    ];
    if (hasTmux()) cases.push(['watch: first frame', () => timeFirstFrame(bin, url)]);
    else console.log('skip: watch first frame needs tmux');
    const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
    for (let i = 0; i < runs; i++) for (const [name, f] of cases) times.get(name)!.push(f());
    console.table(
      [...times].map(([name, xs]) => ({
        name,
        medianMs: Math.round(median(xs)),
        runsMs: xs.map((x) => Math.round(x)).join(' '),
      })),
    );
    const base = times.get('node -e 0')!;
    const ratio = (name: string): number[] => times.get(name)!.map((x, i) => x / base[i]!);
    record('5', 'prober --version wall ÷ node -e 0', ratio('prober --version'), { op: '<=', bound: 2 });
    record('5', 'probe URL -n 1 --server wall ÷ node -e 0', ratio('prober probe URL -n 1 --server'), {
      op: '<=',
      bound: 3,
    });
    record('', 'probe URL -n 1 (embedded) wall ÷ node -e 0', ratio('prober probe URL -n 1 (embedded)'));
  } finally {
    await server.close();
    await target.close();
  }
}

/** The standalone comparison of launchers (ms). */
async function compareLaunchers(bins: string[]): Promise<void> {
  const target = await startTruthTarget();
  try {
    const url = target.url(0, 'startup');
    const cases: Array<[string, (bin: string) => number]> = [
      ['--version', (bin) => timeNode([bin, '--version'])],
      ['probe -n 1', (bin) => timeNode([bin, 'probe', url, '-n', '1'])],
      ['watch: first frame', (bin) => timeFirstFrame(bin, url)],
    ];
    const rows: Record<string, number | string>[] = [];
    for (const [name, f] of cases) {
      const times = bins.map(() => [] as number[]);
      for (let i = 0; i < runs; i++) {
        for (const [b, bin] of bins.entries()) times[b]!.push(f(bin));
      }
      bins.forEach((bin, b) => {
        const xs = times[b]!;
        rows.push({ name, bin, medianMs: Math.round(median(xs)), runsMs: xs.map((x) => Math.round(x)).join(' ') });
      });
    }
    console.table(rows);
  } finally {
    await target.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await compareLaunchers([
    fileURLToPath(new URL('../bin/prober.js', import.meta.url)),
    ...process.argv.slice(2).map((p) => resolve(p)),
  ]);
  process.exit(0);
}
