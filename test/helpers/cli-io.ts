// Captured io for driving run(argv, io) in tests.
import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';

export interface Captured extends Writable {
  readonly isTTY: boolean;
  text(): string;
  /** Resolves once the captured text matches (rejects after ms). */
  waitFor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

export function capture(isTTY = false): Captured {
  let buf = '';
  const waiters = new Set<() => void>();
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      buf += chunk.toString();
      for (const f of [...waiters]) f();
      cb();
    },
  }) as Captured;
  Object.assign(w, {
    isTTY,
    text: () => buf,
    waitFor(re: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`output never matched ${re}; got:\n${buf}`));
        }, ms);
        const check = (): void => {
          const m = buf.match(re);
          if (m !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(m);
          }
        };
        waiters.add(check);
        check();
      });
    },
  });
  return w;
}

export interface TestIo extends CliIo {
  readonly stdout: Captured;
  readonly stderr: Captured;
}

export function testIo(opts: { signal?: AbortSignal; env?: Record<string, string> } = {}): TestIo {
  return {
    stdout: capture(),
    stderr: capture(),
    env: opts.env ?? {},
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
  };
}
