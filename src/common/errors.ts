// Typed errors with stable codes, after undici's lib/core/errors.js.
/** A setting (flag, config key) is invalid. `option` names it as the user wrote it. */
export class ConfigError extends Error {
  readonly code = 'PROBER_ERR_CONFIG';
  constructor(readonly option: string, message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
