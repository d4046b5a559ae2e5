// Worker-thread entry for the embedded prober: the engine gets an event loop
// of its own, so a front end's rendering never delays the timestamps it takes.
import { parentPort } from 'node:worker_threads';
import { startEmbeddedServer } from './server.js';

export type ToWorker = { readonly type: 'close'; readonly graceMs: number };
export type FromWorker = { readonly type: 'listening'; readonly address: string };

const port = parentPort;
if (port === null) throw new Error('embedded-worker runs only as a worker thread');

const running = await startEmbeddedServer();
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'close') void running.close(msg.graceMs).finally(() => port.close());
});
port.postMessage({ type: 'listening', address: running.address } satisfies FromWorker);
