/**
 * Streaming age decryption: feed ciphertext chunks of any size as they
 * arrive, get authenticated plaintext back. Memory stays bounded: the header
 * (≤ 1 MiB) while it is incomplete, then one 64 KiB chunk.
 *
 * @module
 */

import {
  type AgeHeader,
  HeaderScanner,
  openHeader,
  type OpenOptions,
  PAYLOAD_NONCE_SIZE,
} from "./age_header.ts";
import { StreamOpener } from "./age_stream.ts";
import { VaultError } from "./vault_error.ts";

/** Options of {@linkcode AgeDecryptor}: the same as `openHeader`'s. */
export type DecryptorOptions = OpenOptions;

/**
 * Decrypts one age file fed in chunks. `push()` returns only authenticated
 * plaintext; `finish()` proves the file complete. Any failure throws a
 * {@linkcode VaultError} and leaves the decryptor failed (every later call
 * throws the same error).
 *
 * @example Download loop
 * ```ts
 * const dec = new AgeDecryptor({ identities: await loadIdentities(path) });
 * for await (const chunk of dataChunks) {
 *   const plain = await dec.push(chunk); // chunk may be reused afterwards
 *   if (plain.length > 0) await writeAll(file, plain);
 * }
 * await writeAll(file, dec.finish()); // throws if truncated
 * ```
 */
export class AgeDecryptor {
  readonly #options: DecryptorOptions;
  readonly #scanner = new HeaderScanner();
  #pending = new Uint8Array(4096);
  #pendingLength = 0;
  #header: AgeHeader | null = null;
  #opener: StreamOpener | null = null;
  #failure: unknown = null;
  #busy = false;
  #finished = false;
  #cipherBytes = 0;
  #plainBytes = 0;

  /** `options` says how to open the header (identities, passphrase). */
  constructor(options: DecryptorOptions) {
    this.#options = options;
  }

  /** The opened header, once its bytes have arrived; else null. */
  get header(): AgeHeader | null {
    return this.#header;
  }

  /** Ciphertext bytes pushed so far. */
  get cipherBytes(): number {
    return this.#cipherBytes;
  }

  /** Plaintext bytes returned so far. */
  get plainBytes(): number {
    return this.#plainBytes;
  }

  /**
   * Feeds the next ciphertext bytes (not kept: the caller may reuse them)
   * and resolves to the plaintext they complete (a new array, possibly
   * empty). The header is opened, asynchronously, as soon as it is whole.
   * Throws {@linkcode VaultError}; `TypeError` after finishing or while a
   * previous push is pending.
   */
  async push(cipher: Uint8Array): Promise<Uint8Array> {
    this.#enter();
    try {
      this.#cipherBytes += cipher.length;
      const plain = this.#opener === null
        ? await this.#pushHeader(cipher)
        : this.#opener.push(cipher);
      this.#plainBytes += plain.length;
      return plain;
    } catch (error) {
      this.#failure = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Ends the file: checks and decrypts its final chunk and returns its
   * plaintext. Throws {@linkcode VaultError} ("truncated" if the file
   * stopped early, "chunk_auth" or "malformed_payload" if the final chunk is
   * bad).
   */
  finish(): Uint8Array {
    this.#enter();
    try {
      if (this.#opener === null) throw this.#endedEarly();
      const plain = this.#opener.finish();
      this.#plainBytes += plain.length;
      this.#finished = true;
      return plain;
    } catch (error) {
      this.#failure = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  #endedEarly(): VaultError {
    if (this.#cipherBytes === 0) {
      return VaultError.decrypting("not_age", "the file is empty");
    }
    return VaultError.decrypting(
      "truncated",
      this.#header === null
        ? "the file ends inside its age header"
        : "the file ends before its payload",
    );
  }

  #enter(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#finished) throw new TypeError("The file is already finished");
    if (this.#busy) {
      throw new TypeError("AgeDecryptor.push() is already running: await it");
    }
    this.#busy = true;
  }

  /** Buffers header (and nonce) bytes; opens the header once it is whole. */
  async #pushHeader(cipher: Uint8Array): Promise<Uint8Array> {
    this.#append(cipher);
    const buffered = this.#pending.subarray(0, this.#pendingLength);
    if (this.#header === null) {
      const end = this.#scanner.scan(buffered);
      if (end < 0) return new Uint8Array(0);
      this.#header = await openHeader(buffered.slice(0, end), this.#options);
    }
    const nonceEnd = this.#header.size + PAYLOAD_NONCE_SIZE;
    if (buffered.length < nonceEnd) return new Uint8Array(0);
    const opener = new StreamOpener(
      this.#header.payloadKey(buffered.subarray(this.#header.size, nonceEnd)),
    );
    const plain = opener.push(buffered.subarray(nonceEnd));
    this.#opener = opener;
    this.#pending = new Uint8Array(0);
    this.#pendingLength = 0;
    return plain;
  }

  #append(bytes: Uint8Array): void {
    // Bounded: the scanner throws once more than MAX_HEADER_SIZE bytes wait
    // for the header's end, so this holds at most that plus one push.
    const needed = this.#pendingLength + bytes.length;
    if (needed > this.#pending.length) {
      const grown = new Uint8Array(Math.max(needed, this.#pending.length * 2));
      grown.set(this.#pending.subarray(0, this.#pendingLength));
      this.#pending = grown;
    }
    this.#pending.set(bytes, this.#pendingLength);
    this.#pendingLength = needed;
  }
}
