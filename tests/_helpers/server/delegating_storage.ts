/**
 * A storage that passes every call to another one, except those a test
 * overrides (to hold a call, count it or fail it).
 *
 * @module
 */

import type { Storage } from "../../../server/storage/storage.ts";

/** `inner` with the members of `overrides` in place of its own. */
export function delegatingStorage(
  inner: Storage,
  overrides: Partial<Omit<Storage, typeof Symbol.asyncDispose>>,
): Storage {
  return {
    features: inner.features,
    list: (path) => inner.list(path),
    stat: (name) => inner.stat(name),
    openRead: (name, options) => inner.openRead(name, options),
    beginUpload: (name, size, options) =>
      inner.beginUpload(name, size, options),
    remove: (name) => inner.remove(name),
    rename: (from, to, options) => inner.rename(from, to, options),
    mkdir: (name) => inner.mkdir(name),
    ...(inner.files ? { files: () => inner.files!() } : {}),
    ...overrides,
    [Symbol.asyncDispose]: () => Promise.resolve(),
  };
}
