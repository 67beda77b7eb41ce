export type PluginErrorCode =
  | 'NOT_INSTALLED'
  /** Installed, but its package cannot be resolved for import() (e.g. no matching "exports" entry). */
  | 'RESOLVE_FAILED'
  | 'IMPORT_FAILED'
  | 'NO_MANIFEST'
  | 'WRONG_KIND'
  | 'INCOMPATIBLE_API'
  | 'REGISTER_FAILED'
  | 'INITIALIZE_FAILED'
  | 'INVALID_OPTIONS';

/** One failure of one plugin, with a message that says what to do about it. */
export class PluginLoadError extends Error {
  constructor(
    readonly code: PluginErrorCode,
    readonly plugin: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PluginLoadError';
  }
}

/** Several plugin failures reported together, one line each. */
export class PluginLoadErrors extends Error {
  constructor(readonly errors: PluginLoadError[]) {
    super(`${errors.length} plugin problem${errors.length === 1 ? '' : 's'}:\n` + errors.map((e) => `  - ${e.message}`).join('\n'));
    this.name = 'PluginLoadErrors';
  }
}
