// A reader that stops reading stops the server soon: our channels advertise a
// small HTTP/2 window (STREAM_WINDOW_BYTES), so what sits between the engine
// and a stalled reader is a few hundred events, not the ~870 of grpc-js's
// 64 KiB default (docs/clients.md). Counted at the target, no timing asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './helpers/wait.js';
import { connect, probeStream, STREAM_WINDOW_BYTES, type ProberConnection } from '../src/client/index.js';
import { startEmbeddedServer } from '../src/server/server.js';
import { startTarget, type Target } from './helpers/target.js';
import { proberFixture } from './helpers/prober.js';

// Window + Node's 16 KiB http2 read buffer over events of >= 60 B, + grpc-js's
// 16 decoded messages at each end, + the engine's slot. Measured: ~340.
const READ_BUFFER_BYTES = 16 * 1024;
const BOUND = Math.ceil((STREAM_WINDOW_BYTES + READ_BUFFER_BYTES) / 60) + 16 + 16 + 8;

/** Requests the target saw for one stream whose reader took 1 event and stopped, once they stop growing. */
async function stalledStream(target: Target, conn: ProberConnection, concurrency = 1): Promise<number> {
  const before = target.requests();
  const call = probeStream(conn, { endpoint: `${target.url}/ok`, repetitions: 0, intervalMs: 0, concurrency });
  const it = call[Symbol.asyncIterator]();
  assert.equal((await it.next()).value?.kind, 'attempt');
  // Settled = unchanged over 3 polls; gives up after 15 s (a server that never
  // stops would by then be thousands ahead and fail the bound below).
  let last = -1;
  let same = 0;
  for (let i = 0; i < 75 && same < 3; i++) {
    await sleep(200);
    const n = target.requests() - before;
    same = n === last ? same + 1 : 0;
    last = n;
  }
  call.cancel();
  return last;
}

test('a stalled reader stops the server within a few hundred events', { timeout: 60_000 }, async (t) => {
  const target = await startTarget();
  const server = await startEmbeddedServer();
  const ours = connect(server.address);
  const stock = connect(server.address, { 'grpc-node.flow_control_window': 65_535 });
  t.after(async () => {
    ours.close();
    stock.close();
    await server.close(1000);
    await target.close();
  });

  const withOurs = await stalledStream(target, ours);
  const withStock = await stalledStream(target, stock);
  t.diagnostic(
    `attempts made for a reader that took 1: ${withOurs} (window ${STREAM_WINDOW_BYTES} B, bound ${BOUND});`,
  );
  t.diagnostic(`with grpc-js's 64 KiB default: ${withStock}`);
  assert.ok(withOurs <= BOUND, `the server ran ${withOurs} attempts ahead of a stalled reader (bound ${BOUND})`);
  assert.ok(withOurs < withStock, 'our window holds back fewer events than the default');
});

test('a stalled reader stops a batched stream (concurrency 8) too', { timeout: 60_000 }, async (t) => {
  const { target, conn } = await proberFixture(t);
  const c = 8;
  const made = await stalledStream(target, conn, c);
  // As above, with grpc-js's 16 messages at each end now batches of up to c
  // attempts, and 2c attempts the server holds before it waits (streamWriteBound).
  const bound = BOUND + 2 * 16 * c + 2 * c;
  t.diagnostic(`attempts made for a reader that took 1, concurrency ${c}: ${made} (bound ${bound})`);
  assert.ok(made <= bound, `the server ran ${made} attempts ahead of a stalled reader (bound ${bound})`);
});
