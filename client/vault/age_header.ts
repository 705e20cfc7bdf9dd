/**
 * The age header (age-encryption.org/v1, "Header"): recipient stanzas and
 * the header MAC, built and checked by the reference `age-encryption`
 * library through its public API.
 *
 * - Sealing: the library's `Encrypter` wraps a fresh file key for every
 *   recipient and writes the header and its MAC; a capturing `Recipient`
 *   (or our {@linkcode ScryptRecipient}) hands us the file key. We keep the
 *   header bytes and drop the library's (empty) payload.
 * - Opening: the library's `Decrypter.decryptHeader()` parses the header,
 *   unwraps the file key with the given passphrase (its scrypt identity) or
 *   identities (our synchronous {@linkcode X25519Identity}, see why there;
 *   the library's for post-quantum ones), and checks the MAC.
 *
 * The header is a few hundred bytes, so the library's pure-JS speed does not
 * matter here; the bulk payload goes through `age_stream.ts` instead.
 *
 * @module
 */

import { createSecretKey, hkdfSync, type KeyObject } from "node:crypto";
import { Decrypter, Encrypter } from "age-encryption";
import type { AgeIdentity } from "./age_keys.ts";
import { validateRecipient } from "./age_keys.ts";
import { ScryptRecipient } from "./scrypt_recipient.ts";
import { X25519Identity } from "./x25519_identity.ts";
import { VaultError } from "./vault_error.ts";
import { AGE_MAGIC } from "../../common/age_magic.ts";
import { IdentityWalk, type WalkOutcome } from "./identity_walk.ts";

/** Bytes of the random nonce between the header and the payload. */
export const PAYLOAD_NONCE_SIZE = 16;
/**
 * Largest header accepted when decrypting (1 MiB): far above any real one
 * (an X25519 stanza takes about 120 bytes), it bounds what a hostile file
 * makes us buffer.
 */
export const MAX_HEADER_SIZE = 1024 * 1024;

const ARMOR_START = new TextEncoder().encode("-----BEGIN AGE ENCRYPTED FILE");
const NEWLINE = 0x0a;
const DASH = 0x2d;
const PAYLOAD_LABEL = new TextEncoder().encode("payload");

/**
 * A sealed or opened age header: its exact bytes, and the file key kept
 * private. Made by {@linkcode sealHeader} (to encrypt one file) or
 * {@linkcode openHeader} (to decrypt one).
 */
export class AgeHeader {
  /** The header bytes, from the version line through the MAC line. */
  readonly bytes: Uint8Array;
  readonly #fileKey: Uint8Array;
  #canEncrypt: boolean;

  /** Use {@linkcode sealHeader} or {@linkcode openHeader} instead. */
  constructor(bytes: Uint8Array, fileKey: Uint8Array, canEncrypt: boolean) {
    this.bytes = bytes;
    this.#fileKey = fileKey;
    this.#canEncrypt = canEncrypt;
  }

  /** Length of {@linkcode AgeHeader.bytes}. */
  get size(): number {
    return this.bytes.length;
  }

  /**
   * The payload key, HKDF-SHA256(ikm = file key, salt = `nonce`,
   * info = "payload"), for `age_stream.ts`.
   */
  payloadKey(nonce: Uint8Array): KeyObject {
    if (nonce.length !== PAYLOAD_NONCE_SIZE) {
      throw new RangeError(
        `The payload nonce must be ${PAYLOAD_NONCE_SIZE} bytes`,
      );
    }
    return createSecretKey(
      new Uint8Array(
        hkdfSync("sha256", this.#fileKey, nonce, PAYLOAD_LABEL, 32),
      ),
    );
  }

  /**
   * Marks the header as used to encrypt. A file key must encrypt one file
   * only, so this throws `TypeError` the second time, and for a header that
   * was opened rather than sealed.
   */
  claimForEncryption(): void {
    if (!this.#canEncrypt) {
      throw new TypeError(
        "This age header was already used, or was opened to decrypt: seal a new one",
      );
    }
    this.#canEncrypt = false;
  }

  /**
   * A copy of the file key, for a client that keeps an unfinished
   * encrypted upload resumable (client/engine/sealed_resume.ts) and seals
   * the same plaintext again with it, never another.
   */
  exportFileKey(): Uint8Array {
    return this.#fileKey.slice();
  }

  /** Never shows the file key. */
  [Symbol.for("Deno.customInspect")](): string {
    return `AgeHeader(${this.bytes.length} bytes)`;
  }
}

/** Options of {@linkcode sealHeader}: recipients, or else a passphrase. */
export interface SealOptions {
  /** Public recipients (`age1…`), e.g. the user's own `AgeIdentity.recipient`. */
  recipients?: readonly string[];
  /** A passphrase instead of recipients (age allows no mix of the two). */
  passphrase?: string;
  /** scrypt work factor for the passphrase, 10..20; default 18 (as `age`). */
  scryptWorkFactor?: number;
}

/**
 * Makes the header of a new file: a fresh random file key wrapped for every
 * recipient, or for the passphrase. Throws `TypeError` when neither or both
 * are given, {@linkcode VaultError} for an invalid recipient.
 *
 * @example
 * ```ts
 * const header = await sealHeader({ recipients: [identity.recipient] });
 * const size = encryptedSize(file.size, header);
 * ```
 */
export async function sealHeader(options: SealOptions): Promise<AgeHeader> {
  const recipients = options.recipients ?? [];
  const hasPassphrase = options.passphrase !== undefined;
  if (hasPassphrase === (recipients.length > 0)) {
    throw new TypeError(
      "Encrypt to one or more recipients or to a passphrase (not both)",
    );
  }
  let fileKey: Uint8Array | undefined;
  const capture = (key: Uint8Array) => {
    fileKey = key;
  };
  const encrypter = new Encrypter();
  if (options.passphrase !== undefined) {
    const workFactor = options.scryptWorkFactor;
    encrypter.addRecipient(
      new ScryptRecipient(
        options.passphrase,
        capture,
        workFactor === undefined ? {} : { workFactor },
      ),
    );
  } else {
    encrypter.addRecipient({
      wrapFileKey(key: Uint8Array) {
        capture(key.slice());
        return [];
      },
    });
    for (const recipient of recipients) {
      encrypter.addRecipient(validateRecipient(recipient));
    }
  }
  // The library encrypts the empty file: header ‖ 16-byte nonce ‖ 16-byte
  // tag of the empty final chunk. Only the header is kept.
  const whole = await encrypter.encrypt(new Uint8Array(0));
  const headerSize = whole.length - PAYLOAD_NONCE_SIZE - 16;
  if (fileKey === undefined || findHeaderEnd(whole) !== headerSize) {
    throw new Error("The age library returned an unexpected header layout");
  }
  return new AgeHeader(whole.slice(0, headerSize), fileKey, true);
}

/** Options of {@linkcode openHeader}. */
export interface OpenOptions {
  /** Identities to try (the user's own, from `identity.txt`). */
  identities?: readonly AgeIdentity[];
  /**
   * Asked for the passphrase only when the header is passphrase-encrypted
   * (a scrypt stanza), so identity files never prompt.
   */
  passphrase?: () => string | Promise<string>;
}

/**
 * Opens a header (`bytes` exactly as {@linkcode HeaderScanner} delimits it):
 * unwraps the file key and verifies the MAC. Throws {@linkcode VaultError}:
 * "no_identity" when no identity or passphrase opens it (wrong key),
 * "header_mac" when the header was modified, "malformed_header" when it
 * does not parse.
 */
export async function openHeader(
  bytes: Uint8Array,
  options: OpenOptions,
): Promise<AgeHeader> {
  const types = headerStanzaTypes(bytes);
  const decrypter = new Decrypter();
  const walk = new IdentityWalk();
  walk.begin(decrypter);
  const identities = options.identities ?? [];
  for (const identity of identities) {
    const secret = identity.exportSecret();
    decrypter.addIdentity(
      secret.startsWith("AGE-SECRET-KEY-1")
        ? walk.watch(new X25519Identity(secret))
        : secret,
    );
  }
  const scrypt = types.includes("scrypt");
  if (scrypt && options.passphrase !== undefined) {
    decrypter.addPassphrase(await options.passphrase());
  } else if (identities.length === 0 || scrypt) {
    throw VaultError.decrypting(
      "no_identity",
      scrypt
        ? "the file is passphrase-encrypted and no passphrase was given"
        : "it is encrypted to an age key and no identity was given",
      { passphrase: scrypt },
    );
  }
  walk.end(decrypter);
  let fileKey: Uint8Array;
  try {
    fileKey = await decrypter.decryptHeader(bytes);
  } catch (error) {
    throw libraryError(error, walk.outcome, scrypt);
  }
  return new AgeHeader(bytes, fileKey, false);
}

/**
 * The library's failure by where its walk stopped. A library identity (the
 * passphrase's) that ends the walk found the key and the MAC failed, or
 * found its stanza invalid: either way the header was modified or damaged.
 */
function libraryError(
  error: unknown,
  outcome: WalkOutcome,
  scrypt: boolean,
): VaultError {
  const message = error instanceof Error ? error.message : String(error);
  if (outcome === "no_match") {
    return VaultError.decrypting(
      "no_identity",
      scrypt
        ? "wrong passphrase"
        : "the file is not encrypted to any of your identities",
      { cause: error, passphrase: scrypt },
    );
  }
  if (outcome === "key_found" || outcome === "stopped") {
    return VaultError.decrypting(
      "header_mac",
      "the age header failed authentication (modified or damaged)",
      { cause: error },
    );
  }
  return VaultError.decrypting(
    "malformed_header",
    `invalid age header (${message})`,
    { cause: error },
  );
}

/**
 * Finds where the header at the start of a growing buffer ends, scanning
 * each byte once however the bytes arrive.
 *
 * @example
 * ```ts
 * const scanner = new HeaderScanner();
 * const end = scanner.scan(buffered); // -1: need more bytes
 * ```
 */
export class HeaderScanner {
  #lineStart = 0;
  #scanned = 0;

  /**
   * Returns the header length (the byte after the MAC line's newline), or
   * -1 if `buf` holds only part of it. Between calls `buf` may only grow
   * (same leading bytes). Throws {@linkcode VaultError}: "not_age" when
   * `buf` does not start like an age file, "unsupported" for ASCII-armored
   * age, "malformed_header" when the header exceeds
   * {@linkcode MAX_HEADER_SIZE}.
   */
  scan(buf: Uint8Array): number {
    checkVersion(buf);
    // The header ends with the first line that starts with "---": stanza
    // lines start with "->", body lines are base64 (no "-").
    for (;;) {
      const newline = buf.indexOf(NEWLINE, this.#scanned);
      if (newline < 0) {
        this.#scanned = buf.length;
        break;
      }
      const start = this.#lineStart;
      if (
        start > 0 && newline - start >= 3 && buf[start] === DASH &&
        buf[start + 1] === DASH && buf[start + 2] === DASH
      ) {
        if (newline + 1 > MAX_HEADER_SIZE) break;
        return newline + 1;
      }
      this.#lineStart = this.#scanned = newline + 1;
    }
    if (buf.length > MAX_HEADER_SIZE) {
      throw VaultError.decrypting(
        "malformed_header",
        `the age header is larger than ${MAX_HEADER_SIZE} bytes`,
      );
    }
    return -1;
  }
}

/**
 * The length of the header at the start of `buf`, or -1 if `buf` holds only
 * part of it. Throws like {@linkcode HeaderScanner.scan}.
 */
function findHeaderEnd(buf: Uint8Array): number {
  return new HeaderScanner().scan(buf);
}

function checkVersion(buf: Uint8Array): void {
  const prefix = AGE_MAGIC.subarray(
    0,
    Math.min(buf.length, AGE_MAGIC.length),
  );
  if (startsWith(buf, prefix)) return;
  const armor = ARMOR_START.subarray(
    0,
    Math.min(buf.length, ARMOR_START.length),
  );
  if (startsWith(buf, armor)) {
    throw VaultError.decrypting(
      "unsupported",
      "ASCII-armored age files are not supported (use age -d)",
    );
  }
  throw VaultError.decrypting(
    "not_age",
    "the file is not age-encrypted",
  );
}

/**
 * The recipient types of a header's stanzas (`"X25519"`, `"scrypt"`, …), in
 * order. Useful to tell a passphrase file from an identity file.
 */
function headerStanzaTypes(header: Uint8Array): string[] {
  const text = new TextDecoder().decode(header);
  const types: string[] = [];
  for (const line of text.split("\n")) {
    if (line.startsWith("-> ")) types.push(line.slice(3).split(" ")[0] ?? "");
  }
  return types;
}

function startsWith(buf: Uint8Array, prefix: Uint8Array): boolean {
  if (buf.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (buf[i] !== prefix[i]) return false;
  }
  return true;
}
