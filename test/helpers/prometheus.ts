// A real Prometheus (Debian's `prometheus` binary) for integration tests: on
// loopback, a free port, stopped when the test ends, queried through its API.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from './target.js';
import { sleep } from './wait.js';

/** Path of a command on PATH; in CI a missing one is an error, not a skip. */
export function binary(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const path = found.status === 0 ? found.stdout.trim() : undefined;
  if (!path && process.env.CI) throw new Error(`${name} is required in CI (apt-get install -y prometheus)`);
  return path;
}

export const PROMETHEUS = binary('prometheus');

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface RunningPrometheus {
  readonly api: string;
  /** Polls `fn` until it returns a value; fails with Prometheus's log when it exits or time runs out. */
  until<T>(what: string, fn: () => Promise<T | undefined>, ms?: number): Promise<T>;
  query(q: string): Promise<Sample[]>;
}

/** Starts Prometheus with `configFile`, its data in `dataDir`; ready when this resolves. */
export async function startPrometheus(
  t: { after(fn: () => unknown): void },
  configFile: string,
  dataDir: string,
  readyMs = 45_000,
): Promise<RunningPrometheus> {
  assert.ok(PROMETHEUS, 'prometheus is not installed');
  const port = await freePort();
  const api = `http://127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(
    PROMETHEUS,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d: Buffer) => {
    log += d.toString();
  });
  proc.stderr.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = once(proc, 'exit');
  t.after(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
  });
  const until = async <T>(what: string, fn: () => Promise<T | undefined>, ms = 45_000): Promise<T> => {
    const deadline = Date.now() + ms;
    let last: unknown;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`prometheus exited (${proc.exitCode}): ${log}`);
      try {
        const v = await fn();
        if (v !== undefined) return v;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${String(last ?? '')}); log: ${log}`);
      await sleep(250);
    }
  };
  const query = async (q: string): Promise<Sample[]> => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { status: string; error?: string; data: { result: Sample[] } };
    assert.equal(body.status, 'success', `${q}: ${body.error}`);
    return body.data.result;
  };
  await until('prometheus ready', async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined), readyMs);
  return { api, until, query };
}

/**
 * Exposition text without the server's `region` default label, which every
 * series carries since regions landed: tests about other labels read the
 * series as they were (test/cli-fanout.test.ts checks the region label).
 */
export function withoutRegion(text: string): string {
  return text
    .replace(/,region="[^"]*"/g, '')
    .replace(/\{region="[^"]*"\}/g, '')
    .replace(/region="[^"]*",/g, '');
}
