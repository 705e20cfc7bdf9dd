/**
 * The one name validator shared by server and client. Pure: no I/O.
 *
 * A valid name is a relative path of one or more components joined by "/",
 * in UTF-8 normalised to NFC, with no "." or ".." components, no empty
 * components (so no leading or trailing "/"), no backslash, no control,
 * format (Cf: bidi overrides, zero-width and invisible tag characters…),
 * surrogate or line/paragraph-separator characters, at most
 * {@linkcode MAX_COMPONENT_BYTES} bytes per component and
 * {@linkcode MAX_NAME_BYTES} bytes in all.
 *
 * @module
 */

import { NameError } from "./errors.ts";

/** Longest name in UTF-8 bytes. */
export const MAX_NAME_BYTES = 1024;
/** Longest single path component in UTF-8 bytes (as on most filesystems). */
export const MAX_COMPONENT_BYTES = 255;
/** Largest nesting depth of a name. */
export const MAX_DEPTH = 32;

// Characters a name may not hold and a terminal must never see raw: controls
// (Cc: C0, DEL, C1), format characters (Cf: bidi overrides and isolates,
// zero-width characters, soft hyphen, BOM, invisible tag characters…), lone
// surrogates (Cs), line and paragraph separators, and U+2060-206F. The
// zero-width (non-)joiners U+200C/U+200D stay allowed: Persian and Indic
// words and emoji sequences need them, and they cannot reorder or hide text.
const UNSAFE =
  /[[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u2060-\u206f]--[\u200c\u200d]]/v;
// UNSAFE plus the backslash, which names may not contain either.
const FORBIDDEN =
  /[[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u2060-\u206f\\]--[\u200c\u200d]]/v;
// Any character from U+0080 up: a string without one is already in NFC.
const NON_ASCII = /\P{ASCII}/u;
const SLASH = 0x2f;
const DOT = 0x2e;
const BACKSLASH = 0x5c;

/**
 * Validates `name` and returns it normalised to NFC.
 *
 * @throws {NameError} naming the reason the name is refused.
 * @example
 * ```ts
 * validateName("docs/report.pdf"); // "docs/report.pdf"
 * validateName("../etc/passwd");   // throws NameError
 * ```
 */
export function validateName(name: unknown): string {
  if (typeof name !== "string") throw new NameError("A name must be a string");
  if (isPlainAsciiName(name)) return name;
  if (name.length === 0) throw new NameError("A name cannot be empty");
  if (name.length > MAX_NAME_BYTES) {
    throw new NameError(`Name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (!name.isWellFormed()) {
    throw new NameError("Name is not valid Unicode");
  }
  const nfc = NON_ASCII.test(name) ? name.normalize("NFC") : name;
  if (utf8Length(nfc, 0, nfc.length) > MAX_NAME_BYTES) {
    throw new NameError(`Name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (FORBIDDEN.test(nfc)) {
    throw new NameError(
      `Name ${quoteName(nfc)} contains a control character or backslash`,
    );
  }
  if (nfc.startsWith("/")) {
    throw new NameError(`Name ${quoteName(nfc)} is an absolute path`);
  }
  const parts = nfc.split("/");
  if (parts.length > MAX_DEPTH) {
    throw new NameError(`Name ${quoteName(nfc)} is nested too deep`);
  }
  for (const part of parts) {
    if (part === "") {
      throw new NameError(`Name ${quoteName(nfc)} has an empty path component`);
    }
    if (part === "." || part === "..") {
      throw new NameError(`Name ${quoteName(nfc)} contains "${part}"`);
    }
    if (utf8Length(part, 0, part.length) > MAX_COMPONENT_BYTES) {
      throw new NameError(
        `A component of ${
          quoteName(nfc)
        } is longer than ${MAX_COMPONENT_BYTES} bytes`,
      );
    }
  }
  return nfc;
}

/**
 * Tells whether `name` is a valid name made only of printable ASCII (which is
 * its own NFC form and one byte per character), in one pass with no
 * allocation. False sends the name through the full checks of
 * {@linkcode validateName}, which also choose the error.
 */
function isPlainAsciiName(name: string): boolean {
  const length = name.length;
  if (length === 0 || length > MAX_NAME_BYTES) return false;
  let depth = 1;
  let start = 0;
  for (let i = 0; i <= length; i++) {
    const c = i < length ? name.charCodeAt(i) : SLASH;
    if (c === SLASH) {
      const size = i - start;
      if (size === 0 || size > MAX_COMPONENT_BYTES) return false;
      if (
        name.charCodeAt(start) === DOT &&
        (size === 1 || (size === 2 && name.charCodeAt(start + 1) === DOT))
      ) return false;
      if (i < length && ++depth > MAX_DEPTH) return false;
      start = i + 1;
    } else if (c < 0x20 || c > 0x7e || c === BACKSLASH) {
      return false;
    }
  }
  return true;
}

/** UTF-8 length of `s.slice(from, to)`, which must be well-formed. */
function utf8Length(s: string, from: number, to: number): number {
  let bytes = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one code point above U+FFFF
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Tells whether `name` passes {@linkcode validateName}. */
export function isValidName(name: unknown): boolean {
  try {
    validateName(name);
    return true;
  } catch (error) {
    if (error instanceof NameError) return false;
    throw error;
  }
}

/**
 * Renders any string safely for a terminal or a log line: control and
 * display-changing characters (controls, format characters such as bidi
 * overrides and invisible tag characters, lone surrogates, line separators)
 * become `\u{…}` escapes, and the result is quoted and truncated to `max`
 * characters. Quotes and backslashes inside are left as they are.
 *
 * @example
 * ```ts
 * quoteName("a\x1b[2Jb"); // "\"a\\u{1b}[2Jb\""
 * ```
 */
export function quoteName(name: string, max = 120): string {
  let out = "";
  for (const ch of name) {
    if (out.length >= max) {
      out += "…";
      break;
    }
    out += UNSAFE.test(ch) ? `\\u{${ch.codePointAt(0)!.toString(16)}}` : ch;
  }
  return `"${out}"`;
}

/** Splits a valid name into its parent ("" for top level) and base name. */
export function splitName(name: string): { parent: string; base: string } {
  const slash = name.lastIndexOf("/");
  return slash < 0
    ? { parent: "", base: name }
    : { parent: name.slice(0, slash), base: name.slice(slash + 1) };
}

/**
 * The name for the `n`-th copy of `name` when it already exists:
 * `(1) report.pdf`, `(2) report.pdf`…, in the same folder.
 */
export function collisionName(name: string, n: number): string {
  const { parent, base } = splitName(name);
  const renamed = `(${n}) ${base}`;
  return parent === "" ? renamed : `${parent}/${renamed}`;
}
