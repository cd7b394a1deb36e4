// The errors bin/app.ts reports without a stack trace.

/** A deployment problem the user can fix; bin/app.ts prints only its message. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Thrown for a bad setting; the message names the context key. */
export class SettingsError extends ConfigError {
  constructor(key: string, message: string) {
    super(`Invalid context "${key}": ${message}`);
    this.name = 'SettingsError';
  }
}
