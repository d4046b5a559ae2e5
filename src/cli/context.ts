// What run() hands to each command factory.
import type { CliIo } from './io.js';

export interface CommandContext {
  readonly io: CliIo;
  /** Set by the command's action; run() returns it (0 when unset). */
  exitCode: number | undefined;
}
