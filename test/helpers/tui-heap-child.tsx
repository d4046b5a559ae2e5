// Child process for test/tui-heap.test.ts: the live screen (watch() in TUI
// mode, a fake 110 x 34 terminal that discards output) fed ~1,500 synthetic
// events/s; prints the heap after full GCs at two moments as one JSON line.
// Run with --expose-gc; NODE_ENV decides which React build Ink loads.
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { watch } from '../../src/tui/render.js';
import type { WatchEvent, WatchSource } from '../../src/tui/feed.js';
import { failedAttempt, okAttempt } from './tui-synthetic.js';

const EARLY_MS = Number(process.env.HEAP_EARLY_MS ?? 4000);
const LATE_MS = Number(process.env.HEAP_LATE_MS ?? 16000);
const PER_TICK = 20; // every ~10 ms: ~1,500/s

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

function fakeTerminal(): { stdout: NodeJS.WriteStream; stdin: NodeJS.ReadStream } {
  const out = new Writable({ write: (_chunk, _enc, cb) => cb() });
  Object.assign(out, { isTTY: true, columns: 110, rows: 34 });
  const input = new PassThrough();
  Object.assign(input, { isTTY: true, setRawMode: () => input, ref: () => input, unref: () => input });
  return { stdout: out as unknown as NodeJS.WriteStream, stdin: input as unknown as NodeJS.ReadStream };
}

const source: WatchSource = {
  label: 'synthetic',
  open(signal: AbortSignal): AsyncIterable<WatchEvent> {
    return (async function* () {
      for (let seq = 1; !signal.aborted; ) {
        for (let i = 0; i < PER_TICK; i++, seq++) {
          const a =
            seq % 50 === 0
              ? failedAttempt(seq, 1 + (seq % 7))
              : okAttempt(seq, 2 + ((seq * 7919) % 300) / 10, seq % 9 === 0 ? 503 : 200);
          yield { kind: 'attempt', attempt: a } as const;
        }
        await sleep(10);
      }
    })();
  },
};

function heapMiB(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const ac = new AbortController();
const { stdout, stdin } = fakeTerminal();
let events = 0;
const counting: WatchSource = {
  label: source.label,
  open: (signal) =>
    (async function* () {
      for await (const ev of source.open(signal)) {
        events++;
        yield ev;
      }
    })(),
};
const done = watch({
  target: 'http://synthetic/',
  sources: [counting],
  repetitions: 0,
  mode: 'tui',
  stdout,
  stdin,
  stderr: stdout,
  signal: ac.signal,
  report: { attempt: () => '', summary: () => '' },
});
const t0 = performance.now();
await sleep(EARLY_MS);
const early = heapMiB();
const eventsEarly = events;
await sleep(Math.max(0, LATE_MS - (performance.now() - t0)));
const late = heapMiB();
const seconds = (performance.now() - t0) / 1000;
ac.abort();
await done;
process.stdout.write(
  `${JSON.stringify({ nodeEnv: process.env.NODE_ENV, early, late, events, eventsPerSec: (events - eventsEarly) / (seconds - EARLY_MS / 1000) })}\n`,
);
