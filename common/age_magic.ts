/**
 * The first line of every binary age file (age-encryption.org/v1): how the
 * client's download and the server's listings tell an encrypted file from
 * any other, by its content rather than its name.
 *
 * @module
 */

/** The age version line `age-encryption.org/v1\n`, as bytes. */
export const AGE_MAGIC: Uint8Array = new TextEncoder().encode(
  "age-encryption.org/v1\n",
);

/**
 * Whether `head` (a file's first bytes, at least `AGE_MAGIC.length` of them
 * to say yes) starts with {@linkcode AGE_MAGIC}.
 *
 * @example
 * ```ts
 * startsLikeAge(new TextEncoder().encode("age-encryption.org/v1\n-> X25519 …")); // true
 * ```
 */
export function startsLikeAge(head: Uint8Array): boolean {
  return head.length >= AGE_MAGIC.length &&
    AGE_MAGIC.every((byte, i) => head[i] === byte);
}
