// Warm the engine's code paths before the first real probe: a fresh process
// runs attempt #1 on cold code (lazy compilation, empty inline caches) and
// reported it ~2-3x slower than #2. The attempts go to a loopback server
// opened here and closed after, never to anybody's target.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runProbes } from './schedule.js';
import { DEFAULT_LIMITS, validateProbeInput } from './validate.js';

/**
 * Fresh-connection and kept-alive attempts each. Measured on a fresh server
 * (bench/first-attempt.ts): none 2.5x, 8 1.4x, 20 1.1x, 60 1.0x attempt #1
 * over the median of #2..#20.
 */
export const WARM_UP_ATTEMPTS = 60;

export interface WarmUpReport {
  readonly attempts: number;
  readonly ms: number;
}

export async function warmUp(attempts = WARM_UP_ATTEMPTS): Promise<WarmUpReport> {
  const t0 = performance.now();
  let n = 0;
  const server = http.createServer((req, res) => {
    // Some non-2xx answers, so the status check's failure path is warm too.
    res.statusCode = req.url === '/503' ? 503 : 200;
    res.end('ok\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    for (const [path, reuseConnections, repetitions] of [
      ['/', false, attempts],
      ['/', true, attempts],
      ['/503', false, 2],
    ] as const) {
      const spec = validateProbeInput({ endpoint: `${base}${path}`, repetitions, reuseConnections }, DEFAULT_LIMITS);
      for await (const _ of runProbes(spec)) n++;
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return { attempts: n, ms: performance.now() - t0 };
}
