// `npm run bench`: each benchmark reports ratios against a peer measured in
// the same run (absolute numbers vary with the machine; ratios much less).
import { benchEngineCpu } from './engine-cpu.js';
import { benchStats } from './stats-memory.js';
import { benchStreamOverhead } from './stream-overhead.js';

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

console.log(`# engine CPU per request (n=${n}, target in a child process)`);
const engine = await benchEngineCpu(n);
table(engine);
const by = (name: string) => engine.find((r) => r.name === name)!.cpuUsPerReq;
console.log(`ratio prober/undici CPU, fresh connection: ${(by('prober fresh') / by('undici fresh')).toFixed(2)}`);
console.log(`ratio prober/undici CPU, reused connection: ${(by('prober reuse') / by('undici reuse')).toFixed(2)}`);

const statsN = Number(process.env.BENCH_STATS_N ?? 1_000_000);
console.log(`\n# folding ${statsN} attempts into statistics`);
const stats = benchStats(statsN);
table(stats);
const [rs, naive] = stats as [(typeof stats)[0], (typeof stats)[0]];
console.log(
  `ratio RunStats/array+sort: time ${(rs.nsPerAdd / naive.nsPerAdd).toFixed(2)}, heap ${(rs.heapBytes / naive.heapBytes).toFixed(2)}, p99 ${(rs.p99 / naive.p99).toFixed(4)}`,
);

console.log(`\n# ProbeStream over gRPC vs the engine alone (n=${n / 2})`);
const stream = await benchStreamOverhead(n / 2);
table(stream);
const [alone, grpc] = stream as [(typeof stream)[0], (typeof stream)[0]];
console.log(
  `ratio gRPC stream/engine alone CPU per attempt: ${(grpc.cpuUsPerAttempt / alone.cpuUsPerAttempt).toFixed(2)}`,
);
