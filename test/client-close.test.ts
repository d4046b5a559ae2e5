// Closing a connection ends the calls still running on it: grpc-js's own
// close() lets them go on, which left continuous streams probing for a caller
// that had gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, waitFor } from './helpers/wait.js';
import { Registry } from 'prom-client';
import { startServer, type RunningServer } from '../src/server/server.js';
import { connect, isProberRpcError, probeOnce, probeStream, type ProberRpcError } from '../src/client/index.js';
import { startTarget, type Target } from './helpers/target.js';

let target: Target;
let server: RunningServer;
let registry: Registry;

before(async () => {
  target = await startTarget();
  registry = new Registry();
  server = await startServer({
    listen: '127.0.0.1:0',
    observability: { metrics: { registry, defaultMetrics: false }, health: false, reflection: false },
  });
});

after(async () => {
  await server?.close(500);
  await target?.close();
});

async function streamsOpen(): Promise<number> {
  const { values } = await registry.getSingleMetric('prober_streams_open')!.get();
  return values[0]?.value ?? 0;
}

/** The ProberRpcError `p` rejects with within 5 s. */
async function rejection(p: Promise<unknown>): Promise<ProberRpcError> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 5_000, 'timeout')));
  const outcome = await Promise.race([
    p.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    timeout,
  ]);
  clearTimeout(timer);
  assert.notEqual(outcome, 'timeout', 'the call did not end within 5 s');
  assert.ok(isProberRpcError(outcome), `a ProberRpcError, got ${String(outcome)}`);
  return outcome;
}

test('close() without cancel ends continuous streams, read or not, and the server stops probing', {
  timeout: 15_000,
}, async () => {
  const conn = connect(server.address);
  const input = { endpoint: `${target.url}/ok`, repetitions: 0, intervalMs: 20 };
  const read = probeStream(conn, input)[Symbol.asyncIterator]();
  const unread = probeStream(conn, input)[Symbol.asyncIterator]();
  assert.equal((await read.next()).done, false);
  assert.equal((await unread.next()).done, false); // then never pulled again
  const reading = (async () => {
    for (;;) if ((await read.next()).done) return;
  })();
  assert.equal(await streamsOpen(), 2);

  conn.close();
  const err = await rejection(reading);
  assert.equal(err.codeName, 'CANCELLED');
  assert.ok(
    await waitFor(async () => (await streamsOpen()) === 0, 5_000),
    `streams still open: ${await streamsOpen()}`,
  );
  const atClose = target.requests();
  await sleep(200);
  assert.equal(target.requests(), atClose, 'no attempt starts after the connection closed');
  assert.ok(
    await waitFor(() => target.connections().opened === target.connections().closed, 5_000),
    JSON.stringify(target.connections()),
  );
});

test('close() rejects a unary call in flight with CANCELLED and aborts its attempts', { timeout: 15_000 }, async () => {
  const conn = connect(server.address);
  const before = target.clientAborts();
  const hangs = target.hits.get('/hang') ?? 0;
  const call = probeOnce(conn, { endpoint: `${target.url}/hang`, repetitions: 2, concurrency: 2, timeoutMs: 30_000 });
  assert.ok(await waitFor(() => (target.hits.get('/hang') ?? 0) >= hangs + 2, 5_000), 'attempts reached the target');
  conn.close();
  assert.equal((await rejection(call)).codeName, 'CANCELLED');
  await target.waitForClientAborts(before + 2, 5_000);
});

test('a call on a closed connection fails as UNAVAILABLE, not with a raw error', async () => {
  const conn = connect(server.address);
  conn.close();
  const input = { endpoint: `${target.url}/ok`, repetitions: 1 };
  assert.equal((await rejection(probeOnce(conn, input))).codeName, 'UNAVAILABLE');
  const it = probeStream(conn, input)[Symbol.asyncIterator]();
  assert.equal((await rejection(it.next())).codeName, 'UNAVAILABLE');
});
