// Entry point of bin/prober.js.
import { processIo } from './io.js';
import { version } from './version.js';

/** Exactly what commander prints for these, without loading any command (~half of the start-up). */
const VERSION_FLAGS = new Set(['--version', '-V']);

export async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && VERSION_FLAGS.has(argv[0]!)) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const { run } = await import('./run.js');
  process.exitCode = await run(argv, processIo());
}
