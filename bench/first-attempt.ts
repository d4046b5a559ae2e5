// Attempt #1 against the median of #2..#20 on a fresh server, and the
// server's start-up time. One fresh process per sample (cold code paths are
// per process): `node --import tsx bench/first-attempt.ts [engine] [samples]`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, probeStream } from '../src/client/index.js';
import { startServer } from '../src/server/server.js';
import { startChildTarget } from './target.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
}

// The target is a fresh process too: warm it from another process first, so
// only the prober's cold paths are measured (not the target's, nor ours).
const WARM_TARGET = `
const http = require('node:http');
let n = 0;
const go = () => http.get(process.argv[1], (r) => { r.resume(); r.on('end', () => (++n < 300 ? go() : 0)); });
go();`;

/** One sample in this process: [startup ms, #1 ms, median #2..#20 ms]. */
async function sample(engine: string | undefined): Promise<number[]> {
  const target = await startChildTarget();
  spawnSync(process.execPath, ['-e', WARM_TARGET, target.url]);
  const t0 = performance.now();
  // "inline-cold": engine inline, no warm-up (how every server started before).
  const [mode, cold] = (engine ?? 'thread').split('-');
  const input = {
    listen: '127.0.0.1:0',
    observability: { health: false, reflection: false },
    engine: mode,
    warmUp: cold !== 'cold',
  };
  const server = await startServer(input as Parameters<typeof startServer>[0]);
  const startMs = performance.now() - t0;
  const conn = connect(server.address);
  const lat: number[] = [];
  for await (const ev of probeStream(conn, { endpoint: target.url, repetitions: 20 }, { deadlineMs: 30_000 })) {
    if (ev.kind === 'attempt') lat.push(ev.attempt.latencyMs);
  }
  conn.close();
  await server.close(0);
  target.close();
  return [startMs, lat[0] ?? Number.NaN, median(lat.slice(1))];
}

const [, , mode, engineArg] = process.argv;
if (mode === '--one') {
  const r = await sample(engineArg === 'default' ? undefined : engineArg);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  const engine = mode ?? 'default';
  const samples = Number(engineArg ?? 8);
  const rows: number[][] = [];
  for (let i = 0; i < samples; i++) {
    const p = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--one', engine], {
      encoding: 'utf8',
    });
    if (p.status !== 0) throw new Error(p.stderr);
    rows.push(JSON.parse(p.stdout.trim().split('\n').pop() ?? '[]') as number[]);
  }
  const ratio = rows.map((r) => (r[1] ?? 0) / (r[2] ?? 1));
  console.table({
    engine,
    samples,
    'startup ms (median)': median(rows.map((r) => r[0] ?? 0)).toFixed(1),
    '#1 ms (median)': median(rows.map((r) => r[1] ?? 0)).toFixed(3),
    '#2..#20 ms (median)': median(rows.map((r) => r[2] ?? 0)).toFixed(3),
    '#1 / median #2..#20 (median)': median(ratio).toFixed(2),
  });
}
