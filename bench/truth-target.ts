// The ground-truth target, run as a child process (`node --import tsx
// bench/truth-target.ts`): prints its port, serves /delay/N?tag=T and
// records, per tag, when each request arrived and how long the target itself
// took to answer it. GET /_truth?tag=T returns (and forgets) those records.
// Loopback only.
import http from 'node:http';
import { parseTargetPath, TruthLog } from './truth-log.js';

const body = Buffer.from('ok\n');
const log = new TruthLog();
// setTimeout fires 1-2 ms late: sleep all but this margin, spin the rest.
const SPIN_MS = 2;

function spinUntil(t: number): void {
  while (performance.now() < t) {
    // busy-wait: only the last SPIN_MS of a delay
  }
}

const server = http.createServer((req, res) => {
  const t0 = performance.now();
  const url = req.url ?? '/';
  if (url.startsWith('/_truth?')) {
    const tag = new URLSearchParams(url.slice('/_truth?'.length)).get('tag') ?? '';
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(log.take(tag)));
    return;
  }
  const r = parseTargetPath(url);
  if (r === undefined) {
    res.statusCode = 404;
    res.end();
    return;
  }
  const finish = (): void => {
    spinUntil(t0 + r.delayMs);
    res.end(body);
    log.add(r.tag, { arriveMs: t0, handleMs: performance.now() - t0 });
  };
  if (r.delayMs > SPIN_MS) setTimeout(finish, r.delayMs - SPIN_MS);
  else finish();
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${typeof a === 'object' && a !== null ? a.port : 0}\n`);
});
// Stop with the bench, even if it dies without killing us.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
