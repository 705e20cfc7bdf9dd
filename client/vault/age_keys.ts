/**
 * age keys: X25519 identities (`AGE-SECRET-KEY-1…`) and recipients (`age1…`),
 * parsed, generated and converted by the reference `age-encryption` library.
 *
 * An {@linkcode AgeIdentity} keeps its secret in a private field and prints
 * as its public recipient only, so it cannot leak through logs, `console.log`
 * or `JSON.stringify` by accident.
 *
 * @module
 */

import {
  Encrypter,
  generateX25519Identity,
  identityToRecipient,
} from "age-encryption";
import { VaultError } from "./vault_error.ts";

const IDENTITY_PREFIXES = ["AGE-SECRET-KEY-1", "AGE-SECRET-KEY-PQ-1"] as const;

/** A secret age identity and the public recipient that goes with it. */
export class AgeIdentity {
  /** The public recipient (`age1…`) that encrypts to this identity. */
  readonly recipient: string;
  readonly #secret: string;

  private constructor(secret: string, recipient: string) {
    this.#secret = secret;
    this.recipient = recipient;
  }

  /** Generates a new random X25519 identity. */
  static async generate(): Promise<AgeIdentity> {
    const secret = await generateX25519Identity();
    return new AgeIdentity(secret, await identityToRecipient(secret));
  }

  /**
   * Parses one identity string (`AGE-SECRET-KEY-1…`, or a post-quantum
   * `AGE-SECRET-KEY-PQ-1…`). Throws {@linkcode VaultError} ("invalid_key")
   * that neither repeats the input nor chains the library's error (whose
   * message can quote it).
   */
  static async parse(secret: string): Promise<AgeIdentity> {
    const trimmed = secret.trim();
    if (!IDENTITY_PREFIXES.some((prefix) => trimmed.startsWith(prefix))) {
      throw new VaultError(
        "invalid_key",
        "Invalid identity: expected a key starting with AGE-SECRET-KEY-1",
      );
    }
    try {
      return new AgeIdentity(trimmed, await identityToRecipient(trimmed));
    } catch {
      throw new VaultError(
        "invalid_key",
        "Invalid identity: bad AGE-SECRET-KEY encoding or checksum",
      );
    }
  }

  /**
   * The secret key string. Only for writing the identity file and unlocking
   * headers; never print it.
   */
  exportSecret(): string {
    return this.#secret;
  }

  /** `AgeIdentity(age1…)`: the public part only. */
  toString(): string {
    return `AgeIdentity(${this.recipient})`;
  }

  /** The public part only. */
  toJSON(): { recipient: string } {
    return { recipient: this.recipient };
  }

  /** Deno's `console.log` shows the public part only. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * Parses an identity file in age-keygen's format: one identity per line,
 * blank lines and `#` comments ignored. Throws {@linkcode VaultError} naming
 * the bad line's number (never its content), or when the file has no
 * identity; `source` names the file in those messages.
 */
export async function parseIdentityFile(
  text: string,
  source = "the identity file",
): Promise<AgeIdentity[]> {
  const identities: AgeIdentity[] = [];
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    try {
      identities.push(await AgeIdentity.parse(line));
    } catch (error) {
      throw new VaultError(
        "invalid_key",
        `Invalid identity on line ${index + 1} of ${source}`,
        { cause: error },
      );
    }
  }
  if (identities.length === 0) {
    throw new VaultError("invalid_key", `No identity in ${source}`);
  }
  return identities;
}

/**
 * Checks a recipient string (`age1…`, also `age1pq1…`, `age1tag1…`) and
 * returns it trimmed. Throws {@linkcode VaultError} ("invalid_key") quoting
 * it (recipients are public).
 */
export function validateRecipient(recipient: string): string {
  const trimmed = recipient.trim();
  try {
    new Encrypter().addRecipient(trimmed);
  } catch (error) {
    throw new VaultError(
      "invalid_key",
      `Invalid recipient ${JSON.stringify(trimmed)}: expected an age1… key`,
      { cause: error },
    );
  }
  return trimmed;
}

/**
 * The identity file text for `identity`, in age-keygen's format (so the
 * `age` command reads it with `-i`).
 */
export function formatIdentityFile(
  identity: AgeIdentity,
  created: Date,
): string {
  const stamp = created.toISOString().replace(/\.\d{3}Z$/, "Z");
  return `# created: ${stamp}\n# public key: ${identity.recipient}\n${identity.exportSecret()}\n`;
}
