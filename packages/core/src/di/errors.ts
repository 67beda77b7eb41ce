export class DuplicateRegistrationError extends Error {
  constructor(token: string, existingOwner: string, newOwner: string, scope: string, declaredOverride = false) {
    super(
      `${token} is a single-slot token and is already provided by ${existingOwner}; ` +
        `${newOwner} tried to provide it too (scope ${scope}). ` +
        (declaredOverride
          ? `Only core's default can be overridden, and ${existingOwner} already replaced it: enable only one of them.`
          : `Enable only one of them, or, to replace core's default, declare it in ${newOwner}'s manifest: overrides: [TOKENS.${token}].`),
    );
    this.name = 'DuplicateRegistrationError';
  }
}

export class UnregisteredTokenError extends Error {
  constructor(token: string, scope: string) {
    super(`nothing provides ${token} in scope ${scope}; is the plugin that provides it enabled?`);
    this.name = 'UnregisteredTokenError';
  }
}
