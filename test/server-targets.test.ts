// The target scheduler (src/server/targets.ts) on the real engine against
// local targets: first starts spread over the interval by a hash of the name
// (the same on every start), one attempt at a time (a slow one delays the
// next, which is counted as a slip), and apply() starting, stopping and
// restarting targets. Intervals here are below the config file's 1 s floor:
// the scheduler takes any, the floor is the config's.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LIMITS, runProbes } from '../src/probe/index.js';
import type { AttemptResult, ProbeSpec } from '../src/probe/types.js';
import type { TargetDefinition } from '../src/server/config-targets.js';
import { firstStartDelayMs, targetPhaseMs, TargetScheduler, type TargetObserver } from '../src/server/targets.js';
import { startTarget } from './helpers/target.js';
import { sleep, until } from './helpers/wait.js';

function def(name: string, url: string, intervalMs: number, timeoutMs = 1000, labels = {}): TargetDefinition {
  const input = { endpoint: url, repetitions: 0, intervalMs, timeoutMs, concurrency: 1, followRedirects: true };
  return { name, url, module: 'http_2xx', intervalMs, timeoutMs, labels, input, fingerprint: JSON.stringify(input) };
}

class Recorder implements TargetObserver {
  readonly attempts: { target: string; attempt: AttemptResult; spec: ProbeSpec }[] = [];
  readonly slips: { target: string; ms: number }[] = [];
  readonly removedNames: string[] = [];
  configuredNames: string[] = [];
  configured(targets: readonly TargetDefinition[]): void {
    this.configuredNames = targets.map((t) => t.name);
  }
  attempt(t: TargetDefinition, spec: ProbeSpec, attempt: AttemptResult): void {
    this.attempts.push({ target: t.name, attempt, spec });
  }
  slip(t: TargetDefinition, ms: number): void {
    this.slips.push({ target: t.name, ms });
  }
  removed(t: TargetDefinition): void {
    this.removedNames.push(t.name);
  }
  count(name: string): number {
    return this.attempts.filter((a) => a.target === name).length;
  }
}

const quiet = { error() {}, warn() {} };

function scheduler(observer: TargetObserver, now?: () => number): TargetScheduler {
  return new TargetScheduler({ runProbes, limits: DEFAULT_LIMITS, observer, logger: quiet, ...(now ? { now } : {}) });
}

describe('first starts', () => {
  it('are spread over the interval by a hash of the name, the same on every start', () => {
    const interval = 10_000;
    const names = Array.from({ length: 200 }, (_, i) => `target-${i}`);
    const buckets = new Set(names.map((n) => Math.floor(targetPhaseMs(n, interval) / 1000)));
    assert.equal(buckets.size, 10, 'every tenth of the interval holds some first start');
    for (const n of names.slice(0, 20)) {
      const phase = targetPhaseMs(n, interval);
      assert.ok(phase >= 0 && phase < interval);
      assert.equal(targetPhaseMs(n, interval), phase, 'deterministic');
      // Whenever the server (re)starts, the target keeps its place in the interval.
      for (const now of [0, 1234, 1_700_000_000_123]) {
        const delay = firstStartDelayMs(n, interval, now);
        assert.ok(delay >= 0 && delay < interval);
        assert.equal((now + delay) % interval, phase);
      }
    }
  });

  it('the scheduler starts each target at its phase: first attempts come in phase order', async (t) => {
    const target = await startTarget();
    t.after(() => target.close());
    const interval = 3000;
    // Three names whose phases are a second apart, in a known order (now = 0: the delay is the phase).
    const names = Array.from({ length: 400 }, (_, i) => `n${i}`).map((n) => ({ n, p: targetPhaseMs(n, interval) }));
    const picked = [200, 1200, 2200].map((from) => names.find(({ p }) => p >= from && p < from + 500)!);
    const rec = new Recorder();
    const s = scheduler(rec, () => 0);
    t.after(() => s.close());
    await s.apply([...picked].reverse().map(({ n }) => def(n, `${target.url}/ok`, interval)));
    await until(() => picked.every(({ n }) => rec.count(n) >= 1), 10_000, 'a first attempt of each target');
    const order = [...new Set(rec.attempts.map((a) => a.target))];
    assert.deepEqual(
      order,
      picked.map(({ n }) => n),
    );
  });
});

describe('one attempt at a time', () => {
  it('a slow attempt delays the next (never two at once) and the delay is counted as a slip', async (t) => {
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = http.createServer((_req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 150);
    });
    slow.listen(0, '127.0.0.1');
    await once(slow, 'listening');
    t.after(() => slow.close());
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
    const rec = new Recorder();
    const s = scheduler(rec);
    t.after(() => s.close());
    // Due every 50 ms; each takes 150 ms.
    await s.apply([def('slow', url, 50)]);
    await until(() => rec.count('slow') >= 4, 20_000, 'four attempts');
    await s.close();
    assert.equal(maxInFlight, 1);
    assert.ok(
      rec.attempts.every((a) => a.attempt.error === undefined),
      JSON.stringify(rec.attempts.map((a) => a.attempt.error)),
    );
    // Every attempt after the first started late, and each late start is one slip.
    const late = rec.attempts.filter((a) => a.attempt.scheduleDelayMs !== undefined).length;
    assert.ok(late >= rec.attempts.length - 1, `${late} late of ${rec.attempts.length}`);
    assert.equal(rec.slips.length, late);
    assert.ok(rec.slips.every((x) => x.target === 'slow' && x.ms > 0));
  });
});

describe('apply()', () => {
  it('adds, keeps, restarts changed and stops removed targets; a stopped one never probes again', async (t) => {
    const target = await startTarget();
    t.after(() => target.close());
    const rec = new Recorder();
    const s = scheduler(rec);
    t.after(() => s.close());
    // The test target counts hits by route: a's is /echo, b's /status/:n, a2's /ok.
    const a = def('a', `${target.url}/echo`, 60);
    const b = def('b', `${target.url}/status/204`, 60);
    let changes = await s.apply([a, b]);
    assert.deepEqual(changes, { added: ['a', 'b'], removed: [], changed: [], kept: [] });
    assert.deepEqual(rec.configuredNames, ['a', 'b']);
    await until(() => rec.count('a') >= 2 && rec.count('b') >= 2, 20_000, 'attempts of a and b');

    changes = await s.apply([a]);
    assert.deepEqual(changes, { added: [], removed: ['b'], changed: [], kept: ['a'] });
    assert.deepEqual(rec.removedNames, ['b']);
    assert.deepEqual(s.names(), ['a']);
    const bHits = target.hits.get('/status/:n');
    assert.ok(bHits !== undefined && bHits >= 2);
    const bAttempts = rec.count('b');
    const aNow = rec.count('a');
    await until(() => rec.count('a') >= aNow + 3, 20_000, 'a probing on');
    assert.equal(target.hits.get('/status/:n'), bHits, 'b is not probed after its removal');
    assert.equal(rec.count('b'), bAttempts, 'b reports nothing after removed()');

    // A changed target (its URL) restarts: its old series go first.
    const a2 = def('a', `${target.url}/ok`, 60);
    changes = await s.apply([a2]);
    assert.deepEqual(changes, { added: [], removed: [], changed: ['a'], kept: [] });
    assert.deepEqual(rec.removedNames, ['b', 'a']);
    await until(() => (target.hits.get('/ok') ?? 0) >= 2, 20_000, 'the changed target probing its new URL');

    await s.close();
    assert.deepEqual(s.names(), []);
    const total = target.requests();
    const after = rec.attempts.length;
    await sleep(300); // five intervals
    assert.equal(rec.attempts.length, after, 'nothing reported after close()');
    assert.equal(target.requests(), total, 'nothing probed after close()');
  });
});
