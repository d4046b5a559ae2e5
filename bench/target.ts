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
