// CPU per attempt at concurrency 32, in process: the scheduler (runProbes)
// against a bare node:http client keeping 32 requests in flight, keep-alive
// and fresh connections, in alternating rounds. The target runs in a child
// process so only the client side is measured.
import http from 'node:http';
import { DEFAULT_LIMITS, runProbes, validateProbeInput } from '../src/probe/index.js';
import { type CaseRow, measure, startChildTarget } from './target.js';

const C = 32;

/** `n` GETs, 32 at a time, each loop awaiting its response's end. */
async function nodeHttp(url: string, n: number, agent: http.Agent | false): Promise<void> {
  let left = n;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent }, (res) => {
        res.on('data', () => {});
        res.on('end', resolve);
      });
      req.on('error', reject);
    });
  await Promise.all(
    Array.from({ length: C }, async () => {
      while (left-- > 0) await one();
    }),
  );
}

async function prober(url: string, n: number, reuseConnections: boolean): Promise<void> {
  const spec = validateProbeInput({ endpoint: url, repetitions: n, concurrency: C, reuseConnections }, DEFAULT_LIMITS);
  for await (const r of runProbes(spec)) if (r.error) throw new Error(r.error.message);
}

export async function benchEngineCpuC32(n: number, rounds = 4): Promise<CaseRow[]> {
  const target = await startChildTarget();
  const agent = new http.Agent({ keepAlive: true, maxSockets: C });
  try {
    const cases: Array<[string, (k: number) => Promise<void>]> = [
      ['node:http c32 keep-alive', (k) => nodeHttp(target.url, k, agent)],
      ['runProbes c32 keep-alive', (k) => prober(target.url, k, true)],
      ['node:http c32 fresh', (k) => nodeHttp(target.url, k, false)],
      ['runProbes c32 fresh', (k) => prober(target.url, k, false)],
    ];
    for (const [, run] of cases) await run(500);
    const totals = new Map<string, { cpuUs: number; wallMs: number }>();
    const per = Math.max(C, Math.floor(n / rounds));
    for (let r = 0; r < rounds; r++) {
      for (const [name, run] of cases) {
        const m = await measure(() => run(per));
        const t = totals.get(name) ?? { cpuUs: 0, wallMs: 0 };
        totals.set(name, { cpuUs: t.cpuUs + m.cpuUs, wallMs: t.wallMs + m.wallMs });
      }
    }
    const total = per * rounds;
    return [...totals].map(([name, t]) => ({
      name,
      cpuUsPerReq: t.cpuUs / total,
      reqPerSec: (total / t.wallMs) * 1000,
    }));
  } finally {
    agent.destroy();
    target.close();
  }
}
