/**
 * Error classes of the SDK. Every error thrown or rejected by a `Vault` is a `VaultError`.
 * Messages name files, paths and rules; they never contain a secret value or key material.
 */

/** Base class of every error raised by the SDK (no vault, no identity, corrupt file, git…). */
export class VaultError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** No `.agent-vault/manifest.yaml` in the given directory or any parent (or in a cloned remote). */
export class VaultNotFoundError extends VaultError {}

/** The secret has no `.enc` file at its location (nor at the legacy one). */
export class SecretNotFoundError extends VaultError {}

/** The secret exists, but it is not encrypted to the identity in use. */
export class NotAuthorizedError extends VaultError {}

/** A secret path or a group name breaks the naming rules (SPEC 2.2); the message names the rule. */
export class InvalidIdentifierError extends VaultError {}
