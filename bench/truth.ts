// Targets 1-4 against the ground-truth target: every tool on the same target
// in the same run, rounds interleaved (the order rotates each round), each
// tool warm; per round, overhead = the tool's latency percentile minus the
// target's median handling time for that tool's requests (matched by the
// tag in the URL), attempts/s = requests / the span the target served them
// in; the reported value is the median of the per-round ratios.
import http from 'node:http';
import { connect, probeOnce, probeStream, type ProberConnection } from '../src/client/index.js';
import type { ProbeInput } from '../src/probe/index.js';
import {
  hasCommand,
  heyRun,
  nodeHttpRun,
  type ProbeEndpoint,
  type ProberServer,
  scrapeProbe,
  startBlackbox,
  startProberServer,
  type TruthTarget,
} from './peers.js';
import { record } from './report.js';
import { median, pairedOverheads, quantile, summarise } from './truth-log.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const N1 = Number(process.env.BENCH_N1 ?? 200); // c=1, /delay/0
const N1_SLOW = Number(process.env.BENCH_N1_SLOW ?? 30); // c=1, /delay/20
const N32 = Number(process.env.BENCH_N32 ?? 2000); // c=32, /delay/0
const DEADLINE_MS = 120_000;

/** What a tool reports for one call: its latencies, or (unary Probe) only percentiles. */
interface ToolOutput {
  readonly latencies?: readonly number[];
  readonly p50?: number;
  readonly p99?: number;
}

interface Case {
  readonly name: string;
  run(url: string, n: number, c: number): Promise<ToolOutput>;
}

interface Measured {
  readonly ovP50: number;
  readonly ovP99: number;
  readonly perSec: number;
}

let tagSeq = 0;

async function measureCase(target: TruthTarget, k: Case, delay: number, nAsked: number, c: number): Promise<Measured> {
  const n = c * Math.ceil(nAsked / c); // hey runs n/c per worker: a multiple of c for every tool alike
  const tag = `${k.name}#${tagSeq++}`;
  const out = await k.run(target.url(delay, tag), n, c);
  const truth = summarise(await target.records(tag));
  if (truth.n !== n) throw new Error(`${k.name}: target saw ${truth.n} of ${n} requests`);
  const p50 = out.p50 ?? median(out.latencies ?? []);
  const p99 = out.p99 ?? quantile(out.latencies ?? [], 0.99);
  return { ovP50: p50 - truth.handleP50Ms, ovP99: p99 - truth.handleP50Ms, perSec: truth.perSec };
}

function proberInput(url: string, n: number, c: number, reuse: boolean): ProbeInput {
  return { endpoint: url, repetitions: n, concurrency: c, reuseConnections: reuse };
}

function unaryCase(conn: ProberConnection, reuse: boolean): Case {
  return {
    name: `prober Probe ${reuse ? 'keep-alive' : 'fresh'}`,
    run: async (url, n, c) => {
      const s = await probeOnce(conn, proberInput(url, n, c, reuse), { deadlineMs: DEADLINE_MS });
      if (s.successes !== n) throw new Error(`Probe: ${s.successes}/${n} succeeded`);
      return { p50: s.p50Ms!, p99: s.p99Ms! };
    },
  };
}

async function streamLatencies(conn: ProberConnection, input: ProbeInput): Promise<number[]> {
  const bySeq: number[] = [];
  for await (const ev of probeStream(conn, input, { deadlineMs: DEADLINE_MS })) {
    if (ev.kind !== 'attempt') continue;
    if (ev.attempt.error) throw new Error(`ProbeStream: ${ev.attempt.error.message}`);
    bySeq[ev.attempt.seq - 1] = ev.attempt.latencyMs;
  }
  return bySeq;
}

function streamCase(conn: ProberConnection, reuse: boolean): Case {
  return {
    name: `prober ProbeStream ${reuse ? 'keep-alive' : 'fresh'}`,
    run: async (url, n, c) => ({ latencies: await streamLatencies(conn, proberInput(url, n, c, reuse)) }),
  };
}

function nodeCase(keepAlive: boolean): Case {
  return {
    name: `node:http ${keepAlive ? 'keep-alive' : 'fresh'}`,
    run: async (url, n, c) => {
      // A new agent per call, as the prober opens new connections per call.
      const agent = keepAlive ? new http.Agent({ keepAlive: true, maxSockets: c }) : false;
      try {
        return { latencies: await nodeHttpRun(url, n, c, agent) };
      } finally {
        if (agent) agent.destroy();
      }
    },
  };
}

function scrapeCase(name: string, scrape: (t: string) => Promise<number>): Case {
  return {
    name,
    run: async (url, n, c) => {
      const lat: number[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < n) {
          next++;
          lat.push(await scrape(url));
        }
      };
      await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
      return { latencies: lat };
    },
  };
}

function heyCase(keepAlive: boolean): Case {
  return {
    name: `hey ${keepAlive ? 'keep-alive' : 'fresh'}`,
    run: async (url, n, c) => ({ latencies: await heyRun(url, n, c, keepAlive) }),
  };
}

interface Peers {
  readonly server: ProberServer;
  readonly conn: ProberConnection;
  readonly blackbox?: ProbeEndpoint;
  readonly hey: boolean;
}

async function startPeers(): Promise<Peers> {
  const server = await startProberServer();
  const conn = connect(server.address);
  let blackbox: ProbeEndpoint | undefined;
  if (await hasCommand('prometheus-blackbox-exporter')) blackbox = await startBlackbox();
  else console.log('skip: prometheus-blackbox-exporter not installed (apt-get install prometheus-blackbox-exporter)');
  const hey = await hasCommand('hey');
  if (!hey) console.log('skip: hey not installed (apt-get install hey)');
  return { server, conn, hey, ...(blackbox ? { blackbox } : {}) };
}

function allCases(p: Peers): Case[] {
  const cases = [
    nodeCase(false),
    nodeCase(true),
    unaryCase(p.conn, false),
    unaryCase(p.conn, true),
    streamCase(p.conn, false),
    streamCase(p.conn, true),
    scrapeCase('prober /probe', (t) => scrapeProbe(p.server.metricsOrigin, t)),
  ];
  if (p.hey) cases.push(heyCase(false), heyCase(true));
  if (p.blackbox) cases.push(scrapeCase('blackbox_exporter', p.blackbox.scrape));
  return cases;
}

type Scenario = 'c1 /delay/0' | 'c1 /delay/20' | 'c32 /delay/0';
const SCENARIOS: ReadonlyArray<[Scenario, number, number, number]> = [
  ['c1 /delay/0', 0, N1, 1],
  ['c1 /delay/20', 20, N1_SLOW, 1],
  ['c32 /delay/0', 0, N32, 32],
];

/** rounds[scenario][case] = one Measured per round. */
type Table = Map<Scenario, Map<string, Measured[]>>;

export async function benchTruth(target: TruthTarget): Promise<void> {
  const peers = await startPeers();
  try {
    const cases = allCases(peers);
    // Warm every tool (JIT, the prober's engine, Go's runtime) before any round.
    for (const k of cases) {
      if (k.name.startsWith('hey')) continue; // a fresh process each call: nothing to warm
      await measureCase(target, k, 0, 300, 1);
      await measureCase(target, k, 0, 300, 32);
    }
    const table: Table = new Map();
    for (let r = 0; r < ROUNDS; r++) {
      // Rotate the order so no tool always runs first (or right after the slowest).
      const order = cases.map((_, i) => cases[(i + r) % cases.length]!);
      for (const [sc, delay, n, c] of SCENARIOS) {
        const byCase = table.get(sc) ?? new Map<string, Measured[]>();
        table.set(sc, byCase);
        for (const k of order) {
          const m = await measureCase(target, k, delay, n, c);
          byCase.set(k.name, [...(byCase.get(k.name) ?? []), m]);
        }
      }
      console.log(`round ${r + 1}/${ROUNDS} done`);
    }
    printAbsolute(table);
    recordRatios(table);
  } finally {
    peers.conn.close();
    await peers.blackbox?.close();
    await peers.server.close();
  }
}

function printAbsolute(table: Table): void {
  const rows: Record<string, string | number>[] = [];
  for (const [sc, byCase] of table) {
    for (const [name, ms] of byCase) {
      rows.push({
        scenario: sc,
        tool: name,
        'overhead p50 ms': Number(median(ms.map((m) => m.ovP50)).toFixed(3)),
        'overhead p99 ms': Number(median(ms.map((m) => m.ovP99)).toFixed(3)),
        'attempts/s': Math.round(median(ms.map((m) => m.perSec))),
      });
    }
  }
  console.log('\n# ground truth: medians over rounds (overhead = latency − target handling)');
  console.table(rows);
}

/** Per-round a/b of one field, for cases present in the table. */
function perRound(table: Table, sc: Scenario, a: string, b: string, f: keyof Measured): number[] {
  const xs = table.get(sc)?.get(a);
  const ys = table.get(sc)?.get(b);
  if (xs === undefined || ys === undefined) return [];
  return xs.map((x, i) => x[f] / ys[i]![f]);
}

function recordRatios(t: Table): void {
  const modes = [
    ['fresh', 'fresh'],
    ['keep-alive', 'keep-alive'],
  ] as const;
  for (const sc of ['c1 /delay/0', 'c1 /delay/20'] as const) {
    for (const [m] of modes) {
      for (const rpc of ['Probe', 'ProbeStream']) {
        record(
          '1',
          `${sc}: ${rpc} ${m} overhead p50 ÷ node:http ${m}`,
          perRound(t, sc, `prober ${rpc} ${m}`, `node:http ${m}`, 'ovP50'),
          { op: '<=', bound: 1.1 },
        );
      }
    }
  }
  if (t.get('c1 /delay/0')?.has('blackbox_exporter')) {
    const bb = 'blackbox_exporter';
    record(
      '1',
      'c1 /delay/0: Probe fresh overhead p50 ÷ blackbox',
      perRound(t, 'c1 /delay/0', 'prober Probe fresh', bb, 'ovP50'),
      { op: '<=', bound: 0.8 },
    );
    record(
      '1',
      'c1 /delay/0: prober /probe overhead p50 ÷ blackbox',
      perRound(t, 'c1 /delay/0', 'prober /probe', bb, 'ovP50'),
      { op: '<=', bound: 0.8 },
    );
    record(
      '1',
      'c1 /delay/0: Probe fresh overhead p99 ÷ blackbox',
      perRound(t, 'c1 /delay/0', 'prober Probe fresh', bb, 'ovP99'),
      { op: '<=', bound: 1 },
    );
  }
  const c32 = 'c32 /delay/0';
  for (const [m] of modes) {
    record(
      '2',
      `c32: Probe ${m} overhead p50 ÷ node:http ${m}`,
      perRound(t, c32, `prober Probe ${m}`, `node:http ${m}`, 'ovP50'),
      { op: '<=', bound: 1 },
    );
    record(
      '2',
      `c32: Probe ${m} attempts/s ÷ node:http ${m}`,
      perRound(t, c32, `prober Probe ${m}`, `node:http ${m}`, 'perSec'),
      { op: '>=', bound: 1 },
    );
  }
  if (t.get(c32)?.has('blackbox_exporter')) {
    record(
      '2',
      'c32: Probe fresh attempts/s ÷ blackbox',
      perRound(t, c32, 'prober Probe fresh', 'blackbox_exporter', 'perSec'),
      { op: '>=', bound: 2 },
    );
  }
  for (const [m] of modes) {
    record(
      '3',
      `c32: ProbeStream ÷ Probe attempts/s, ${m}`,
      perRound(t, c32, `prober ProbeStream ${m}`, `prober Probe ${m}`, 'perSec'),
      { op: '>=', bound: 0.9 },
    );
  }
}

/** #1's overhead ÷ the median of #2..#20's (the k-th request the target saw is attempt k). */
async function firstRatio(target: TruthTarget, tag: string, latencies: readonly number[]): Promise<number> {
  const ov = pairedOverheads(latencies, await target.records(tag));
  return ov[0]! / median(ov.slice(1));
}

/**
 * Target 4: on each of several freshly started servers, one ProbeStream of 20
 * sequential fresh attempts; the ratio is #1 ÷ the median of #2..#20. The
 * peer: a warm node:http client in this process, 20 requests right after
 * another fresh server's start (the same gap, the same machine settling).
 * It reads ~1.5-3 too (docs/performance.md): a first request after an idle
 * gap is slow on this machine whoever sends it, so the peer row says how
 * much of the prober's ratio is the machine's.
 */
export async function benchFirstAttempt(target: TruthTarget): Promise<void> {
  const servers = Number(process.env.BENCH_FRESH_SERVERS ?? 5);
  const ratios: number[] = [];
  const peer: number[] = [];
  const nodeHttp = (url: string) => nodeHttpRun(url, 20, 1, false);
  await nodeHttpRun(target.url(0, `first-warm#${tagSeq++}`), 300, 1, false); // warm, as every peer is
  for (let i = 0; i < servers; i++) {
    // The order alternates: neither always runs right after the other's close.
    for (const who of i % 2 === 0 ? ['prober', 'node:http'] : ['node:http', 'prober']) {
      const server = await startProberServer();
      const tag = `first#${tagSeq++}`;
      if (who === 'node:http') {
        peer.push(await firstRatio(target, tag, await nodeHttp(target.url(0, tag))));
        await server.close();
        continue;
      }
      const conn = connect(server.address);
      try {
        ratios.push(
          await firstRatio(target, tag, await streamLatencies(conn, proberInput(target.url(0, tag), 20, 1, false))),
        );
      } finally {
        conn.close();
        await server.close();
      }
    }
  }
  record('4', 'attempt #1 overhead ÷ median #2..#20, fresh server', ratios, { op: '<=', bound: 1.5 });
  record('', 'node:http (warm) request #1 ÷ median #2..#20, after a fresh server start', peer);
}
