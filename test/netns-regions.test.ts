// Three "regions" across real network boundaries: a network namespace each
// (created here, removed even on failure), joined to the host by a veth pair
// with a private /30 whose both ends this test owns. Each namespace runs a
// `prober serve`; the target is an HTTP server on the host's loopback, reached
// from each region through a delaying TCP proxy written here (+0/+20/+50 ms;
// tc/netem is not available) listening on the host end of that region's veth.
// The client, on the host, talks to the three servers over the veths. No
// route to anything else exists in the namespaces: all traffic stays on the
// veths and loopback. Skipped where `ip netns add` fails (no root, no
// CAP_SYS_ADMIN, no iproute2).
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { promisify } from 'node:util';
import { connect, ProberRpcError, type ProberConnection, probeStream } from '../src/client/index.js';
import type { AttemptResult } from '../src/probe/types.js';
import { RunStats } from '../src/stats/index.js';
import { ensureDist, type ServeProcess, startServe } from './helpers/fleet.js';
import { startTarget } from './helpers/target.js';

const exec = promisify(execFile);
const ip = (...args: string[]): Promise<unknown> => exec('ip', args, { timeout: 10_000 });

interface Region {
  readonly name: string;
  readonly delayMs: number;
  readonly ns: string;
  readonly vethHost: string;
  readonly hostAddr: string;
  readonly nsAddr: string;
}

const REGIONS = [
  { name: 'eu', delayMs: 0 },
  { name: 'us', delayMs: 20 },
  { name: 'ap', delayMs: 50 },
] as const;

/** A 10.200.X.0/24 the host has no address in; each region gets a /30 of it. */
async function freeSubnet(): Promise<number> {
  const { stdout } = (await exec('ip', ['-4', '-o', 'addr'])) as { stdout: string };
  for (let k = 0; k < 250; k++) {
    const x = (process.pid + k) % 250;
    if (!stdout.includes(`10.200.${x}.`)) return x;
  }
  throw new Error('no free 10.200.X.0/24');
}

async function createRegion(r: Region, cidrBits: string): Promise<void> {
  const vethNs = `${r.vethHost}n`;
  await ip('netns', 'add', r.ns);
  await ip('link', 'add', r.vethHost, 'type', 'veth', 'peer', 'name', vethNs);
  await ip('link', 'set', vethNs, 'netns', r.ns);
  await ip('addr', 'add', `${r.hostAddr}/${cidrBits}`, 'dev', r.vethHost);
  await ip('link', 'set', r.vethHost, 'up');
  await ip('-n', r.ns, 'addr', 'add', `${r.nsAddr}/${cidrBits}`, 'dev', vethNs);
  await ip('-n', r.ns, 'link', 'set', vethNs, 'up');
  await ip('-n', r.ns, 'link', 'set', 'lo', 'up');
}

/** Removes a region's namespace (which takes its veth end, and so the pair) and the host end; ignores errors. */
async function removeRegion(r: Region): Promise<void> {
  await ip('netns', 'del', r.ns).catch(() => {});
  await ip('link', 'del', r.vethHost).catch(() => {});
}

/** A TCP proxy on `host` forwarding to 127.0.0.1:`to`, holding every chunk of the reply `delayMs`. */
async function delayingProxy(host: string, to: number, delayMs: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(to, '127.0.0.1');
    sockets.add(down).add(up);
    down.pipe(up);
    // Equal delays fire in creation order, so the byte order is kept.
    up.on('data', (chunk: Buffer) => setTimeout(() => down.writable && down.write(chunk), delayMs));
    up.on('end', () => setTimeout(() => down.end(), delayMs));
    const drop = (): void => {
      up.destroy();
      down.destroy();
    };
    up.on('error', drop).on('close', () => sockets.delete(up));
    down.on('error', drop).on('close', () => sockets.delete(down));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Nearest-rank percentile of sorted values, as RunStats computes it. */
function rank(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

async function collect(
  conn: ProberConnection,
  endpoint: string,
  repetitions: number,
): Promise<{ attempts: AttemptResult[]; error?: unknown }> {
  const attempts: AttemptResult[] = [];
  try {
    for await (const ev of probeStream(conn, { endpoint, repetitions, intervalMs: 25 }, { deadlineMs: 30_000 })) {
      if (ev.kind === 'attempt') attempts.push(ev.attempt);
    }
    return { attempts };
  } catch (error) {
    return { attempts, error };
  }
}

test('three regions in network namespaces: per-region delays, the merge, one region killed', {
  timeout: 60_000,
}, async (t) => {
  const probeNs = `prb-${process.pid}-chk`;
  try {
    await ip('netns', 'add', probeNs);
    await ip('netns', 'del', probeNs);
  } catch (err) {
    t.skip(`network namespaces cannot be created here (needs root and iproute2): ${String(err).split('\n')[0]}`);
    return;
  }
  await ensureDist();
  const x = await freeSubnet();
  const regions: Region[] = REGIONS.map((r, i) => ({
    ...r,
    ns: `prb-${process.pid}-${r.name}`,
    vethHost: `pv${process.pid % 100_000}h${i}`,
    hostAddr: `10.200.${x}.${4 * i + 1}`,
    nsAddr: `10.200.${x}.${4 * i + 2}`,
  }));
  const closers: Array<() => unknown> = [];
  t.after(async () => {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
    await Promise.all(regions.map(removeRegion));
  });

  const target = await startTarget();
  closers.push(() => target.close());
  for (const r of regions) {
    closers.push(() => removeRegion(r));
    await createRegion(r, '30');
  }
  const proxies = await Promise.all(regions.map((r) => delayingProxy(r.hostAddr, target.port, r.delayMs)));
  for (const p of proxies) closers.push(() => p.close());
  const servers: ServeProcess[] = await Promise.all(
    regions.map((r) =>
      startServe(['--listen', `${r.nsAddr}:50051`, '--metrics-addr', `${r.nsAddr}:9464`], r.ns).then((s) => {
        closers.push(() => s.kill());
        return s;
      }),
    ),
  );
  const conns = servers.map((s) => connect(s.address));
  for (const c of conns) closers.push(() => c.close());
  const endpoint = (i: number): string => `http://${regions[i]?.hostAddr}:${proxies[i]?.port}/ok`;

  // 1. Per-region latency reflects the injected delay.
  const runs = await Promise.all(conns.map((c, i) => collect(c, endpoint(i), 40)));
  const p50 = runs.map((r, i) => {
    assert.equal(r.error, undefined, `${regions[i]?.name}: ${String(r.error)}`);
    assert.equal(r.attempts.length, 40);
    assert.ok(
      r.attempts.every((a) => a.error === undefined && a.status === 200),
      `${regions[i]?.name}: all 200`,
    );
    return rank(
      r.attempts.map((a) => a.latencyMs).sort((a, b) => a - b),
      50,
    );
  });
  const [eu, us, ap] = p50 as [number, number, number];
  t.diagnostic(`p50 eu ${eu.toFixed(2)} ms, us ${us.toFixed(2)} ms, ap ${ap.toFixed(2)} ms`);
  assert.ok(us >= eu + 15, `us (+20 ms) p50 ${us} vs eu ${eu}`);
  assert.ok(ap >= eu + 45, `ap (+50 ms) p50 ${ap} vs eu ${eu}`);
  assert.ok(ap >= us + 25, `ap p50 ${ap} vs us ${us}`);
  assert.ok(us < eu + 20 + 30 && ap < eu + 50 + 30, `delays roughly as injected: ${p50.join(', ')}`);

  // 2. The merged distribution: every region's attempts folded into one
  // RunStats equals the percentiles of the union (and RunStats.merge, where it
  // exists, agrees).
  const union = runs.flatMap((r) => r.attempts);
  const sorted = union.map((a) => a.latencyMs).sort((a, b) => a - b);
  const merged = new RunStats();
  for (const a of union) merged.add(a);
  const m = merged.summary();
  assert.equal(m.attempts, 120);
  assert.equal(m.p50Ms, rank(sorted, 50));
  assert.equal(m.p90Ms, rank(sorted, 90));
  assert.equal(m.p99Ms, rank(sorted, 99));
  assert.ok((m.p90Ms ?? 0) >= ap - 5, 'the slowest region dominates the merged p90');
  const perRegion = runs.map((r) => {
    const s = new RunStats();
    for (const a of r.attempts) s.add(a);
    return s;
  });
  const withMerge = perRegion[0] as unknown as { merge?: (o: RunStats) => unknown };
  if (typeof withMerge.merge === 'function') {
    for (const s of perRegion.slice(1)) withMerge.merge(s);
    const viaMerge = (perRegion[0] as RunStats).summary();
    for (const k of ['p50Ms', 'p90Ms', 'p99Ms'] as const) {
      const want = m[k] ?? 0;
      assert.ok(Math.abs((viaMerge[k] ?? 0) - want) <= want * 0.01, `merge ${k}: ${viaMerge[k]} vs ${want}`);
    }
  }

  // 3. Killing one region's server mid-run: the others complete, it reports UNAVAILABLE.
  const running = conns.map((c, i) => collect(c, endpoint(i), 60));
  await new Promise((r) => setTimeout(r, 700));
  await servers[1]?.kill();
  const after = await Promise.all(running);
  for (const i of [0, 2]) {
    assert.equal(after[i]?.error, undefined, `${regions[i]?.name} unaffected: ${String(after[i]?.error)}`);
    assert.equal(after[i]?.attempts.length, 60);
  }
  const dead = after[1]?.error;
  assert.ok(dead instanceof ProberRpcError && dead.code === 14, `us: UNAVAILABLE, got ${String(dead)}`);
  assert.ok((after[1]?.attempts.length ?? 0) > 0 && (after[1]?.attempts.length ?? 0) < 60);
});
