import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseClock } from '../src/probe/index.js';
import { PHASES, PHASE_FIELD } from '../src/stats/phases.js';

// Instants are given explicitly: the clock is plain arithmetic over them.
function clock(t0 = 100): PhaseClock {
  return new PhaseClock(t0);
}

test('fresh connection by host name: dns, connect, ttfb, transfer; no tls', () => {
  const c = clock();
  c.mark('lookup', 103);
  c.mark('connect', 110);
  c.mark('response', 130);
  c.mark('end', 135);
  assert.deepEqual(c.phases(), { dnsMs: 3, connectMs: 7, ttfbMs: 20, transferMs: 5 });
  assert.equal(c.latencyMs(), 35);
  assert.equal(c.connected, true);
  assert.equal(c.secured, false);
});

test('an IP literal (no lookup event): connect counts from the start', () => {
  const c = clock();
  c.mark('connect', 104);
  c.mark('response', 110);
  c.mark('end', 111);
  assert.deepEqual(c.phases(), { connectMs: 4, ttfbMs: 6, transferMs: 1 });
});

test('TLS: the handshake is its own phase and ttfb starts once it is done', () => {
  const c = clock();
  c.mark('lookup', 101);
  c.mark('connect', 105);
  c.mark('secure', 120);
  c.mark('response', 150);
  c.mark('end', 160);
  assert.deepEqual(c.phases(), { dnsMs: 1, connectMs: 4, tlsMs: 15, ttfbMs: 30, transferMs: 10 });
  assert.equal(c.secured, true);
  const sum = Object.values(c.phases()).reduce((s, v) => s + v, 0);
  assert.equal(sum, c.latencyMs());
});

test('through a proxy tunnel: proxy runs from connect to the CONNECT reply, tls from there', () => {
  const c = clock();
  c.mark('lookup', 101);
  c.mark('connect', 105);
  c.mark('proxy', 112);
  c.mark('secure', 120);
  c.mark('response', 150);
  c.mark('end', 160);
  assert.deepEqual(c.phases(), { dnsMs: 1, connectMs: 4, proxyMs: 7, tlsMs: 8, ttfbMs: 30, transferMs: 10 });
  const sum = Object.values(c.phases()).reduce((s, v) => s + v, 0);
  assert.equal(sum, c.latencyMs());
});

test('a tunnel without TLS on top: ttfb starts at the CONNECT reply', () => {
  const c = clock();
  c.mark('connect', 105);
  c.mark('proxy', 110);
  c.mark('response', 130);
  c.mark('end', 131);
  assert.deepEqual(c.phases(), { connectMs: 5, proxyMs: 5, ttfbMs: 20, transferMs: 1 });
});

test('reused connection: no dns/connect/tls, ttfb from the start', () => {
  const c = clock();
  c.markReused();
  c.mark('response', 108);
  c.mark('end', 109);
  assert.deepEqual(c.phases(), { ttfbMs: 8, transferMs: 1 });
  assert.equal(c.reused, true);
  assert.equal(c.connected, true);
  assert.equal(c.secured, true);
});

test('reused wins over stray connection marks', () => {
  const c = clock();
  c.mark('connect', 102);
  c.markReused();
  c.mark('response', 105);
  c.mark('end', 106);
  assert.deepEqual(c.phases(), { ttfbMs: 5, transferMs: 1 });
});

test('failure before connect: only what happened, latency to the failure', () => {
  const c = clock();
  c.mark('end', 150);
  assert.deepEqual(c.phases(), {});
  assert.equal(c.latencyMs(), 50);
  assert.equal(c.connected, false);

  const resolved = clock();
  resolved.mark('lookup', 120);
  resolved.mark('end', 150);
  assert.deepEqual(resolved.phases(), { dnsMs: 20 });
});

test('failure after connect, before the handshake finished: no tls, no ttfb', () => {
  const c = clock();
  c.mark('connect', 110);
  c.mark('end', 140);
  assert.deepEqual(c.phases(), { connectMs: 10 });
  assert.equal(c.secured, false);
});

test('phases are listed in PHASES order', () => {
  const c = clock();
  c.mark('lookup', 101);
  c.mark('connect', 102);
  c.mark('proxy', 102.5);
  c.mark('secure', 103);
  c.mark('response', 104);
  c.mark('end', 105);
  assert.deepEqual(
    Object.keys(c.phases()),
    PHASES.map((p) => PHASE_FIELD[p]),
  );
});

test('default instants come from the monotonic clock', () => {
  const c = new PhaseClock();
  c.mark('end');
  assert.ok(c.latencyMs() >= 0 && c.latencyMs() < 1000);
});
