/**
 * The age passphrase recipient (age-encryption.org/v1, "The scrypt recipient
 * type"), written for `node:crypto` so it plugs into the reference library's
 * `Encrypter` as a custom `Recipient` and hands the file key back to us.
 *
 * Stanza: `-> scrypt <base64 salt (16 bytes)> <log2 N>`, body =
 * ChaCha20-Poly1305(key = scrypt(passphrase, "age-encryption.org/v1/scrypt"
 * ‖ salt, N, r = 8, p = 1, 32 bytes), nonce = 12 zero bytes, file key).
 * It must be the only stanza of its header. Decryption uses the library's
 * own scrypt identity, so both halves are checked against each other (and
 * against the `age` command in the tests).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createCipheriv, randomBytes, scrypt } from "node:crypto";
import { type Recipient, Stanza } from "age-encryption";
import { base64nopad } from "@scure/base";

/** Default scrypt work factor (log2 N), the same as the `age` command's. */
const DEFAULT_WORK_FACTOR = 18;
/** Lowest work factor accepted when encrypting. */
const MIN_WORK_FACTOR = 10;
/**
 * Highest work factor accepted when encrypting: the reference library
 * refuses to decrypt above 20.
 */
const MAX_WORK_FACTOR = 20;

const LABEL = new TextEncoder().encode("age-encryption.org/v1/scrypt");

/** Options of {@linkcode ScryptRecipient}. */
export interface ScryptRecipientOptions {
  /** log2 of scrypt's N, {@linkcode MIN_WORK_FACTOR}..{@linkcode MAX_WORK_FACTOR}; default {@linkcode DEFAULT_WORK_FACTOR}. */
  workFactor?: number;
}

/** Wraps a file key under a passphrase; an age library `Recipient`. */
export class ScryptRecipient implements Recipient {
  readonly #passphrase: Uint8Array;
  readonly #workFactor: number;
  readonly #onFileKey: (fileKey: Uint8Array) => void;

  /**
   * `onFileKey` receives a copy of each file key wrapped. Throws `TypeError`
   * for an empty passphrase, `RangeError` for a work factor out of range.
   */
  constructor(
    passphrase: string,
    onFileKey: (fileKey: Uint8Array) => void,
    options: ScryptRecipientOptions = {},
  ) {
    if (passphrase.length === 0) {
      throw new TypeError("The passphrase must not be empty");
    }
    const workFactor = options.workFactor ?? DEFAULT_WORK_FACTOR;
    if (
      !Number.isInteger(workFactor) || workFactor < MIN_WORK_FACTOR ||
      workFactor > MAX_WORK_FACTOR
    ) {
      throw new RangeError(
        `The scrypt work factor must be ${MIN_WORK_FACTOR}..${MAX_WORK_FACTOR}: ${workFactor}`,
      );
    }
    this.#passphrase = new TextEncoder().encode(passphrase);
    this.#workFactor = workFactor;
    this.#onFileKey = onFileKey;
  }

  /** Wraps `fileKey` in one scrypt stanza. */
  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    this.#onFileKey(fileKey.slice());
    const salt = randomBytes(16);
    const labelAndSalt = new Uint8Array(LABEL.length + salt.length);
    labelAndSalt.set(LABEL);
    labelAndSalt.set(salt, LABEL.length);
    const key = await scryptAsync(
      this.#passphrase,
      labelAndSalt,
      this.#workFactor,
    );
    const cipher = createCipheriv(
      "chacha20-poly1305",
      key,
      new Uint8Array(12),
      {
        authTagLength: 16,
      },
    );
    const body = Buffer.concat([
      cipher.update(fileKey),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    key.fill(0);
    return [
      new Stanza(
        ["scrypt", base64nopad.encode(salt), String(this.#workFactor)],
        new Uint8Array(body),
      ),
    ];
  }
}

function scryptAsync(
  password: Uint8Array,
  salt: Uint8Array,
  workFactor: number,
): Promise<Buffer> {
  const N = 2 ** workFactor;
  // scrypt needs 128 * N * r bytes; node's default cap (32 MiB) is too low.
  const maxmem = 128 * N * 8 + 16 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { N, r: 8, p: 1, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}
