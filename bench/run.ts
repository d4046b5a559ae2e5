// `npm run bench [-- part ...]` (or BENCH_ONLY=part,part): each benchmark
// reports ratios against a peer measured in the same run (absolute numbers
// vary with the machine; ratios much less), then one table of the issue's
// targets with PASS/MISS. It reports; it never fails on a MISS.
// Parts: truth (targets 1-3), first (4), startup (5), tui (6), streams (7),
// engine, engine-tls, stats, stream-cpu. See docs/performance.md.
import { loadavg } from 'node:os';
import { benchEngineCpu } from './engine-cpu.js';
import { benchEngineCpuC32 } from './engine-c32.js';
import { benchEngineCpuTls } from './engine-cpu-tls.js';
import { benchEventEncode } from './event-encode.js';
import { startTruthTarget } from './peers.js';
import { renderResults } from './report.js';
import { benchStartupRatios } from './startup.js';
import { benchStats } from './stats-memory.js';
import { benchStreamOverhead } from './stream-overhead.js';
import { benchManyStreams } from './streams.js';
import { benchTruth, benchFirstAttempt } from './truth.js';
import { benchTui } from './tui.js';

const PARTS = ['truth', 'first', 'startup', 'tui', 'streams', 'engine', 'engine-tls', 'stats', 'stream-cpu'] as const;
type Part = (typeof PARTS)[number];

const asked = [...process.argv.slice(2), ...(process.env.BENCH_ONLY ?? '').split(',')].filter(Boolean);
for (const a of asked) {
  if (!(PARTS as readonly string[]).includes(a)) {
    console.error(`unknown bench part ${JSON.stringify(a)}; parts: ${PARTS.join(', ')}`);
    process.exit(2);
  }
}
const run = (p: Part): boolean => asked.length === 0 || asked.includes(p);
const n = Number(process.env.BENCH_N ?? 4000);

function table(rows: ReadonlyArray<object>): void {
  console.table(
    rows.map((r) =>
      Object.fromEntries(
        Object.entries(r as Record<string, unknown>).map(([k, v]) => [
          k,
          typeof v === 'number' ? Number(v.toPrecision(4)) : v,
        ]),
      ),
    ),
  );
}

const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const started = performance.now();
console.log(`# prober bench, node ${process.version}, ${new Date().toISOString()}, load ${load()}`);

if (run('truth') || run('first')) {
  const target = await startTruthTarget();
  try {
    if (run('truth')) {
      console.log('\n# targets 1-3: ground truth, interleaved rounds');
      await benchTruth(target);
    }
    if (run('first')) {
      console.log('\n# target 4: first attempt on a fresh server');
      await benchFirstAttempt(target);
    }
  } finally {
    await target.close();
  }
}

if (run('startup')) {
  console.log('\n# target 5: start-up, wall ÷ node -e 0');
  await benchStartupRatios();
}

if (run('tui')) {
  console.log('\n# target 6: watch (TUI) under load');
  await benchTui();
}

if (run('streams')) {
  console.log('\n# target 7: 1,000 concurrent ProbeStreams at 1 attempt/s');
  await benchManyStreams();
}

if (run('engine')) {
  console.log(`\n# engine CPU per request (n=${n}, target in a child process)`);
  const engine = await benchEngineCpu(n);
  table(engine);
  const by = (name: string) => engine.find((r) => r.name === name)!.cpuUsPerReq;
  console.log(`ratio prober/undici CPU, fresh connection: ${(by('prober fresh') / by('undici fresh')).toFixed(2)}`);
  console.log(`ratio prober/undici CPU, reused connection: ${(by('prober reuse') / by('undici reuse')).toFixed(2)}`);
  console.log(`\n# engine CPU per attempt at c=32, runProbes vs node:http (n=${n * 2} each)`);
  const c32 = await benchEngineCpuC32(n * 2);
  table(c32);
  const at = (name: string) => c32.find((r) => r.name === name)!.cpuUsPerReq;
  for (const mode of ['keep-alive', 'fresh']) {
    console.log(
      `ratio runProbes/node:http CPU, c=32 ${mode}: ${(at(`runProbes c32 ${mode}`) / at(`node:http c32 ${mode}`)).toFixed(2)}`,
    );
  }
}

if (run('engine-tls')) {
  const tlsN = Number(process.env.BENCH_TLS_N ?? n / 4);
  console.log(`\n# engine CPU per request over TLS: HTTPS and HTTP/2 (n=${tlsN}, target in a child process)`);
  const rows = await benchEngineCpuTls(tlsN);
  table(rows);
  const by = (name: string) => rows.find((r) => r.name === name)!.cpuUsPerReq;
  for (const kind of ['https fresh', 'h2 fresh', 'h2 reuse']) {
    console.log(`ratio prober/undici CPU, ${kind}: ${(by(`prober ${kind}`) / by(`undici ${kind}`)).toFixed(2)}`);
  }
}

if (run('stats')) {
  const statsN = Number(process.env.BENCH_STATS_N ?? 1_000_000);
  console.log(`\n# folding ${statsN} attempts into statistics`);
  const stats = benchStats(statsN);
  table(stats);
  const [rs, naive] = stats as [(typeof stats)[0], (typeof stats)[0]];
  console.log(
    `ratio RunStats/array+sort: time ${(rs.nsPerAdd / naive.nsPerAdd).toFixed(2)}, heap ${(rs.heapBytes / naive.heapBytes).toFixed(2)}, p99 ${(rs.p99 / naive.p99).toFixed(4)}`,
  );
}

if (run('stream-cpu')) {
  console.log(`\n# ProbeStream over gRPC vs the engine alone (n=${n / 2})`);
  const stream = await benchStreamOverhead(n / 2);
  table(stream);
  const [alone, grpc] = stream as [(typeof stream)[0], (typeof stream)[0]];
  console.log(
    `ratio gRPC stream/engine alone CPU per attempt: ${(grpc.cpuUsPerAttempt / alone.cpuUsPerAttempt).toFixed(2)}`,
  );
  const encodeN = Number(process.env.BENCH_ENCODE_N ?? 200_000);
  console.log(`\n# serializing one ProbeStream attempt event on the server (n=${encodeN})`);
  const enc = benchEventEncode(encodeN);
  table(enc);
  const [generic, byHand] = enc as [(typeof enc)[0], (typeof enc)[0]];
  console.log(
    `ratio encodeAttemptEvent/google-protobuf CPU per event: ${(byHand.nsPerEvent / generic.nsPerEvent).toFixed(2)}`,
  );
}

console.log(`\n# targets (issue 9): value = median of per-round ratios; load ${load()}`);
console.log(renderResults());
console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
