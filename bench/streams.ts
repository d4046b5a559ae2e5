// Target 7: 1,000 concurrent ProbeStreams at 1 attempt/s against a `prober
// serve` child, from one client connection in this process. Starts are spread
// over the first second (a real fleet of dashboards does not start in the
// same millisecond). Lag = event arrival here − attempt end on the server
// (startedAt + latency; both epoch ms, so ±1 ms). RSS peak is the child's
// VmHWM; "no leak" compares its heap after a full GC before the streams and
// after they are closed (mem-probe.mjs preload).
import { readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, probeStream, type ProbeStreamCall } from '../src/client/index.js';
import { startProberServer, startTruthTarget, vmHwmBytes } from './peers.js';
import { record } from './report.js';
import { quantile, summarise } from './truth-log.js';

const PRELOAD = fileURLToPath(new URL('./mem-probe.mjs', import.meta.url));
const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function heapAfterGc(pid: number, file: string): Promise<number> {
  const before = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    if (lines.length > before) return (JSON.parse(lines.at(-1)!) as { heapUsed: number }).heapUsed;
    await sleep(25);
  }
  throw new Error('no memory sample from the server');
}

export async function benchManyStreams(): Promise<void> {
  const streams = Number(process.env.BENCH_STREAMS ?? 1000);
  const seconds = Number(process.env.BENCH_STREAMS_SECONDS ?? 20);
  const out = join(mkdtempSync(join(tmpdir(), 'bench-streams-')), 'mem.jsonl');
  const target = await startTruthTarget();
  // Above the default admission caps (200 calls, 100 per connection): one connection carries them all.
  const caps = ['--max-calls', '--max-streams-per-connection', '--max-attempts-in-flight'].flatMap((f) => [
    f,
    String(streams * 2),
  ]);
  const server = await startProberServer(['--expose-gc', '--import', PRELOAD], { BENCH_MEM_OUT: out }, caps);
  const pid = server.child.pid!;
  const conn = connect(server.address);
  try {
    // Warm the server's paths, then take the baseline heap.
    for await (const _ of probeStream(conn, { endpoint: target.url(0, 'warm'), repetitions: 300 })) void _;
    await target.records('warm');
    const heap0 = await heapAfterGc(pid, out);

    const lags: number[] = [];
    let events = 0;
    let failures = 0;
    const measureFrom = Date.now() + 3000; // after every stream has started and settled
    const calls: ProbeStreamCall[] = [];
    const done: Promise<void>[] = [];
    for (let i = 0; i < streams; i++) {
      const call = probeStream(conn, {
        endpoint: target.url(0, 'streams'),
        repetitions: 0,
        intervalMs: 1000,
      });
      calls.push(call);
      done.push(
        (async () => {
          try {
            for await (const ev of call) {
              if (ev.kind !== 'attempt') continue;
              const now = Date.now();
              events++;
              if (ev.attempt.error) failures++;
              if (now >= measureFrom) lags.push(now - (ev.attempt.startedAt + ev.attempt.latencyMs));
            }
          } catch {
            // cancelled at the end: expected
          }
        })(),
      );
      if (i % 10 === 9) await sleep(10); // spread the starts over ~1 s
    }
    await sleep(seconds * 1000);
    const rssPeak = vmHwmBytes(pid);
    const served = summarise(await target.records('streams'));
    for (const c of calls) c.cancel();
    await Promise.all(done);
    await sleep(2000); // let the server notice the cancels and drop its calls
    await target.records('streams');
    const heap1 = await heapAfterGc(pid, out);
    const p99 = quantile(lags, 0.99);
    console.table([
      {
        streams,
        seconds,
        'attempts/s (target)': Math.round(served.perSec),
        events,
        failures,
        'lag p50 ms': Number(quantile(lags, 0.5).toFixed(1)),
        'lag p99 ms': Number(p99.toFixed(1)),
        'RSS peak MiB': Math.round(rssPeak / MiB),
        'heap after GC before MiB': Number((heap0 / MiB).toFixed(1)),
        'after close MiB': Number((heap1 / MiB).toFixed(1)),
      },
    ]);
    record('', `${streams} streams: attempts/s (target-side, incl. the 1 s ramp)`, [served.perSec]);
    record('7', `${streams} streams: p99 event lag`, [p99], { op: '<', bound: 50 }, ' ms');
    record('7', `${streams} streams: server RSS peak`, [rssPeak / MiB], { op: '<', bound: 300 }, ' MiB');
    record('7', 'server heap after GC, after close − before', [(heap1 - heap0) / MiB], { op: '<', bound: 5 }, ' MiB');
  } finally {
    conn.close();
    await server.close();
    await target.close();
  }
}
