// Real `prober serve` processes (bin/prober.js from dist/), optionally inside
// a network namespace, for tests that kill a server the hard way.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = join(root, 'bin/prober.js');

/** Builds dist/ when it is missing or older than a source file (as test/cli-bin.test.ts). */
export async function ensureDist(): Promise<void> {
  const main = join(root, 'dist/cli/main.js');
  const src = join(root, 'src');
  const stale =
    !existsSync(main) ||
    readdirSync(src, { recursive: true, encoding: 'utf8' }).some(
      (f) => /\.tsx?$/.test(f) && statSync(join(src, f)).mtimeMs > statSync(main).mtimeMs,
    );
  if (!stale) return;
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
    cwd: root,
    timeout: 180_000,
  }).catch((err: unknown) => {
    if (!existsSync(main)) throw err;
  });
}

export interface ServeProcess {
  /** The gRPC address it logged, host:port. */
  readonly address: string;
  /** Its /metrics base URL. */
  readonly metrics: string;
  readonly child: ChildProcessWithoutNullStreams;
  /** Everything it logged so far. */
  log(): string;
  /** SIGKILL (no graceful shutdown), resolves once it has exited. */
  kill(): Promise<void>;
}

/** `prober serve ARGS`, through `ip netns exec NS` when `netns` is given; resolves once it listens. */
export async function startServe(args: readonly string[], netns?: string): Promise<ServeProcess> {
  const argv = [bin, 'serve', ...args];
  const child =
    netns === undefined
      ? spawn(process.execPath, argv, { cwd: root })
      : spawn('ip', ['netns', 'exec', netns, process.execPath, ...argv], { cwd: root });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = once(child, 'exit');
  const listening = await new Promise<{ address: string; metrics: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve never listened: ${out}`)), 30_000);
    const check = (): void => {
      const m = /"address":"([^"]+)","metrics":"([^"]+)"/.exec(out);
      if (m?.[1] !== undefined && m[2] !== undefined) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        resolve({ address: m[1], metrics: m[2] });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}: ${out}`));
    });
  });
  return {
    ...listening,
    child,
    log: () => out,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The value of an unlabelled gauge/counter on a server's /metrics (0 when absent). */
export async function metric(serve: ServeProcess, name: string): Promise<number> {
  const text = await (await fetch(`${serve.metrics}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m?.[1] === undefined ? 0 : Number(m[1]);
}
