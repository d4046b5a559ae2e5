// `prober watch URL`: live TUI (src/tui). Stub until the TUI lands.
import { Command } from '@commander-js/extra-typings';

/** The part of the CLI's io that watch needs (structurally the CLI's CliIo). */
export interface WatchIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

export function watchCommand(io: WatchIo): Command<[string], {}> {
  return new Command('watch')
    .description('watch an endpoint live: histogram, percentiles, phases')
    .argument('<url>', 'http:// or https:// URL to probe')
    .action(() => {
      io.stderr.write('prober watch: not implemented yet\n');
      process.exitCode = 2;
    }) as unknown as Command<[string], {}>;
}
