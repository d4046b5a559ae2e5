// Bounded soak of a real server: cancellations, deadlines, vanished clients
// and plain unary calls, then checks that nothing is left behind — no open
// connections at the target, no extra sockets or timers in this process, the
// streams-open gauge back at 0 and no heap growth beyond a generous bound.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { once } from 'node:events';
import { sleep, waitFor } from './helpers/wait.js';
import { Registry } from 'prom-client';
import { startServer, type RunningServer } from '../src/server/server.js';
import {
  connect,
  isProberRpcError,
  probeOnce,
  probeStream,
  type ProberConnection,
  type StreamEvent,
} from '../src/client/index.js';
import type { ProbeInput } from '../src/probe/types.js';
import { startTarget, type Target } from './helpers/target.js';

// Long enough that a probe nobody aborted is still open at the checks.
const STUCK_TIMEOUT_MS = 20_000;
/** How long the checks wait for things to wind down after the mix. */
const SETTLE_MS = 3_000;
/** Handles that may legitimately come and go (a grpc-js timer, a socket closing). */
const HANDLE_SLACK = 2;
/** Heap after GC may grow this much (code warming, grpc-js/V8 caches). */
const HEAP_SLACK_BYTES = 8 * 1024 * 1024;

/** gc() without needing --expose-gc on the runner (as Jest's leak detector does). */
function findGc(): (() => void) | undefined {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  try {
    v8.setFlagsFromString('--expose-gc');
    const fn = vm.runInNewContext('gc') as unknown;
    v8.setFlagsFromString('--no-expose-gc'); // new contexts only; `fn` keeps working
    return typeof fn === 'function' ? (fn as () => void) : undefined;
  } catch {
    return undefined;
  }
}

function resources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

const fmt = (m: Map<string, number>): string => JSON.stringify(Object.fromEntries(m));

/** Run `fn(0..n-1)` with at most `limit` at a time. */
async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(n, limit) }, worker));
}

/** A TCP relay in front of the gRPC server: cut() is the client's machine vanishing. */
async function startRelay(port: number): Promise<{ address: string; cut(): void; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    down.pipe(up).pipe(down);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    address: `127.0.0.1:${(relay.address() as net.AddressInfo).port}`,
    cut,
    close: async () => {
      cut();
      relay.close();
      await once(relay, 'close').catch(() => undefined);
    },
  };
}

/**
 * Pull a stream to its end: 'summary' (with ':deadline' when the summary says
 * the deadline cut the run) or the RPC error's code name.
 */
async function consume(it: AsyncIterator<StreamEvent>): Promise<string> {
  let outcome = 'no summary';
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      if (r.value.kind === 'summary') outcome = r.value.summary.deadlineReached ? 'summary:deadline' : 'summary';
    }
  } catch (err) {
    if (!isProberRpcError(err)) throw err;
    return err.codeName;
  }
  return outcome;
}

let target: Target;
let server: RunningServer;
let registry: Registry;
let conn: ProberConnection;
const serverErrors: unknown[] = [];
const gc = findGc();

interface Snapshot {
  resources: Map<string, number>;
  heap: number;
}
let baseline: Snapshot;
let finalSnap: Snapshot;
const tally = { cancelled: 0, deadline: 0, vanished: 0, unary: 0 };
/** How the deadline-cut calls ended. */
const outcomes = new Map<string, number>();

async function snapshot(): Promise<Snapshot> {
  if (gc) {
    for (let i = 0; i < 3; i++) {
      gc();
      await sleep(10);
    }
  }
  return { resources: resources(), heap: process.memoryUsage().heapUsed };
}

async function streamsOpen(): Promise<number> {
  const metric = registry.getSingleMetric('prober_streams_open');
  assert.ok(metric, 'prober_streams_open is registered');
  const { values } = await metric.get();
  return values[0]?.value ?? 0;
}

const url = (path: string): string => `${target.url}${path}`;
const hits = (key: string): number => target.hits.get(key) ?? 0;

// --- the mix ---------------------------------------------------------------

/** (a) Streams cancelled while their attempts hang or trickle a body. */
async function cancelledStreams(count: number): Promise<void> {
  const batch = 25;
  for (let b = 0; b < count; b += batch) {
    const n = Math.min(batch, count - b);
    const hangBefore = hits('/hang');
    const slowBefore = hits('/slow-body');
    const calls = Array.from({ length: n }, (_, i) => {
      const hang = i % 2 === 0;
      const input: ProbeInput = hang
        ? { endpoint: url('/hang'), repetitions: 3, concurrency: 2, timeoutMs: STUCK_TIMEOUT_MS }
        : {
            endpoint: url('/slow-body?chunks=400&every=50'),
            repetitions: 3,
            concurrency: 2,
            timeoutMs: STUCK_TIMEOUT_MS,
            reuseConnections: i % 4 === 1,
          };
      const ac = new AbortController();
      const call = probeStream(conn, input, { signal: ac.signal });
      const it = call[Symbol.asyncIterator]();
      return { ac, call, it, done: consume(it) };
    });
    // Every call has both its first attempts at the target: they are in flight.
    const hangWant = hangBefore + 2 * Math.ceil(n / 2);
    const slowWant = slowBefore + 2 * Math.floor(n / 2);
    const inFlight = await waitFor(() => hits('/hang') >= hangWant && hits('/slow-body') >= slowWant, 10_000);
    assert.ok(
      inFlight,
      `attempts did not reach the target: /hang ${hits('/hang')}/${hangWant}, /slow-body ${hits('/slow-body')}/${slowWant}`,
    );
    // Three ways to leave: abort the signal, cancel(), or leave the loop early.
    calls.forEach((c, i) => {
      if (i % 3 === 0) c.ac.abort();
      else if (i % 3 === 1) c.call.cancel();
      else void c.it.return?.();
    });
    await Promise.all(calls.map((c) => c.done));
    tally.cancelled += n;
  }
}

/**
 * (b) Calls whose deadline passes while their attempts are in flight. Some
 * stream clients read nothing until after the deadline, so the server is
 * waiting for 'drain' when it arrives.
 */
async function deadlineCalls(count: number): Promise<void> {
  const stalled = connect(server.address, {
    'grpc.use_local_subchannel_pool': 1,
    'grpc-node.flow_control_window': 4096,
  });
  const allowed = new Set(['summary:deadline', 'DEADLINE_EXCEEDED']);
  try {
    await pool(count, 25, async (i) => {
      const deadlineMs = 300 + (i % 5) * 50;
      let outcome: string;
      if (i % 2 === 0) {
        const input: ProbeInput = {
          endpoint: url(i % 4 === 0 ? '/hang' : '/delay/5000'),
          repetitions: 4,
          concurrency: 2,
          timeoutMs: STUCK_TIMEOUT_MS,
        };
        try {
          const s = await probeOnce(conn, input, { deadlineMs });
          outcome = s.deadlineReached ? 'summary:deadline' : 'summary';
        } catch (err) {
          if (!isProberRpcError(err)) throw err;
          outcome = err.codeName; // on a loaded machine the summary may not make it back in time
        }
      } else if (i % 6 === 1) {
        // Continuous and fast: the 4 KiB window fills and the server blocks on it.
        const input: ProbeInput = {
          endpoint: url('/ok'),
          repetitions: 0,
          intervalMs: 0,
          concurrency: 2,
          reuseConnections: true,
        };
        const it = probeStream(stalled, input, { deadlineMs })[Symbol.asyncIterator]();
        await sleep(deadlineMs + 200);
        outcome = await consume(it);
      } else {
        const input: ProbeInput = {
          endpoint: url('/slow-body?chunks=400&every=50'),
          repetitions: 0,
          intervalMs: 0,
          concurrency: 2,
          timeoutMs: STUCK_TIMEOUT_MS,
          reuseConnections: i % 4 === 1,
        };
        outcome = await consume(probeStream(conn, input, { deadlineMs })[Symbol.asyncIterator]());
      }
      const key = `${i % 2 === 0 ? 'unary' : 'stream'} ${outcome}`;
      outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      assert.ok(allowed.has(outcome), `a call cut by its deadline ended with ${outcome}`);
      tally.deadline++;
    });
  } finally {
    stalled.close();
  }
}

/**
 * (c) Continuous streams whose client disappears without cancelling: half the
 * channels go through a relay that is cut (the client's machine is gone), the
 * other half are just closed. Half the clients stopped reading first, so their
 * calls sit waiting for 'drain' when the client goes.
 */
async function vanishingClients(count: number): Promise<void> {
  const relay = await startRelay(server.port);
  // Own TCP connection per channel (no shared subchannel), small window so a
  // client that stops reading blocks the server quickly.
  const options = { 'grpc.use_local_subchannel_pool': 1, 'grpc-node.flow_control_window': 4096 };
  const channels = Array.from({ length: 6 }, (_, i) => connect(i % 2 === 0 ? relay.address : server.address, options));
  try {
    const streams = Array.from({ length: count }, (_, i) => {
      const ch = channels[i % channels.length]!;
      const path = i % 3 === 0 ? '/slow-body?chunks=3&every=30' : i % 3 === 1 ? '/ok' : '/hang';
      const input: ProbeInput = {
        endpoint: url(path),
        repetitions: 0,
        intervalMs: 10,
        concurrency: 2,
        timeoutMs: STUCK_TIMEOUT_MS,
        reuseConnections: i % 4 < 2,
      };
      const it = probeStream(ch, input)[Symbol.asyncIterator]();
      // Readers pull until the end; the others never pull at all.
      return i % 4 < 2 ? consume(it) : Promise.resolve('unread');
    });
    const open = await waitFor(async () => (await streamsOpen()) >= count, 10_000);
    assert.ok(open, `only ${await streamsOpen()} of ${count} continuous streams opened`);
    // Let them run: readers see events, the others fill their window.
    await sleep(500);
    relay.cut();
    for (const ch of channels) ch.close();
    let ended = 0;
    for (const s of streams) void s.then(() => ended++);
    const allEnded = await waitFor(() => ended === count, 5_000);
    assert.ok(allEnded, `${count - ended} of ${count} streams still delivering after their channel was closed`);
    tally.vanished += count;
  } finally {
    await relay.close();
  }
}

/** (d) Plain unary calls, fresh connections and keep-alive. */
async function unaryCalls(count: number): Promise<void> {
  await pool(count, 20, async (i) => {
    const reuse = i % 2 === 0;
    const input: ProbeInput = {
      endpoint: url(i % 5 === 0 ? '/status/503' : '/ok'),
      repetitions: 3,
      concurrency: 2,
      reuseConnections: reuse,
    };
    const s = await probeOnce(conn, input, { deadlineMs: 20_000 });
    assert.equal(s.attempts, 3, 'every attempt of a normal call is reported');
    tally.unary++;
  });
}

async function mix(scale: number): Promise<void> {
  const n = (x: number): number => Math.max(2, Math.round(x * scale));
  await cancelledStreams(n(100));
  await deadlineCalls(n(50));
  await vanishingClients(n(50));
  await unaryCalls(n(300));
}

const HANDLE_KINDS = ['TCPSocketWrap', 'Timeout'] as const;

/**
 * Everything the mix leaves behind has had time to go away: target
 * connections closed, no stream open, and (once there is a baseline) no more
 * sockets or timers than then.
 */
async function settled(base?: Map<string, number>): Promise<boolean> {
  return waitFor(async () => {
    const c = target.connections();
    if (c.opened !== c.closed || (await streamsOpen()) !== 0) return false;
    const now = resources();
    return !base || HANDLE_KINDS.every((k) => (now.get(k) ?? 0) <= (base.get(k) ?? 0));
  }, SETTLE_MS);
}

before(
  async () => {
    target = await startTarget();
    registry = new Registry();
    server = await startServer({
      listen: '127.0.0.1:0',
      logger: { error: (obj) => serverErrors.push(obj) },
      observability: { metrics: { registry, defaultMetrics: false }, health: false, reflection: false },
    });
    conn = connect(server.address);
    // Warm up (code paths, grpc-js channel, caches), then take the baseline.
    await mix(0.05);
    await settled();
    for (const k of Object.keys(tally) as Array<keyof typeof tally>) tally[k] = 0;
    outcomes.clear();
    baseline = await snapshot();
  },
  { timeout: 20_000 },
);

after(async () => {
  conn?.close();
  await server?.close(500);
  await target?.close();
});

test('soak: cancelled, deadline-cut, vanished and normal calls', { timeout: 50_000 }, async (t) => {
  const t0 = performance.now();
  await mix(1);
  await settled(baseline.resources);
  finalSnap = await snapshot();
  const counts = Object.entries(tally)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const heapMb = ((finalSnap.heap - baseline.heap) / 2 ** 20).toFixed(1);
  t.diagnostic(
    `soak ${Math.round(performance.now() - t0)} ms: ${counts}; target ${JSON.stringify(target.connections())}, ` +
      `client aborts ${target.clientAborts()}; deadline outcomes ${fmt(outcomes)}; handles ${fmt(baseline.resources)} -> ${fmt(finalSnap.resources)}; heap ${heapMb} MB`,
  );
  assert.equal(tally.cancelled + tally.deadline + tally.vanished + tally.unary, 500);
  assert.deepEqual(serverErrors, [], 'no unexpected server errors');
});

test('soak: the target has no connection left open', () => {
  assert.ok(finalSnap, 'the soak ran');
  const c = target.connections();
  assert.ok(c.opened > 500, `the mix reached the target (${c.opened} connections)`);
  assert.equal(c.opened - c.closed, 0, `connections still open at the target: ${JSON.stringify(c)}`);
});

test('soak: prober_streams_open is back to 0', async () => {
  assert.equal(await streamsOpen(), 0);
});

test('soak: no growth in sockets and timers', () => {
  assert.ok(finalSnap, 'the soak ran');
  for (const kind of HANDLE_KINDS) {
    const before = baseline.resources.get(kind) ?? 0;
    const now = finalSnap.resources.get(kind) ?? 0;
    assert.ok(
      now <= before + HANDLE_SLACK,
      `${kind}: ${before} -> ${now} (${fmt(baseline.resources)} -> ${fmt(finalSnap.resources)})`,
    );
  }
  const total = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  assert.ok(
    total(finalSnap.resources) <= total(baseline.resources) + 2 * HANDLE_SLACK,
    `active resources ${fmt(baseline.resources)} -> ${fmt(finalSnap.resources)}`,
  );
});

test('soak: heap after GC does not grow', {
  skip: gc ? false : 'gc() unavailable (neither --expose-gc nor v8.setFlagsFromString)',
}, () => {
  assert.ok(finalSnap, 'the soak ran');
  const grew = finalSnap.heap - baseline.heap;
  assert.ok(
    grew < HEAP_SLACK_BYTES,
    `heap grew ${(grew / 2 ** 20).toFixed(1)} MB (bound ${HEAP_SLACK_BYTES / 2 ** 20} MB)`,
  );
});
