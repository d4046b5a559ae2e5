// Everything the ground-truth benches start or call: the target, a warm
// in-process node:http client, hey, prometheus-blackbox-exporter and a
// `prober serve` child. Loopback only; every child dies with the bench.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { TruthRecord } from './truth-log.js';

export const PROBER_BIN = fileURLToPath(new URL('../bin/prober.js', import.meta.url));
const TARGET_SCRIPT = fileURLToPath(new URL('./truth-target.ts', import.meta.url));

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** First stdout line matching `pick`, or a rejection when the child exits or times out first. */
async function firstLine<T>(child: ChildProcess, pick: (line: string) => T | undefined, ms = 15_000): Promise<T> {
  const rl = createInterface({ input: child.stdout! });
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('child did not start in time')), ms);
      child.once('exit', (code) => reject(new Error(`child exited (${String(code)}) before it was ready`)));
      rl.on('line', (line) => {
        const v = pick(line);
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
        }
      });
    });
  } finally {
    rl.close();
    child.stdout!.resume(); // keep draining logs so the child never blocks on a full pipe
  }
}

/** Peak resident set of a process (VmHWM), in bytes. Linux only. */
export function vmHwmBytes(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

// ---- small HTTP helpers (the bench's own requests, never timed) ----

const controlAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

export function httpGetText(url: string, headers: http.OutgoingHttpHeaders = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: controlAgent, headers }, (res) => {
        let s = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          s += d;
        });
        res.on('end', () => resolve(s));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ---- the ground-truth target ----

export interface TruthTarget {
  readonly origin: string;
  /** `/delay/N?tag=T` on the target. */
  url(delayMs: number, tag: string): string;
  /** The target's records for `tag`, in arrival order (and forgets them). */
  records(tag: string): Promise<TruthRecord[]>;
  close(): Promise<void>;
}

export async function startTruthTarget(): Promise<TruthTarget> {
  const child = track(
    spawn(process.execPath, ['--import', 'tsx', TARGET_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const port = await firstLine(child, (l) => (/^\d+$/.test(l) ? Number(l) : undefined));
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: (d, tag) => `${origin}/delay/${d}?tag=${encodeURIComponent(tag)}`,
    records: async (tag) => JSON.parse(await httpGetText(`${origin}/_truth?tag=${encodeURIComponent(tag)}`)),
    close: () => stopChild(child),
  };
}

// ---- peer (a): bare node:http, in this process ----

/** One GET, latency from http.request to the end of the body (what a bare client would report). */
export function nodeHttpOnce(url: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    http
      .get(url, { agent }, (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(performance.now() - t0));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/** n GETs by c workers; latencies in completion order. */
export async function nodeHttpRun(url: string, n: number, c: number, agent: http.Agent | false): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      out.push(await nodeHttpOnce(url, agent));
    }
  };
  await Promise.all(Array.from({ length: Math.min(c, n) }, worker));
  return out;
}

// ---- peer (b): hey ----

export async function hasCommand(cmd: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${cmd}`], (err) => resolve(err === null)));
}

/** hey's per-request response times (ms) from its CSV output. */
export function heyRun(url: string, n: number, c: number, keepAlive: boolean): Promise<number[]> {
  const args = ['-n', String(n), '-c', String(c), '-o', 'csv', ...(keepAlive ? [] : ['-disable-keepalive']), url];
  return new Promise((resolve, reject) => {
    execFile('hey', args, { maxBuffer: 64 << 20 }, (err, stdout) => {
      if (err) return reject(err);
      const rows = stdout.split('\n').slice(1).filter(Boolean);
      resolve(rows.map((r) => Number(r.split(',')[0]) * 1000));
    });
  });
}

// ---- peer (c): prometheus-blackbox-exporter, and any /probe endpoint ----

export interface ProbeEndpoint {
  /** One scrape: probe_duration_seconds in ms (rejects unless probe_success is 1). */
  scrape(targetUrl: string): Promise<number>;
  close(): Promise<void>;
}

export function scrapeProbe(origin: string, targetUrl: string): Promise<number> {
  const u = `${origin}/probe?module=http_2xx&target=${encodeURIComponent(targetUrl)}`;
  return httpGetText(u, { 'x-prometheus-scrape-timeout-seconds': '10' }).then((text) => {
    const v = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    if (v('probe_success') !== 1) throw new Error(`probe failed: ${text.slice(0, 300)}`);
    return v('probe_duration_seconds') * 1000;
  });
}

export async function startBlackbox(): Promise<ProbeEndpoint> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-blackbox-'));
  const config = join(dir, 'blackbox.yml');
  writeFileSync(
    config,
    'modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n',
  );
  const port = await freePort();
  const child = track(
    spawn(
      'prometheus-blackbox-exporter',
      [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    ),
  );
  const origin = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      await httpGetText(`${origin}/-/healthy`);
      break;
    } catch (err) {
      if (i > 100 || child.exitCode !== null) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { scrape: (t) => scrapeProbe(origin, t), close: () => stopChild(child) };
}

// ---- the prober, as users run it: `node bin/prober.js serve` in a child ----

export interface ProberServer {
  readonly address: string;
  /** The metrics port's origin (/metrics, /probe). */
  readonly metricsOrigin: string;
  readonly child: ChildProcess;
  close(): Promise<void>;
}

/** `nodeArgs` go before bin/prober.js (e.g. a preload); env as a user's (NODE_ENV unset). */
export async function startProberServer(
  nodeArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
  serveArgs: readonly string[] = [],
  bin: string = PROBER_BIN,
): Promise<ProberServer> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['NODE_ENV'];
  const child = track(
    spawn(
      process.execPath,
      [...nodeArgs, bin, 'serve', '--listen', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', ...serveArgs],
      { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv },
    ),
  );
  const ready = await firstLine(child, (line) => {
    try {
      const j = JSON.parse(line) as { address?: string; metrics?: string };
      return j.address !== undefined ? j : undefined;
    } catch {
      return undefined;
    }
  });
  return {
    address: ready.address!,
    metricsOrigin: new URL(ready.metrics ?? 'http://127.0.0.1:0').origin,
    child,
    close: () => stopChild(child),
  };
}
