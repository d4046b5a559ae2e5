// `npm run test:load` (not part of `npm test`): 1,000 concurrent ProbeStreams
// at 1 attempt/s for 30 s against a `prober serve` child on loopback, from
// one client connection here, to a local target. Every stream must keep
// receiving, the server's RSS stay bounded, and once the streams close its
// open descriptors and the target's open connections return to baseline.
// Figures go to stdout (and docs/reliability.md by hand).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';
import { connect, probeStream, type ProbeStreamCall } from '../../src/client/index.js';
import { startProberServer, vmHwmBytes } from '../../bench/peers.js';
import { startTarget } from '../helpers/target.js';

const STREAMS = Number(process.env.LOAD_STREAMS ?? 1000);
const SECONDS = Number(process.env.LOAD_SECONDS ?? 30);
const MIN_ATTEMPTS = Math.floor(SECONDS * 0.85);
/** docs/performance.md measured ~380-390 MiB peaks for this load; bounded = under this and flat after the ramp. */
const RSS_BOUND_MIB = 512;
const RSS_GROWTH_MIB = 64;
/** Descriptors the server may keep above its baseline after the streams close (timers, a lazily opened pipe). */
const FD_SLACK = 4;
const MiB = 1024 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function fds(pid: number): { all: number; sockets: number } {
  const names = readdirSync(`/proc/${pid}/fd`);
  let sockets = 0;
  for (const n of names) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${n}`).startsWith('socket:')) sockets++;
    } catch {
      // closed between readdir and readlink
    }
  }
  return { all: names.length, sockets };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** The server-wide caps (docs/security.md#admission-and-limits) raised for this many streams on one connection. */
const CAP_ARGS = [
  '--max-calls',
  String(STREAMS * 2),
  '--max-streams-per-connection',
  String(STREAMS * 2),
  '--max-attempts-in-flight',
  String(STREAMS * 2),
];

async function waitFor(check: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await sleep(250);
  }
  return check();
}

test(`${STREAMS} ProbeStreams at 1 attempt/s for ${SECONDS} s`, { timeout: 110_000 }, async (t) => {
  const target = await startTarget();
  const server = await startProberServer([], {}, ['--no-metrics', ...CAP_ARGS]);
  const pid = server.child.pid!;
  const conn = connect(server.address);
  try {
    // Warm the paths once, then take the baselines.
    for await (const _ of probeStream(conn, { endpoint: `${target.url}/ok`, repetitions: 20 })) void _;
    await sleep(500);
    const fd0 = fds(pid);
    const targetOpen = (): number => target.connections().opened - target.connections().closed;
    const targetOpen0 = targetOpen();

    const counts = new Array<number>(STREAMS).fill(0);
    const errors: string[] = [];
    const calls: ProbeStreamCall[] = [];
    const done: Promise<void>[] = [];
    const t0 = Date.now();
    for (let i = 0; i < STREAMS; i++) {
      const call = probeStream(conn, { endpoint: `${target.url}/ok`, repetitions: 0, intervalMs: 1000 });
      calls.push(call);
      done.push(
        (async () => {
          try {
            for await (const ev of call) if (ev.kind === 'attempt') counts[i]!++;
          } catch (err) {
            if (Date.now() - t0 < SECONDS * 1000) errors.push(String(err));
          }
        })(),
      );
      if (i % 10 === 9) await sleep(10); // starts spread over ~1 s, as a fleet of dashboards would
    }
    const rss: number[] = [];
    let fdPeak = fd0;
    let targetOpenPeak = 0;
    while (Date.now() - t0 < SECONDS * 1000) {
      await sleep(1000);
      rss.push(rssBytes(pid));
      const f = fds(pid);
      if (f.all > fdPeak.all) fdPeak = f;
      targetOpenPeak = Math.max(targetOpenPeak, targetOpen());
    }
    const hwm = vmHwmBytes(pid);
    for (const c of calls) c.cancel();
    await Promise.all(done);
    const fdsBack = await waitFor(() => fds(pid).all <= fd0.all + FD_SLACK, 15_000);
    const fd1 = fds(pid);
    const targetBack = await waitFor(() => targetOpen() <= targetOpen0, 15_000);
    // RSS once the ramp has settled vs the last 10 s: a leak per attempt would show as growth.
    const early = rss.slice(Math.min(5, rss.length - 1), Math.max(6, Math.floor(rss.length / 3)));
    const late = rss.slice(-10);
    const sorted = [...counts].sort((a, b) => a - b);
    const figures = {
      streams: STREAMS,
      seconds: SECONDS,
      capArgs: CAP_ARGS.join(' '),
      attemptsMin: sorted[0],
      attemptsMedian: sorted[Math.floor(STREAMS / 2)],
      attemptsTotal: counts.reduce((a, b) => a + b, 0),
      streamErrors: errors.length,
      rssPeakMiB: Math.round(Math.max(hwm, ...rss) / MiB),
      rssAt10sMiB: Math.round(Math.max(...early) / MiB),
      rssLast10sMiB: Math.round(Math.max(...late) / MiB),
      fdBaseline: fd0,
      fdPeak,
      fdAfter: fd1,
      targetOpenBaseline: targetOpen0,
      targetOpenPeak,
      targetOpenAfter: targetOpen(),
      machine: `${cpus().length} x ${cpus()[0]?.model ?? '?'}, node ${process.version}`,
    };
    t.diagnostic(JSON.stringify(figures));
    console.log(JSON.stringify(figures, null, 2));
    assert.deepEqual(errors.slice(0, 3), [], 'streams failed before they were closed');
    assert.ok(sorted[0]! >= MIN_ATTEMPTS, `a stream got only ${sorted[0]} attempts (want >= ${MIN_ATTEMPTS})`);
    assert.ok(figures.rssPeakMiB < RSS_BOUND_MIB, `server RSS peaked at ${figures.rssPeakMiB} MiB`);
    assert.ok(
      figures.rssLast10sMiB - figures.rssAt10sMiB < RSS_GROWTH_MIB,
      `server RSS grew from ${figures.rssAt10sMiB} to ${figures.rssLast10sMiB} MiB`,
    );
    assert.ok(fdsBack, `server fds ${fd1.all} after close, baseline ${fd0.all}`);
    assert.ok(targetBack, `target still has ${targetOpen()} open connections, baseline ${targetOpen0}`);
  } finally {
    conn.close();
    await server.close();
    await target.close();
  }
});
