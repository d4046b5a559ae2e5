// Preloaded into a prober child (`node --expose-gc --import bench/mem-probe.mjs
// bin/prober.js ...`) so the bench can read its memory without an inspector:
// on SIGUSR2 it runs a full GC and appends one JSON line to $BENCH_MEM_OUT
// (heap after GC, RSS, CPU so far, stdout writes so far = frames for Ink,
// which writes each frame in one call). Plain JS: no loader in the child.
import { appendFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

const out = process.env.BENCH_MEM_OUT;
// --import runs in worker threads too; signals reach only the main thread.
if (out && isMainThread) {
  let writes = 0;
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk, ...rest) => {
    writes++;
    return write(chunk, ...rest);
  };
  const dump = (kind) => {
    globalThis.gc?.();
    const m = process.memoryUsage();
    const c = process.cpuUsage();
    const line = {
      kind,
      pid: process.pid,
      t: performance.now(),
      heapUsed: m.heapUsed,
      rss: m.rss,
      cpuUs: c.user + c.system,
      writes,
    };
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  };
  process.on('SIGUSR2', () => dump('sample'));
  dump('start');
}
