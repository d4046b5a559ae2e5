// The CLI as a library call: run(argv, io) -> exit code. main() feeds it the
// process; tests feed it captured streams.
import { Command, CommanderError } from '@commander-js/extra-typings';
// Commands import gRPC, the server, pino and Ink inside their actions, so
// `--version` and `--help` load none of them (test/cli-lazy-load.test.ts).
import { demoCommand } from './commands/demo.js';
import { probeCommand } from './commands/probe.js';
import { serveCommand } from './commands/serve.js';
import { streamCommand } from './commands/stream.js';
import { watchCommand } from './commands/watch.js';
import type { CommandContext } from './context.js';
import { guardIo, type CliIo } from './io.js';
import { EXIT, exitCodeForStop } from './exit.js';
import { version } from './version.js';

export function buildProgram(ctx: CommandContext): Command {
  const { io } = ctx;
  const program = new Command('prober')
    .description('Streaming-first gRPC HTTP prober: measure HTTP(S) endpoints from a prober server')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  program.addCommand(serveCommand(ctx));
  program.addCommand(probeCommand(ctx));
  program.addCommand(streamCommand(ctx));
  program.addCommand(watchCommand(ctx));
  const demo = demoCommand(ctx);
  program.addCommand(demo);
  // addCommand() does not inherit settings the way .command() does.
  for (const c of program.commands) c.copyInheritedSettings(program);
  // demo hands its flags to watch as given; copyInheritedSettings reset that.
  demo.allowUnknownOption().allowExcessArguments();
  return program;
}

/**
 * Runs one CLI invocation. Returns the exit code (EXIT); never throws and
 * never prints a stack trace for bad input.
 */
export async function run(argv: readonly string[], rawIo: CliIo): Promise<number> {
  const guarded = guardIo(rawIo);
  const { io } = guarded;
  const ctx: CommandContext = { io, exitCode: undefined };
  const program = buildProgram(ctx);
  let command: string | undefined;
  program.hook('preAction', (_program, action) => {
    command = action.name();
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already wrote its message (or the help) through writeErr/writeOut.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    io.stderr.write(`prober: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.RPC;
  }
  return exitCodeForStop(ctx.exitCode ?? EXIT.OK, guarded.stopReason(), command);
}
