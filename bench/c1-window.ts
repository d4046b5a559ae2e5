// c=1 at a local target, layer by layer, against a bare http.get timed the
// same way (t0 before the request, end in its 'end' listener), in blocks
// whose order rotates each round: runAttempt alone, the scheduler
// (runProbes), and a served engine thread (unary Probe, ProbeStream).
// BENCH_BASE=<dir of another built checkout> adds that tree's runProbes and
// server as peers (before → after in one run). Medians of latency, µs, and
// the ratio to node:http. Usage: node --import tsx bench/c1-window.ts [rounds] [per block]
import http from 'node:http';
import path from 'node:path';
import { connect, probeOnce, probeStream, type ProberConnection } from '../src/client/index.js';
import * as probe from '../src/probe/index.js';
import { nodeHttpOnce, startProberServer } from './peers.js';
import { startChildTarget } from './target.js';

type Probe = typeof probe;
type Block = (n: number) => Promise<number[]>;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function nodeBlock(url: string, keepAlive: boolean): Block {
  return async (n) => {
    const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      await turn(); // a turn between requests, as the scheduler's setImmediate
      out.push(await nodeHttpOnce(url, agent));
    }
    if (agent) agent.destroy();
    return out;
  };
}

function attemptBlock(p: Probe, url: string, keepAlive: boolean): Block {
  const spec = p.validateProbeInput({ endpoint: url, repetitions: 1 }, p.DEFAULT_LIMITS);
  return async (n) => {
    const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      await turn();
      const r = await p.runAttempt(spec, { seq: i + 1, timeoutMs: 5000, ...(agent ? { agent } : {}) });
      if (r.error) throw new Error(r.error.message);
      out.push(r.latencyMs);
    }
    agent?.destroy();
    return out;
  };
}

function runProbesBlock(p: Probe, url: string, keepAlive: boolean): Block {
  return async (n) => {
    const s = p.validateProbeInput({ endpoint: url, repetitions: n, reuseConnections: keepAlive }, p.DEFAULT_LIMITS);
    const out: number[] = [];
    for await (const r of p.runProbes(s)) out.push(r.latencyMs);
    return out;
  };
}

function streamBlock(conn: ProberConnection, url: string, keepAlive: boolean): Block {
  return async (n) => {
    const out: number[] = [];
    for await (const ev of probeStream(conn, { endpoint: url, repetitions: n, reuseConnections: keepAlive })) {
      if (ev.kind === 'attempt') out.push(ev.attempt.latencyMs);
    }
    return out;
  };
}

function unaryBlock(conn: ProberConnection, url: string, keepAlive: boolean): Block {
  return async (n) => {
    // Only the call's median: a block's p50 stands for each of its attempts.
    const s = await probeOnce(conn, { endpoint: url, repetitions: n, reuseConnections: keepAlive });
    return Array.from({ length: n }, () => s.p50Ms ?? Number.NaN);
  };
}

interface Tree {
  readonly tag: string;
  readonly probe: Probe;
  readonly conn: ProberConnection;
}

function cases(url: string, keepAlive: boolean, trees: readonly Tree[]): Array<[string, Block]> {
  const out: Array<[string, Block]> = [['node:http', nodeBlock(url, keepAlive)]];
  for (const t of trees) {
    out.push([`runAttempt${t.tag}`, attemptBlock(t.probe, url, keepAlive)]);
    out.push([`runProbes${t.tag}`, runProbesBlock(t.probe, url, keepAlive)]);
    out.push([`Probe${t.tag}`, unaryBlock(t.conn, url, keepAlive)]);
    out.push([`ProbeStream${t.tag}`, streamBlock(t.conn, url, keepAlive)]);
  }
  return out;
}

export async function benchC1Window(rounds: number, perBlock: number): Promise<void> {
  const target = await startChildTarget();
  const base = process.env.BENCH_BASE;
  const servers = [await startProberServer()];
  const trees: Tree[] = [{ tag: '', probe, conn: connect(servers[0]!.address) }];
  if (base) {
    const s = await startProberServer([], {}, [], path.join(base, 'bin/prober.js'));
    servers.push(s);
    const baseProbe = (await import(path.join(base, 'src/probe/index.ts'))) as Probe;
    trees.push({ tag: ' (base)', probe: baseProbe, conn: connect(s.address) });
  }
  try {
    for (const keepAlive of [false, true]) {
      const all = cases(target.url, keepAlive, trees);
      for (const [, run] of all) await run(300); // warm every path
      const got = new Map<string, number[]>();
      for (let r = 0; r < rounds; r++) {
        for (let i = 0; i < all.length; i++) {
          const [name, run] = all[(i + r) % all.length]!;
          got.set(name, [...(got.get(name) ?? []), ...(await run(perBlock))]);
        }
      }
      const ref = median(got.get('node:http') ?? []);
      console.log(keepAlive ? 'keep-alive' : 'fresh');
      for (const [k, v] of got) {
        console.log(
          `  ${k.padEnd(24)} ${(median(v) * 1000).toFixed(0).padStart(5)} µs  ${(median(v) / ref).toFixed(2)}`,
        );
      }
    }
  } finally {
    for (const t of trees) t.conn.close();
    for (const s of servers) await s.close();
    target.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchC1Window(Number(process.argv[2] ?? 8), Number(process.argv[3] ?? 200));
}
