/**
 * Slow salted password hashes with scrypt from `node:crypto`.
 *
 * A hash is stored as a self-describing string,
 * `scrypt$<log2 N>$<r>$<p>$<salt base64>$<key base64>`, with a 16-byte
 * random salt and a 32-byte key. Why scrypt rather than argon2id (npm
 * `hash-wasm`): measured here on Deno 2.9.6, node:crypto's asynchronous
 * scrypt runs off the main thread, while hash-wasm's argon2id blocks the
 * event loop for its whole run (50+ ms at OWASP's minimum settings), which
 * would stall every transfer of the server at each login. scrypt also needs
 * no dependency.
 *
 * Default cost: N = 2^15, r = 8, p = 1 (32 MiB of memory, about 110 ms per
 * hash on this machine). At most {@linkcode ScryptHasherOptions.maxConcurrent}
 * hashes run at once, which bounds the memory a flood of logins can take.
 *
 * @module
 */

import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { base64 } from "@scure/base";
import { Semaphore } from "../../common/semaphore.ts";

/** scrypt cost parameters. */
export interface ScryptParams {
  /** log2 of the CPU/memory cost N, 10–20. */
  readonly logN: number;
  /** Block size r, 1–32. */
  readonly r: number;
  /** Parallelisation p, 1–16. */
  readonly p: number;
}

/** The cost used for new hashes unless told otherwise. */
const DEFAULT_SCRYPT_PARAMS: ScryptParams = { logN: 15, r: 8, p: 1 };

/** Longest password accepted, in UTF-8 bytes. */
export const MAX_PASSWORD_BYTES = 1024;

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const PREFIX = "scrypt";
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const encoder = new TextEncoder();

/** Makes and checks password hashes. */
export interface PasswordHasher {
  /** Hashes `password` with a fresh random salt. */
  hash(password: string): Promise<string>;
  /** Tells whether `password` matches `stored`, in constant time. */
  verify(password: string, stored: string): Promise<boolean>;
  /**
   * A well-formed hash at the current cost that matches no password, to
   * verify against when the user is unknown so that both cases cost the same.
   */
  dummy(): string;
}

/** Options of {@linkcode ScryptHasher}. */
export interface ScryptHasherOptions {
  /** Cost of new hashes; default {@linkcode DEFAULT_SCRYPT_PARAMS}. */
  params?: ScryptParams;
  /**
   * Hashes computed at the same time; more wait their turn. Default: the
   * number of CPUs, at most 4.
   */
  maxConcurrent?: number;
}

/**
 * The scrypt {@linkcode PasswordHasher}.
 *
 * @example
 * ```ts
 * const hasher = new ScryptHasher();
 * const stored = await hasher.hash("correct horse");
 * await hasher.verify("correct horse", stored); // true
 * ```
 */
export class ScryptHasher implements PasswordHasher {
  readonly params: ScryptParams;
  readonly #dummy: string;
  readonly #permits: Semaphore;

  constructor(options: ScryptHasherOptions = {}) {
    this.params = options.params ?? DEFAULT_SCRYPT_PARAMS;
    checkParams(this.params);
    const cpus = typeof navigator === "undefined"
      ? 1
      : navigator.hardwareConcurrency;
    const maxConcurrent = options.maxConcurrent ??
      Math.max(1, Math.min(4, cpus));
    if (!Number.isInteger(maxConcurrent) || maxConcurrent < 1) {
      throw new RangeError("maxConcurrent must be a positive integer");
    }
    this.#permits = new Semaphore(maxConcurrent);
    this.#dummy = formatHash(
      this.params,
      randomBytes(SALT_BYTES),
      randomBytes(KEY_BYTES),
    );
  }

  /**
   * Hashes `password` (normalised to NFC).
   *
   * @throws {RangeError} for an empty password or one longer than
   * {@linkcode MAX_PASSWORD_BYTES}.
   */
  async hash(password: string): Promise<string> {
    const bytes = passwordBytes(password);
    if (bytes.byteLength === 0) {
      throw new RangeError("Password must not be empty");
    }
    if (bytes.byteLength > MAX_PASSWORD_BYTES) {
      throw new RangeError(
        `Password must not be longer than ${MAX_PASSWORD_BYTES} bytes`,
      );
    }
    const salt = randomBytes(SALT_BYTES);
    const key = await this.#derive(bytes, salt, this.params, KEY_BYTES);
    return formatHash(this.params, salt, key);
  }

  /**
   * Tells whether `password` matches `stored`. The key is always derived,
   * whatever the password, and compared with `timingSafeEqual`.
   *
   * @throws {RangeError} if `stored` is not a hash this module wrote (the
   * message never quotes it).
   */
  async verify(password: string, stored: string): Promise<boolean> {
    const { params, salt, key } = parseHash(stored);
    const bytes = passwordBytes(password);
    // Derive even for an over-long password, so that it costs the same.
    const input = bytes.subarray(0, MAX_PASSWORD_BYTES);
    const derived = await this.#derive(input, salt, params, key.byteLength);
    const equal = timingSafeEqual(derived, key);
    return equal && bytes.byteLength > 0 &&
      bytes.byteLength <= MAX_PASSWORD_BYTES;
  }

  dummy(): string {
    return this.#dummy;
  }

  /** Tells whether `stored` uses a different cost than new hashes would. */
  needsRehash(stored: string): boolean {
    const { params } = parseHash(stored);
    return params.logN !== this.params.logN || params.r !== this.params.r ||
      params.p !== this.params.p;
  }

  async #derive(
    password: Uint8Array,
    salt: Uint8Array,
    params: ScryptParams,
    length: number,
  ): Promise<Uint8Array> {
    using _permit = await this.#permits.acquire();
    return await scryptAsync(password, salt, params, length);
  }
}

/**
 * Checks that `stored` is a well-formed hash string with cost parameters in
 * range, without computing anything.
 *
 * @throws {RangeError} otherwise; the message never quotes `stored`.
 */
export function checkHashFormat(stored: string): void {
  parseHash(stored);
}

function scryptAsync(
  password: Uint8Array,
  salt: Uint8Array,
  params: ScryptParams,
  length: number,
): Promise<Uint8Array> {
  const N = 2 ** params.logN;
  // scrypt needs 128·N·r bytes for V plus 128·r·p for B; allow twice that.
  const maxmem = 2 * 128 * params.r * (N + params.p) + 1024 * 1024;
  return new Promise((resolve, reject) => {
    scrypt(
      password,
      salt,
      length,
      { N, r: params.r, p: params.p, maxmem },
      (error, key) => {
        if (error) reject(new Error("Password hashing failed"));
        else resolve(new Uint8Array(key.buffer, key.byteOffset, key.length));
      },
    );
  });
}

function passwordBytes(password: string): Uint8Array {
  return encoder.encode(password.normalize("NFC"));
}

function formatHash(
  params: ScryptParams,
  salt: Uint8Array,
  key: Uint8Array,
): string {
  return [
    PREFIX,
    params.logN,
    params.r,
    params.p,
    base64.encode(salt),
    base64.encode(key),
  ].join("$");
}

interface ParsedHash {
  params: ScryptParams;
  salt: Uint8Array;
  key: Uint8Array;
}

function parseHash(stored: string): ParsedHash {
  const parts = typeof stored === "string" ? stored.split("$") : [];
  const [prefix, logN, r, p, salt, key] = parts;
  if (
    parts.length !== 6 || prefix !== PREFIX || salt === undefined ||
    key === undefined || !B64.test(salt) || !B64.test(key)
  ) {
    throw new RangeError("Password hash is not in the scrypt$… format");
  }
  const params = { logN: Number(logN), r: Number(r), p: Number(p) };
  checkParams(params);
  let saltBytes: Uint8Array;
  let keyBytes: Uint8Array;
  try {
    saltBytes = base64.decode(salt);
    keyBytes = base64.decode(key);
  } catch {
    throw new RangeError("Password hash is not in the scrypt$… format");
  }
  if (saltBytes.byteLength < SALT_BYTES || keyBytes.byteLength < 16) {
    throw new RangeError("Password hash has a short salt or key");
  }
  return { params, salt: saltBytes, key: keyBytes };
}

function checkParams(params: ScryptParams): void {
  const inRange = (v: number, lo: number, hi: number) =>
    Number.isInteger(v) && v >= lo && v <= hi;
  if (
    !inRange(params.logN, 10, 20) || !inRange(params.r, 1, 32) ||
    !inRange(params.p, 1, 16)
  ) {
    throw new RangeError("Password hash cost parameters are out of range");
  }
}
