/**
 * A storage that counts what the server receives and sends through it:
 * uploads begun, bytes written into them, uploads committed, and files
 * opened for reading with the bytes read from them. What a test of
 * incremental transfers counts "on the server".
 *
 * @module
 */

import type { Storage } from "../../../server/storage/storage.ts";
import { delegatingStorage } from "./delegating_storage.ts";

/** Running totals of a {@linkcode countingTransfers} storage. */
export interface TransferCounts {
  /** beginUpload() calls (one per PUT the server admitted). */
  uploads: number;
  /** Bytes written into uploads. */
  uploadBytes: number;
  /** Uploads committed (files that became visible). */
  commits: number;
}

/** `inner`, counting into the returned `counts` (see the module comment). */
export function countingTransfers(
  inner: Storage,
): { storage: Storage; counts: TransferCounts } {
  const counts: TransferCounts = { uploads: 0, uploadBytes: 0, commits: 0 };
  const storage = delegatingStorage(inner, {
    beginUpload: async (name, size) => {
      counts.uploads++;
      const upload = await inner.beginUpload(name, size);
      return {
        get written() {
          return upload.written;
        },
        write: (chunk) => {
          counts.uploadBytes += chunk.byteLength;
          return upload.write(chunk);
        },
        commit: async (options) => {
          const name = await upload.commit(options);
          counts.commits++;
          return name;
        },
        abort: () => upload.abort(),
        [Symbol.asyncDispose]: () => upload[Symbol.asyncDispose](),
      };
    },
  });
  return { storage, counts };
}
