// A minimal HTTP target in a child process, so its CPU is not charged to the
// process being measured.
import { spawn } from 'node:child_process';

export interface ChildTarget {
  readonly url: string;
  close(): void;
}

const SCRIPT = `
const http = require('node:http');
const body = Buffer.from('ok\\n');
const s = http.createServer((req, res) => res.end(body));
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

export async function startChildTarget(): Promise<ChildTarget> {
  const child = spawn(process.execPath, ['-e', SCRIPT], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
  });
  return { url: `http://127.0.0.1:${port}/`, close: () => child.kill() };
}

/** CPU (user+system) microseconds and wall ms spent in fn. */
export async function measure(fn: () => Promise<void>): Promise<{ cpuUs: number; wallMs: number }> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const c = process.cpuUsage(c0);
  return { cpuUs: c.user + c.system, wallMs: performance.now() - t0 };
}

/** CPU and rate per request of each case. */
export interface CaseRow {
  readonly name: string;
  readonly cpuUsPerReq: number;
  readonly reqPerSec: number;
}

/**
 * Runs each case `warmUp` times, then `n` requests each in 4 alternating
 * rounds, so drift on a shared machine hits every case alike.
 */
export async function interleavedRounds(
  cases: readonly (readonly [string, () => Promise<void>])[],
  n: number,
  warmUp: number,
): Promise<CaseRow[]> {
  for (const [, fn] of cases) for (let i = 0; i < warmUp; i++) await fn();
  const totals = new Map<string, { cpuUs: number; wallMs: number }>();
  const rounds = 4;
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of cases) {
      const m = await measure(async () => {
        for (let i = 0; i < n / rounds; i++) await fn();
      });
      const t = totals.get(name) ?? { cpuUs: 0, wallMs: 0 };
      totals.set(name, { cpuUs: t.cpuUs + m.cpuUs, wallMs: t.wallMs + m.wallMs });
    }
  }
  return [...totals].map(([name, t]) => ({ name, cpuUsPerReq: t.cpuUs / n, reqPerSec: (n / t.wallMs) * 1000 }));
}
