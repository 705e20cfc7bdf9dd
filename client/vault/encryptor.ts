/**
 * Streaming age encryption: header ‖ 16-byte nonce ‖ STREAM payload, with
 * the exact ciphertext size known before the first byte, for uploads that
 * declare their size.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import {
  type AgeHeader,
  PAYLOAD_NONCE_SIZE,
  sealHeader,
  type SealOptions,
} from "./age_header.ts";
import {
  CHUNK_SIZE,
  SEALED_CHUNK_SIZE,
  sealedPayloadSize,
  StreamSealer,
} from "./age_stream.ts";

/**
 * The exact size of the age file that encrypts `plainSize` bytes under
 * `header`: header ‖ nonce ‖ payload (16 bytes of tag per 64 KiB chunk, at
 * least one chunk). Throws `RangeError` for a negative or fractional size.
 *
 * @example
 * ```ts
 * const header = await sealHeader({ recipients: [me.recipient] });
 * encryptedSize(0, header); // header.size + 32
 * ```
 */
export function encryptedSize(plainSize: number, header: AgeHeader): number {
  return header.size + PAYLOAD_NONCE_SIZE + sealedPayloadSize(plainSize);
}

/**
 * Encrypts one file, chunk by chunk, holding at most 64 KiB of plaintext.
 * Input chunks may have any size; `push…()` returns what can be sealed now
 * (the first output starts with the header), `finish…()` the rest. The
 * outputs, joined, form a standard age file of exactly
 * {@linkcode encryptedSize} bytes.
 *
 * @example Upload loop (1 MiB reads, ciphertext straight into the frame)
 * ```ts
 * const header = await sealHeader({ recipients: [me.recipient] });
 * const declared = encryptedSize(stat.size, header);
 * const enc = new AgeEncryptor(header);
 * const frame = new Uint8Array(DATA_PREFIX + enc.maxPushSize(CHUNK));
 * for (;;) {
 *   const n = await file.read(plain); // plain: reusable 1 MiB buffer
 *   const out = frame.subarray(DATA_PREFIX);
 *   const len = n === null ? enc.finishInto(out) : enc.pushInto(plain.subarray(0, n), out);
 *   if (len > 0) await send(frame.subarray(0, DATA_PREFIX + len));
 *   if (n === null) break;
 * }
 * ```
 */
export class AgeEncryptor {
  /** The header this file is encrypted under (sent first). */
  readonly header: AgeHeader;
  /** The payload nonce (sent after the header). */
  readonly nonce: Uint8Array;
  #prefix: Uint8Array | null;
  readonly #sealer: StreamSealer;
  #plainBytes = 0;
  #cipherBytes = 0;

  /**
   * Starts a file under `header`, fresh from {@linkcode sealHeader}. Throws
   * `TypeError` if the header already encrypted a file or was opened.
   */
  constructor(header: AgeHeader, options: { nonce?: Uint8Array } = {}) {
    header.claimForEncryption();
    this.header = header;
    // A nonce is given only to seal the same plaintext again, byte for
    // byte, under the same file key (a resumed upload).
    const nonce = options.nonce ?? randomBytes(PAYLOAD_NONCE_SIZE);
    if (nonce.length !== PAYLOAD_NONCE_SIZE) {
      throw new RangeError(
        `The payload nonce must be ${PAYLOAD_NONCE_SIZE} bytes`,
      );
    }
    this.nonce = nonce;
    const prefix = new Uint8Array(header.size + PAYLOAD_NONCE_SIZE);
    prefix.set(header.bytes);
    prefix.set(nonce, header.size);
    this.#prefix = prefix;
    this.#sealer = new StreamSealer(header.payloadKey(nonce));
  }

  /** Seals a new header with `options` and starts a file under it. */
  static async create(options: SealOptions): Promise<AgeEncryptor> {
    return new AgeEncryptor(await sealHeader(options));
  }

  /** Plaintext bytes pushed so far. */
  get plainBytes(): number {
    return this.#plainBytes;
  }

  /** Ciphertext bytes returned so far. */
  get cipherBytes(): number {
    return this.#cipherBytes;
  }

  /** Exact bytes the next `pushInto` of `plainLength` bytes writes. */
  pushSize(plainLength: number): number {
    return this.#prefixSize() + this.#sealer.pushSize(plainLength);
  }

  /**
   * An upper bound of what any `pushInto` of up to `plainLength` bytes, or
   * `finishInto`, writes: size output buffers with it once.
   */
  maxPushSize(plainLength: number): number {
    // A push may release the 64 KiB chunk held back by the previous one.
    const chunks = Math.max(1, Math.ceil(plainLength / CHUNK_SIZE));
    return this.header.size + PAYLOAD_NONCE_SIZE + chunks * SEALED_CHUNK_SIZE;
  }

  /** Exact bytes `finishInto` writes now. */
  finishSize(): number {
    return this.#prefixSize() + this.#sealer.finishSize();
  }

  /**
   * Encrypts `plain` into `out` (which must hold {@linkcode pushSize}
   * bytes); returns the bytes written, possibly 0. `plain` is not kept: the
   * caller may reuse it. Throws `RangeError` if `out` is too small,
   * `TypeError` after finishing.
   */
  pushInto(plain: Uint8Array, out: Uint8Array): number {
    const need = this.pushSize(plain.length);
    if (out.length < need) {
      throw new RangeError(`Output of ${out.length} bytes < ${need} needed`);
    }
    if (this.#sealer.finished) {
      throw new TypeError("The file is already finished");
    }
    const at = this.#writePrefix(out);
    const written = at + this.#sealer.pushInto(plain, out.subarray(at));
    this.#plainBytes += plain.length;
    this.#cipherBytes += written;
    return written;
  }

  /** Like {@linkcode pushInto}, into a new array. */
  push(plain: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.pushSize(plain.length));
    this.pushInto(plain, out);
    return out;
  }

  /**
   * Writes the final chunk (and the header, for an empty file) into `out`,
   * which must hold {@linkcode finishSize} bytes; returns the bytes written.
   * Throws `TypeError` if called twice.
   */
  finishInto(out: Uint8Array): number {
    const need = this.finishSize();
    if (out.length < need) {
      throw new RangeError(`Output of ${out.length} bytes < ${need} needed`);
    }
    if (this.#sealer.finished) {
      throw new TypeError("The file is already finished");
    }
    const at = this.#writePrefix(out);
    const written = at + this.#sealer.finishInto(out.subarray(at));
    this.#cipherBytes += written;
    return written;
  }

  /** Like {@linkcode finishInto}, into a new array. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.finishSize());
    this.finishInto(out);
    return out;
  }

  #prefixSize(): number {
    return this.#prefix === null ? 0 : this.#prefix.length;
  }

  #writePrefix(out: Uint8Array): number {
    const prefix = this.#prefix;
    if (prefix === null) return 0;
    out.set(prefix);
    this.#prefix = null;
    return prefix.length;
  }
}
