// A slow TUI consumer (--slow-consumer) paces the server: the client pulls
// one event at a time, HTTP/2 flow control fills, the server's writes wait for
// 'drain' and no new attempt starts. Server-side attempts stay within
// consumed + a bounded window instead of running ahead without limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './helpers/wait.js';
import { probeStream } from '../src/client/index.js';
import { StreamFeed } from '../src/tui/feed.js';
import { proberFixture } from './helpers/prober.js';

// What can be in flight between the server's engine and our consumer: our
// HTTP/2 stream window (8 KiB, STREAM_WINDOW_BYTES) plus Node's http2 read
// buffer (16 KiB) over attempt events of >= ~50 bytes, grpc-js's 16 messages
// at each end, plus the attempts in flight. Measured plateau here: ~350 (~850
// with grpc-js's 64 KiB default window).
const WINDOW_BOUND = 700;

test('slow consumer: server-side attempts <= consumed + a bounded window', { timeout: 60_000 }, async (t) => {
  const { target, conn } = await proberFixture(t);
  const input = { endpoint: `${target.url}/ok`, repetitions: 0, intervalMs: 0, concurrency: 4 };
  const open = (signal: AbortSignal) => probeStream(conn, input, { signal });

  // 1. How fast does the server probe when nobody holds it back? (1 s)
  const fast = new StreamFeed({ label: 'fast', open }, { repetitions: 0 });
  const fastDone = fast.start();
  await sleep(1000);
  fast.cancel();
  await fastDone;
  const unpacedPerSec = target.requests();
  const before = target.requests();
  assert.ok(unpacedPerSec > 0);

  // 2. The same stream, consumed at ~40 events/s. Run long enough that an
  // unpaced server would be 2.5 windows ahead (bounded to keep the test short).
  const slowMs = 25;
  const runMs = Math.min(20_000, Math.max(4000, ((2.5 * WINDOW_BOUND) / unpacedPerSec) * 1000));
  const slow = new StreamFeed({ label: 'slow', open }, { repetitions: 0, slowConsumerMs: slowMs });
  const slowDone = slow.start();
  const samples: Array<{ consumed: number; server: number }> = [];
  const t0 = performance.now();
  while (performance.now() - t0 < runMs) {
    await sleep(250);
    samples.push({ consumed: slow.received, server: target.requests() - before });
  }
  slow.cancel();
  const outcome = await slowDone;
  assert.equal(outcome.status, 'cancelled');

  const last = samples.at(-1)!;
  const maxGap = Math.max(...samples.map((s) => s.server - s.consumed));
  t.diagnostic(
    `unpaced ${unpacedPerSec}/s; paced over ${(runMs / 1000).toFixed(1)} s: consumed ${last.consumed}, ` +
      `server attempts ${last.server}, max gap ${maxGap} (bound ${WINDOW_BOUND}); ` +
      `unpaced would have made ~${Math.round((unpacedPerSec * runMs) / 1000)}`,
  );
  assert.ok(last.consumed > 0, 'events were consumed');
  assert.ok(maxGap <= WINDOW_BOUND, `server ran ${maxGap} attempts ahead of the consumer`);
  // The consumer really was slow: it saw far fewer events than the server could make.
  assert.ok(last.consumed <= (runMs / slowMs) * 1.05 + 5, `consumed ${last.consumed}`);
});
