export class DuplicateRegistrationError extends Error {
  /** `existingScope`: set when the existing provider is in a parent scope (a child would shadow it). */
  constructor(token: string, existingOwner: string, newOwner: string, scope: string, declaredOverride = false, existingScope?: string) {
    super(
      existingScope !== undefined
        ? `${token} is a single-slot token and is already provided by ${existingOwner} in scope ${existingScope}; ` +
            `${newOwner} tried to provide it again in scope ${scope}, where it would shadow it for that scope only. ` +
            `Provide it once, in scope ${existingScope}` +
            (declaredOverride ? ` (overrides replace core's default only from a plugin registered there).` : '.')
        : `${token} is a single-slot token and is already provided by ${existingOwner}; ` +
            `${newOwner} tried to provide it too (scope ${scope}). ` +
            (declaredOverride
              ? `Only core's default can be overridden, and ${existingOwner} already replaced it: enable only one of them.`
              : `Enable only one of them, or, to replace core's default, declare it in ${newOwner}'s manifest: overrides: [TOKENS.${token}].`),
    );
    this.name = 'DuplicateRegistrationError';
  }
}

/**
 * A registration of a deployment-wide token (router, risk checks, clock, ...) in a child scope
 * that does not take it: composition reads those from the root only, so it would be ignored or
 * would shadow core's for that scope alone.
 */
export class ScopeRegistrationError extends Error {
  constructor(token: string, owner: string, scope: string, hint: string) {
    super(`${owner} tried to provide ${token} in scope ${scope}, but ${token} is deployment-wide and is read from the root scope only: ${hint}`);
    this.name = 'ScopeRegistrationError';
  }
}

/**
 * A registration of a single-slot token core reserved for itself (CwtsContainer.reserve): core
 * fills it during startup, so no plugin may provide it, with or without `overrides`.
 */
export class ReservedTokenError extends Error {
  constructor(token: string, reservedFor: string, owner: string, scope: string, hint: string) {
    super(`${owner} tried to provide ${token} (scope ${scope}), but only ${reservedFor} provides it, and no plugin can replace it (not with overrides either): ${hint}`);
    this.name = 'ReservedTokenError';
  }
}

/**
 * A resolve of a token nothing provides, directly or for a class's constructor parameter
 * (`neededBy`). `hint`: what to do instead of the default question about the providing plugin.
 */
export class UnregisteredTokenError extends Error {
  constructor(token: string, scope: string, neededBy?: string, hint?: string) {
    super(`nothing provides ${token} in scope ${scope}${neededBy !== undefined ? ` (needed by ${neededBy})` : ''}; ${hint ?? 'is the plugin that provides it enabled?'}`);
    this.name = 'UnregisteredTokenError';
  }
}
