/**
 * The X25519 identity of age (age-encryption.org/v1, "The X25519 recipient
 * type"), the decrypting half, on synchronous `node:crypto`.
 *
 * Why our own: the reference library's X25519 identity starts a WebCrypto
 * operation in its constructor that it awaits only when it meets an X25519
 * stanza, so a failed decryption left an operation running (Deno's op
 * sanitizer caught it). This one has no asynchronous step at all. The
 * library still parses the header and checks its MAC, and still wraps file
 * keys for X25519 recipients when encrypting; the interop tests pin both
 * against the `age` command.
 *
 * Stanza: `-> X25519 <base64 ephemeral share (32 bytes)>`, body (32 bytes) =
 * ChaCha20-Poly1305(key = HKDF-SHA256(ikm = X25519(identity, share),
 * salt = share ‖ recipient, info = "age-encryption.org/v1/X25519"),
 * nonce = 12 zero bytes, file key).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { base64nopad, bech32, hex } from "@scure/base";
import type { Identity, Stanza } from "age-encryption";

const PKCS8_PREFIX = hex.decode("302e020100300506032b656e04220420");
const SPKI_PREFIX = hex.decode("302a300506032b656e032100");
const LABEL = new TextEncoder().encode("age-encryption.org/v1/X25519");

/** Unwraps X25519 stanzas for one identity; an age library `Identity`. */
export class X25519Identity implements Identity {
  readonly #privateKey: KeyObject;
  readonly #recipient: Uint8Array;

  /**
   * `secret` is an `AGE-SECRET-KEY-1…` string. Throws `TypeError` (without
   * repeating it) when it is not one.
   */
  constructor(secret: string) {
    let scalar: Uint8Array;
    try {
      const decoded = bech32.decodeToBytes(secret);
      if (
        decoded.prefix.toLowerCase() !== "age-secret-key-" ||
        decoded.bytes.length !== 32
      ) {
        throw new Error("not an X25519 identity");
      }
      scalar = decoded.bytes;
    } catch {
      throw new TypeError("Invalid X25519 identity");
    }
    this.#privateKey = createPrivateKey({
      key: Buffer.from(join(PKCS8_PREFIX, scalar)),
      format: "der",
      type: "pkcs8",
    });
    scalar.fill(0);
    const spki = createPublicKey(this.#privateKey).export({
      format: "der",
      type: "spki",
    });
    this.#recipient = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  }

  /**
   * The file key from the first X25519 stanza this identity opens, or null.
   * Throws for a malformed X25519 stanza (as the age spec requires).
   */
  unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
    for (const stanza of stanzas) {
      const [type, shareText, ...extra] = stanza.args;
      if (type !== "X25519") continue;
      if (shareText === undefined || extra.length > 0) {
        throw new Error("invalid X25519 stanza");
      }
      const share = decodeShare(shareText);
      if (stanza.body.length !== 32) throw new Error("invalid X25519 stanza");
      let shared: Uint8Array;
      try {
        shared = diffieHellman({
          privateKey: this.#privateKey,
          publicKey: createPublicKey({
            key: Buffer.from(join(SPKI_PREFIX, share)),
            format: "der",
            type: "spki",
          }),
        });
      } catch {
        // OpenSSL refuses low-order points (an all-zero shared secret).
        throw new Error("invalid X25519 stanza: low-order share");
      }
      const key = new Uint8Array(
        hkdfSync("sha256", shared, join(share, this.#recipient), LABEL, 32),
      );
      const fileKey = unwrap(key, stanza.body);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }
}

function decodeShare(text: string): Uint8Array {
  let share: Uint8Array;
  try {
    share = base64nopad.decode(text);
  } catch {
    throw new Error("invalid X25519 stanza: bad base64");
  }
  if (share.length !== 32) throw new Error("invalid X25519 stanza");
  return share;
}

function unwrap(key: Uint8Array, body: Uint8Array): Uint8Array | null {
  const decipher = createDecipheriv(
    "chacha20-poly1305",
    key,
    new Uint8Array(12),
    {
      authTagLength: 16,
    },
  );
  decipher.setAuthTag(body.subarray(16));
  const fileKey = decipher.update(body.subarray(0, 16));
  try {
    decipher.final();
    return new Uint8Array(fileKey);
  } catch {
    return null;
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
