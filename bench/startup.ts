// `node --import tsx bench/startup.ts [other/bin/prober.js ...]`: wall time of
// the installed CLI (bin/prober.js, so `npm run build` first) for --version,
// `probe -n 1` against a local target (embedded prober, and through a running
// `serve` with --server), `node -e 0` for scale, and the first frame of `watch` under
// tmux (time until the pane shows anything). Medians of BENCH_RUNS (5) runs;
// with other launchers given (say, a build of main), runs alternate between
// them so load from elsewhere hits all alike. See docs/performance.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
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

function timeNode(args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: 'ignore', env });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${String(r.status)}`);
  return performance.now() - t0;
}

function timeCommand(bin: string, args: string[]): number {
  return timeNode([bin, ...args]);
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

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A `serve` of the first launcher on 127.0.0.1, for `probe --server` (all launchers use it). */
async function startServe(): Promise<{ address: string; close(): void }> {
  const address = `127.0.0.1:${String(await freePort())}`;
  const child = spawn(process.execPath, [BINS[0]!, 'serve', '-l', address, '--no-metrics', '--log-level', 'silent'], {
    stdio: 'ignore',
    env,
  });
  const [host, port] = address.split(':') as [string, string];
  for (const t0 = performance.now(); ; ) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(Number(port), host, () => r(s.end() !== undefined));
      s.on('error', () => r(false));
    });
    if (up) break;
    if (performance.now() - t0 > 30_000) throw new Error('serve did not listen within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { address, close: () => child.kill() };
}

const target = await startChildTarget();
const serve = await startServe();
try {
  const cases: Array<[string, (bin: string) => number]> = [
    ['node -e 0', () => timeNode(['-e', '0'])],
    ['--version', (bin) => timeCommand(bin, ['--version'])],
    ['probe -n 1', (bin) => timeCommand(bin, ['probe', target.url, '-n', '1'])],
    ['probe -n 1 --server', (bin) => timeCommand(bin, ['probe', target.url, '-n', '1', '--server', serve.address])],
    ['watch: first frame', (bin) => timeFirstFrame(bin, target.url)],
  ];
  // Cases interleaved within each round too, so `node -e 0` sees the same load.
  const times = cases.map(() => BINS.map(() => [] as number[]));
  for (let i = 0; i < runs; i++) {
    for (const [c, [, f]] of cases.entries()) for (const [b, bin] of BINS.entries()) times[c]![b]!.push(f(bin));
  }
  const nodeMs = median(times[0]![0]!);
  const rows: Record<string, number | string>[] = [];
  for (const [c, [name]] of cases.entries()) {
    // `node -e 0` does not depend on the launcher: one row.
    for (const [b, bin] of (c === 0 ? BINS.slice(0, 1) : BINS).entries()) {
      const xs = times[c]![b]!;
      const medianMs = median(xs);
      rows.push({
        name,
        bin: c === 0 ? '' : bin,
        medianMs: Math.round(medianMs),
        'x node -e 0': (medianMs / nodeMs).toFixed(2),
        runsMs: xs.map((x) => Math.round(x)).join(' '),
      });
    }
  }
  console.table(rows);
} finally {
  serve.close();
  target.close();
}
