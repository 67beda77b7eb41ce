export class DuplicateRegistrationError extends Error {
  constructor(token: string, existingOwner: string, newOwner: string, scope: string) {
    super(
      `${token} is a single-slot token and is already provided by ${existingOwner}; ` +
        `${newOwner} tried to provide it too (scope ${scope}). Enable only one of them, ` +
        `or declare the override in ${newOwner}'s manifest (overrides: ['${token}']).`,
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
