// Warm the engine's code paths before the first real probe: a fresh process
// runs attempt #1 on cold code (lazy compilation, empty inline caches) and
// reported it ~2-3x slower than #2. The attempts go to a loopback server
// opened here and closed after, never to anybody's target.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TargetPolicy } from './policy.js';
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
  const port = (server.address() as AddressInfo).port;
  const base = `http://127.0.0.1:${port}`;
  // A server's calls carry a policy (its own listeners at least): warm that check too.
  const policy: TargetPolicy = {
    allow: [],
    deny: ['192.0.2.0/24'],
    denyPrivate: false,
    self: [{ port: port === 1 ? 2 : 1, cidrs: ['127.0.0.0/8', '::1/128'], name: 'warm-up' }],
  };
  try {
    for (const [path, reuseConnections, repetitions] of [
      ['/', false, attempts],
      ['/', true, attempts],
      ['/503', false, 2],
    ] as const) {
      const spec = validateProbeInput(
        { endpoint: `${base}${path}`, repetitions, reuseConnections },
        DEFAULT_LIMITS,
        policy,
      );
      // With a signal and a deadline, as a call's run has them.
      const ac = new AbortController();
      const run = runProbes(spec, { signal: ac.signal, windDown: ac.signal, deadline: performance.now() + 60_000 });
      for await (const _ of run) n++;
    }
  } finally {
    server.closeAllConnections();
    server.close();
  }
  return { attempts: n, ms: performance.now() - t0 };
}
