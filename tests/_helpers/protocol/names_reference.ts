/**
 * A frozen copy of the straightforward name validator (every check on the
 * whole string, no fast path), kept as the reference that
 * `protocol/names.ts` must agree with on every input.
 *
 * @module
 */

import { NameError } from "../../../protocol/errors.ts";
import {
  MAX_COMPONENT_BYTES,
  MAX_DEPTH,
  MAX_NAME_BYTES,
  quoteName,
} from "../../../protocol/names.ts";

const FORBIDDEN =
  /[[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\u2060-\u206f\\]--[\u200c\u200d]]/v;
const encoder = new TextEncoder();

/** Validates `name` the reference way and returns it normalised to NFC. */
export function referenceValidateName(name: unknown): string {
  if (typeof name !== "string") throw new NameError("A name must be a string");
  if (name.length === 0) throw new NameError("A name cannot be empty");
  if (name.length > MAX_NAME_BYTES) {
    throw new NameError(`Name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (!name.isWellFormed()) {
    throw new NameError("Name is not valid Unicode");
  }
  const nfc = name.normalize("NFC");
  if (encoder.encode(nfc).byteLength > MAX_NAME_BYTES) {
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
    if (encoder.encode(part).byteLength > MAX_COMPONENT_BYTES) {
      throw new NameError(
        `A component of ${
          quoteName(nfc)
        } is longer than ${MAX_COMPONENT_BYTES} bytes`,
      );
    }
  }
  return nfc;
}
