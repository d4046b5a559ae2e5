// Issue 13's complaint, end to end: a client streams, dies, and later the
// server's /metrics still showed its endpoint's last latency and success as
// if current. Series fed by gRPC probes now expire after the series TTL
// (a fake clock here, so the test never sleeps through it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget } from './helpers/target.js';
import { waitFor } from './helpers/wait.js';
import { withoutRegion } from './helpers/prometheus.js';
import { startServer } from '../src/server/server.js';
import { connect, probeStream } from '../src/client/index.js';
import { resolveServerConfig } from '../src/server/config.js';

test('a dead client’s series leave /metrics once the series TTL has passed without an attempt', async (t) => {
  let clock = Date.now();
  const target = await startTarget();
  const srv = await startServer({
    listen: '127.0.0.1:0',
    warmUp: false,
    observability: { metrics: { listen: '127.0.0.1:0', seriesTtlMs: 15_000, now: () => clock } },
  });
  const conn = connect(srv.address);
  t.after(async () => {
    conn.close();
    await srv.close(0);
    await target.close();
  });
  const scrape = async (): Promise<string> => {
    const res = await fetch(`${srv.metrics!.url}/metrics`);
    return withoutRegion(await res.text());
  };
  const endpoint = `${target.url}/ok`;
  const latency = `prober_latency_seconds{endpoint="${endpoint}"}`;

  const events = probeStream(conn, { endpoint, repetitions: 0, intervalMs: 20 })[Symbol.asyncIterator]();
  for (let i = 0; i < 3; i++) assert.equal((await events.next()).value?.kind, 'attempt');
  assert.ok((await scrape()).includes(latency), 'the streaming endpoint has a latency gauge');

  conn.close(); // the client dies
  assert.ok(await waitFor(async () => (await scrape()).includes('prober_streams_open 0'), 10_000));
  clock += 5_000;
  assert.ok((await scrape()).includes(latency), 'within the TTL the series stay');

  clock += 15_000; // 20 s after the client died
  const text = await scrape();
  assert.ok(!text.includes(`endpoint="${endpoint}"`), `no series of the dead client's endpoint is left:\n${text}`);
});

test('--metrics-series-ttl resolves to ms, 0 = never; a negative value is refused naming the option', () => {
  const settings = (seriesTtlMs?: number) =>
    resolveServerConfig(
      { listen: '127.0.0.1:0', observability: { metrics: seriesTtlMs === undefined ? {} : { seriesTtlMs } } },
      { names: { 'observability.metrics.seriesTtlMs': '--metrics-series-ttl' } },
    );
  assert.equal(settings().metrics?.seriesTtlMs, 5 * 60_000);
  assert.equal(settings(0).metrics?.seriesTtlMs, 0);
  assert.throws(() => settings(-1), /seriesTtlMs must be a number of ms >= 0/);
  assert.throws(
    () => settings(Number.NaN),
    (err: Error & { option?: string }) => err.option === '--metrics-series-ttl',
  );
});
