// Structured logging with pino: JSON lines by default, pino-pretty when the
// destination is a terminal. Level from --log-level, else PROBER_LOG_LEVEL.
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError } from '../common/errors.js';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_LEVEL_ENV = 'PROBER_LOG_LEVEL';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The level to use: the flag wins over the environment; unset means "info".
 * Throws a ConfigError naming the source for anything that is not a level.
 */
export function resolveLogLevel(flag?: string, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromFlag = flag !== undefined && flag !== '';
  const raw = fromFlag ? flag : env[LOG_LEVEL_ENV];
  if (raw === undefined || raw === '') return DEFAULT_LOG_LEVEL;
  const value = raw.trim().toLowerCase();
  if (!isLogLevel(value)) {
    const source = fromFlag ? '--log-level' : LOG_LEVEL_ENV;
    throw new ConfigError(source, `invalid ${source} "${raw}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return value;
}

export interface LoggerOptions {
  /** Level name; validated with resolveLogLevel semantics (default info). */
  readonly level?: string;
  /** Human-readable output; default: whether stdout is a terminal. */
  readonly pretty?: boolean;
  /** Where lines go (default stdout). Tests pass a collecting stream. */
  readonly destination?: DestinationStream;
  readonly env?: NodeJS.ProcessEnv;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = resolveLogLevel(options.level, options.env);
  const base = { name: 'prober' };
  const usePretty = options.pretty ?? (options.destination === undefined && process.stdout.isTTY === true);
  if (usePretty) {
    // Synchronous stream, no worker thread: lines are not lost on exit.
    const stream = pretty({
      colorize: options.destination === undefined,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,name',
      singleLine: true,
      sync: true,
      ...(options.destination ? { destination: options.destination } : {}),
    });
    return pino({ level, base }, stream);
  }
  return options.destination ? pino({ level, base }, options.destination) : pino({ level, base });
}

/** A logger that writes nothing (tests, embedded servers). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
