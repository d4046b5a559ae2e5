// CPU per request: prober's engine (node:http, fresh connection per attempt,
// with phase timing) against undici doing the same requests, in the same run.
// The target runs in a child process so only the client side is measured.
import { Client, Pool } from 'undici';
import { runAttempt, validateProbeInput, DEFAULT_LIMITS } from '../src/probe/index.js';
import http from 'node:http';
import { interleavedRounds, startChildTarget } from './target.js';

export interface Row {
  readonly name: string;
  readonly cpuUsPerReq: number;
  readonly reqPerSec: number;
}

async function undiciFresh(url: string): Promise<void> {
  // A new client per request: a fresh TCP connection, as the engine makes.
  const client = new Client(new URL(url).origin, { pipelining: 0 });
  const res = await client.request({ path: '/', method: 'GET' });
  for await (const _ of res.body) void _;
  await client.close();
}

export async function benchEngineCpu(n: number): Promise<Row[]> {
  const target = await startChildTarget();
  try {
    const spec = validateProbeInput({ endpoint: target.url, repetitions: 1 }, DEFAULT_LIMITS);
    const reuseSpec = validateProbeInput(
      { endpoint: target.url, repetitions: 1, reuseConnections: true },
      DEFAULT_LIMITS,
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const pool = new Pool(new URL(target.url).origin, { connections: 1 });

    const cases: Array<[string, () => Promise<void>]> = [
      [
        'prober fresh',
        async () => {
          const r = await runAttempt(spec, { seq: 1, timeoutMs: 5000 });
          if (r.error) throw new Error(r.error.message);
        },
      ],
      ['undici fresh', () => undiciFresh(target.url)],
      [
        'prober reuse',
        async () => {
          const r = await runAttempt(reuseSpec, { seq: 1, timeoutMs: 5000, agent });
          if (r.error) throw new Error(r.error.message);
        },
      ],
      [
        'undici reuse',
        async () => {
          const res = await pool.request({ path: '/', method: 'GET' });
          for await (const _ of res.body) void _;
        },
      ],
    ];
    // Warm up every case, then alternate rounds so drift hits all alike.
    const rows = await interleavedRounds(cases, n, 200);
    agent.destroy();
    await pool.close();
    return rows;
  } finally {
    target.close();
  }
}
