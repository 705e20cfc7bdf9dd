/**
 * Telling a name that does not resolve from other failures to connect or
 * listen. Deno reports a failed lookup as a plain `Error` with no class or
 * code, so the name is looked up again through `node:dns`, whose error
 * carries a code: the answer comes from that lookup, never from a message.
 *
 * @module
 */

import { lookup } from "node:dns/promises";
import { parseIpLiteral } from "./ip_address.ts";

/** The system resolver's codes for a name that does not resolve. */
const LOOKUP_FAILURES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_FAIL",
  "EAI_NODATA",
  "EAI_NONAME",
]);

/**
 * Tells whether `error`, thrown by `Deno.connect` or `Deno.listen` for
 * `hostname`, means that the name does not resolve. An IP address or an
 * error of one of `Deno.errors`' classes is never a lookup failure.
 *
 * @example
 * ```ts
 * try {
 *   Deno.listen({ hostname: "nosuch.invalid", port: 0 });
 * } catch (error) {
 *   await isLookupFailure("nosuch.invalid", error); // true
 * }
 * ```
 */
export async function isLookupFailure(
  hostname: string,
  error: unknown,
): Promise<boolean> {
  if (
    !(error instanceof Error) || parseIpLiteral(hostname) !== null ||
    Object.values(Deno.errors).some((kind) => error instanceof kind)
  ) {
    return false;
  }
  try {
    await lookup(hostname);
    return false;
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && LOOKUP_FAILURES.has(code);
  }
}
