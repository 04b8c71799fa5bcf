export { Vault, type VaultOptions, type SecretInfo, type AgentInfo } from "./vault.js";
export {
  VaultError,
  VaultNotFoundError,
  SecretNotFoundError,
  NotAuthorizedError,
  InvalidIdentifierError,
} from "./errors.js";
export { validateSecretPath, validateName } from "./names.js";
