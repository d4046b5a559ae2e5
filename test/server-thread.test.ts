// The embedded prober on its own thread: a busy front end (the TUI rendering)
// must not inflate what the engine measures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from './helpers/wait.js';
import { connect, probeOnce, isProberRpcError } from '../src/client/index.js';
import { startEmbeddedServer } from '../src/server/server.js';
import { startEmbeddedServerThread } from '../src/server/thread.js';
import { spawn } from 'node:child_process';

/** A target in another process, so blocking this one cannot delay its answers. */
async function childTarget(): Promise<{ url: string; close(): void }> {
  const script = `require('node:http').createServer((q, s) => setTimeout(() => s.end('ok'), q.url === '/delay' ? 100 : 0))
    .listen(0, '127.0.0.1', function () { process.stdout.write(this.address().port + '\\n'); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

/** Keeps this thread's event loop busy, as a heavy render would. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* spin */
  }
}

async function latencyWhileBusy(address: string, url: string): Promise<number> {
  const conn = connect(address);
  try {
    // Warm the channel so connection set-up is not part of the measurement.
    await probeOnce(conn, { endpoint: `${url}/ok`, repetitions: 1 });
    const pending = probeOnce(conn, { endpoint: `${url}/delay`, repetitions: 1 }, { deadlineMs: 20_000 });
    await sleep(20); // the attempt is in flight
    busy(600);
    const s = await pending;
    assert.equal(s.successes, 1);
    return s.maxMs!;
  } finally {
    conn.close();
  }
}

test('a blocked main thread does not inflate latency measured on the prober thread', { timeout: 60_000 }, async () => {
  const target = await childTarget();
  const thread = await startEmbeddedServerThread();
  // The control: the engine on the blocked thread itself.
  const inline = await startEmbeddedServer({ engine: 'inline', warmUp: false });
  try {
    const onThread = await latencyWhileBusy(thread.address, target.url);
    const inProcess = await latencyWhileBusy(inline.address, target.url);
    // The in-process server cannot see the response until the loop is free.
    assert.ok(inProcess >= 500, `in-process latency ${inProcess} ms should include the 600 ms block`);
    assert.ok(onThread < 400, `thread latency ${onThread} ms should not include the 600 ms block`);
  } finally {
    await inline.close(500);
    await thread.close(500);
    target.close();
  }
});

test('closing the thread stops the server', { timeout: 30_000 }, async () => {
  const thread = await startEmbeddedServerThread();
  await thread.close(500);
  const conn = connect(thread.address);
  try {
    await assert.rejects(
      probeOnce(conn, { endpoint: 'http://127.0.0.1:9/', repetitions: 1 }, { deadlineMs: 2_000 }),
      (err: unknown) =>
        isProberRpcError(err) && (err.codeName === 'UNAVAILABLE' || err.codeName === 'DEADLINE_EXCEEDED'),
    );
  } finally {
    conn.close();
  }
});
