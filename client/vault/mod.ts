/**
 * The vault: end-to-end encryption of files in the standard age format
 * (age-encryption.org/v1), streaming, with a native fast payload path.
 *
 * Upload: `sealHeader` → `encryptedSize` (the PUT's declared size) →
 * `AgeEncryptor.pushInto`/`finishInto` per read. Download: `AgeDecryptor`
 * `.push` per received chunk, then `.finish`. Keys: `loadIdentities`,
 * `identityPath`; `fts key` lives in `client/cli/key_cli.ts`.
 *
 * @module
 */

export {
  AGE_MAGIC_SIZE,
  AgeHeader,
  headerStanzaTypes,
  openHeader,
  sealHeader,
  startsLikeAge,
} from "./age_header.ts";
export type { OpenOptions, SealOptions } from "./age_header.ts";
export {
  AgeIdentity,
  parseIdentityFile,
  validateRecipient,
} from "./age_keys.ts";
export { AgeDecryptor, decryptedSize } from "./decryptor.ts";
export type { DecryptorOptions } from "./decryptor.ts";
export { AgeEncryptor, encryptedSize } from "./encryptor.ts";
export {
  configDir,
  generateIdentity,
  identityPath,
  loadIdentities,
  saveIdentity,
} from "./identity.ts";
export { VaultError } from "./vault_error.ts";
export type { VaultErrorReason } from "./vault_error.ts";
