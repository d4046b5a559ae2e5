// Errors with a stable identity that any layer may throw and any other may
// recognise without reading the message (undici's pattern: a `code` string
// that never changes, plus typed fields).

/**
 * A configuration value is invalid (a flag, an environment variable, a
 * config-file key). The CLI maps it to the usage exit code (2).
 */
export class ConfigError extends Error {
  readonly code = 'PROBER_ERR_CONFIG' as const;
  /** The option at fault, as the user wrote it (e.g. `--max-timeout`, `listen`). */
  readonly option: string;

  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
    this.option = option;
  }
}

/** Also true across module copies (worker threads, duplicated packages): the code is the identity. */
export function isConfigError(err: unknown): err is ConfigError {
  return (
    err instanceof ConfigError ||
    (err instanceof Error &&
      (err as { code?: unknown }).code === 'PROBER_ERR_CONFIG' &&
      typeof (err as { option?: unknown }).option === 'string')
  );
}
