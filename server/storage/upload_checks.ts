/**
 * The checks every backend's `Upload` (storage.ts) makes on what it is sent,
 * worded once: a write after the upload ended or began to commit, a write
 * past the declared size, a commit short of it.
 *
 * @module
 */

import { FtsError } from "../../protocol/errors.ts";
import { quoteName } from "../../protocol/names.ts";

/** Where an upload stands. */
export type UploadState = "open" | "committing" | "committed" | "aborted";

/** Why a write or commit on an upload that is no longer open is refused. */
export function closedUploadError(name: string, state: UploadState): FtsError {
  return new FtsError(
    state === "aborted" ? "cancelled" : "bad_request",
    `Cannot upload ${quoteName(name)}: the upload is ${
      state === "aborted" ? "cancelled" : "already finishing"
    }`,
  );
}

/**
 * Why `bytes` more may not be written to upload `name` in `state` that has
 * taken `taken` of its declared `size` bytes; null when they may.
 */
export function refusedWrite(
  name: string,
  state: UploadState,
  taken: number,
  bytes: number,
  size: number,
): FtsError | null {
  if (state !== "open") return closedUploadError(name, state);
  if (taken + bytes > size) {
    return new FtsError(
      "bad_request",
      `Cannot upload ${
        quoteName(name)
      }: more data than the declared ${size} bytes`,
    );
  }
  return null;
}

/**
 * @throws {FtsError} `bad_request` unless upload `name` received all of its
 * declared `size` bytes.
 */
export function assertComplete(
  name: string,
  written: number,
  size: number,
): void {
  if (written !== size) {
    throw new FtsError(
      "bad_request",
      `Cannot upload ${quoteName(name)}: received ${written} of ${size} bytes`,
    );
  }
}
