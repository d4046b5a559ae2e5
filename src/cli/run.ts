// The CLI as a library call: run(argv, io) -> exit code. main() feeds it the
// process; tests feed it captured streams.
import { Command, CommanderError, type CommandUnknownOpts } from '@commander-js/extra-typings';
// Commands import gRPC, the server, pino and Ink inside their actions, so
// `--version` and `--help` load none of them (test/cli-lazy-load.test.ts).
// A run names its command first: only that command's module is loaded (the
// others' flag tables, and the server's config for `serve`, cost start-up).
import type { CommandContext } from './context.js';
import { guardIo, type CliIo } from './io.js';
import { EXIT, exitCodeForStop } from './exit.js';
import { version } from './version.js';

type CommandName = 'serve' | 'probe' | 'stream' | 'watch' | 'demo';
const COMMANDS: Record<CommandName, (ctx: CommandContext) => Promise<CommandUnknownOpts>> = {
  serve: async (ctx) => (await import('./commands/serve.js')).serveCommand(ctx),
  probe: async (ctx) => (await import('./commands/probe.js')).probeCommand(ctx),
  stream: async (ctx) => (await import('./commands/stream.js')).streamCommand(ctx),
  watch: async (ctx) => (await import('./commands/watch.js')).watchCommand(ctx),
  demo: async (ctx) => (await import('./commands/demo.js')).demoCommand(ctx),
};

/** The command an argv runs, when its first word names one; otherwise every command is built. */
function namedCommand(argv: readonly string[]): CommandName | undefined {
  const first = argv.find((a) => !a.startsWith('-'));
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? (first as CommandName) : undefined;
}

export async function buildProgram(ctx: CommandContext, only?: CommandName): Promise<Command> {
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
  const names = only !== undefined ? [only] : (Object.keys(COMMANDS) as CommandName[]);
  const commands = await Promise.all(names.map((n) => COMMANDS[n](ctx)));
  for (const c of commands) program.addCommand(c);
  // addCommand() does not inherit settings the way .command() does.
  for (const c of program.commands) c.copyInheritedSettings(program);
  // demo hands its flags to watch as given; copyInheritedSettings reset that.
  program.commands
    .find((c) => c.name() === 'demo')
    ?.allowUnknownOption()
    .allowExcessArguments();
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
  const program = await buildProgram(ctx, namedCommand(argv));
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
