/**
 * The one error type of the vault (end-to-end encryption in the age format).
 *
 * Codes, decided once for every vault failure:
 * - `"checksum_mismatch"`: the bytes are not what was encrypted. The header
 *   MAC does not verify (`header_mac`), a payload chunk fails authentication
 *   (`chunk_auth`: modified, reordered or swapped chunks, or a file cut inside
 *   a chunk), the file ends early (`truncated`), bytes follow a full final
 *   chunk (`trailing_data`), or the final chunk is empty after others
 *   (`malformed_payload`). Nothing unauthenticated is ever returned.
 * - `"bad_request"`: the input cannot be decrypted as asked. It is not an age
 *   file (`not_age`), it is ASCII-armored (`unsupported`), its header is
 *   malformed or too large (`malformed_header`), or no given identity or
 *   passphrase opens it (`no_identity`: a wrong key or passphrase lands here;
 *   age cannot tell "wrong key" from "modified stanza", and neither can we).
 *   Also an invalid identity, identity file or recipient (`invalid_key`).
 *
 * {@linkcode VaultError.reason} tells the cases apart for the UI (for example
 * to suggest `--raw` for a file that is not encrypted, or another identity).
 * Messages never contain key material or passphrases.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";

/** Why a vault operation failed; see the module doc for the code of each. */
export type VaultErrorReason =
  | "not_age"
  | "unsupported"
  | "invalid_key"
  | "malformed_header"
  | "no_identity"
  | "header_mac"
  | "chunk_auth"
  | "truncated"
  | "trailing_data"
  | "malformed_payload";

const INTEGRITY_REASONS: ReadonlySet<VaultErrorReason> = new Set([
  "header_mac",
  "chunk_auth",
  "truncated",
  "trailing_data",
  "malformed_payload",
]);

/**
 * A file could not be encrypted or decrypted.
 *
 * @example
 * ```ts
 * try {
 *   await decryptor.push(chunk);
 * } catch (error) {
 *   if (error instanceof VaultError && error.reason === "no_identity") {
 *     // suggest another identity or the passphrase
 *   }
 *   throw error;
 * }
 * ```
 */
export class VaultError extends FtsError {
  /** The precise failure; the `code` groups it (see the module doc). */
  readonly reason: VaultErrorReason;
  /** True when the file was passphrase-encrypted (an age scrypt stanza). */
  readonly passphrase: boolean;
  /**
   * What went wrong without the action, e.g. `wrong passphrase` for the
   * message `Cannot decrypt: wrong passphrase`, for a caller that names
   * the action itself.
   */
  readonly detail: string;
  constructor(
    reason: VaultErrorReason,
    message: string,
    options?: ErrorOptions & { passphrase?: boolean; detail?: string },
  ) {
    super(
      INTEGRITY_REASONS.has(reason) ? "checksum_mismatch" : "bad_request",
      message,
      options,
    );
    this.name = "VaultError";
    this.reason = reason;
    this.passphrase = options?.passphrase ?? false;
    this.detail = options?.detail ?? message;
  }

  /**
   * A decryption failure: the message is `Cannot decrypt: DETAIL`.
   *
   * @example
   * ```ts
   * VaultError.decrypting("no_identity", "wrong passphrase").message;
   * // "Cannot decrypt: wrong passphrase"
   * ```
   */
  static decrypting(
    reason: VaultErrorReason,
    detail: string,
    options?: ErrorOptions & { passphrase?: boolean },
  ): VaultError {
    return new VaultError(reason, `Cannot decrypt: ${detail}`, {
      ...options,
      detail,
    });
  }
}
