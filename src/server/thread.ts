// An embedded prober on its own thread (see embedded-worker.ts).
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './embedded-worker.js';

export interface EmbeddedThread {
  /** host:port on 127.0.0.1. */
  readonly address: string;
  /** Lets running calls finish for `graceMs`, then stops the thread. */
  close(graceMs?: number): Promise<void>;
}

/** Extra time the thread gets to exit on its own before it is terminated. */
const EXIT_BACKSTOP_MS = 2_000;

export async function startEmbeddedServerThread(): Promise<EmbeddedThread> {
  // The worker file sits beside this one: in dist/, or in src/ when running
  // from source under tsx (tests), whose loader a worker must register itself.
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./embedded-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
  const worker = fromSource
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`,
        { eval: true },
      )
    : new Worker(entry);
  const exited = once(worker, 'exit');
  const address = await new Promise<string>((resolve, reject) => {
    worker.once('message', (m: FromWorker) => resolve(m.address));
    worker.once('error', reject);
    void exited.then(([code]) =>
      reject(new Error(`embedded prober thread exited (code ${String(code)}) before listening`)),
    );
  });
  // A thread that dies later fails the calls on it (UNAVAILABLE), which the
  // caller reports; here it must only not be an unhandled 'error' event.
  worker.on('error', () => {});
  return {
    address,
    async close(graceMs = 1_000) {
      worker.postMessage({ type: 'close', graceMs } satisfies ToWorker);
      const backstop = setTimeout(() => void worker.terminate(), graceMs + EXIT_BACKSTOP_MS);
      try {
        await exited;
      } finally {
        clearTimeout(backstop);
      }
    },
  };
}
