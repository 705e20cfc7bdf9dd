/**
 * A MemoryStorage that counts the listing pages pulled from it, to show
 * that a listing is read page by page as it is sent.
 *
 * @module
 */

import type { Entry } from "../../../protocol/messages.ts";
import { MemoryStorage } from "../../../server/storage/memory/memory_storage.ts";

/** See the module comment. */
export class CountingStorage extends MemoryStorage {
  /** Pages pulled from every listing so far. */
  pulled = 0;

  override async *list(
    path: string,
  ): AsyncGenerator<Entry[], void, undefined> {
    for await (const page of super.list(path)) {
      this.pulled++;
      yield page;
    }
  }
}

/** Stores `count` empty files, `f00000`, `f00001`…, at the top; returns their names. */
export async function fillFlat(
  storage: MemoryStorage,
  count: number,
  prefix = "f",
): Promise<string[]> {
  const names = Array.from(
    { length: count },
    (_, i) => `${prefix}${String(i).padStart(5, "0")}`,
  );
  for (const name of names) {
    await (await storage.beginUpload(name, 0)).commit({ overwrite: false });
  }
  return names;
}
