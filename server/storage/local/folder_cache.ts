/**
 * Open folders kept between requests, so that a batch of files in the same
 * folders does not open every folder of every name again: a walk of
 * `a/b/c.txt` costs one open per folder the first time and a single
 * `readlink` after that.
 *
 * Before a kept folder is used, the kernel is asked where it is now
 * (`readlink` of `/proc/self/fd/N`, which names the folder by the real
 * folders above it, never through a link). The folder is used only when
 * that is exactly the root followed by its name: a folder that was renamed,
 * moved, deleted, or swapped for a symbolic link since it was opened is
 * dropped and the name walked again from the root, one `O_NOFOLLOW` open
 * at a time. So a kept folder gives the same guarantee as a fresh walk: it
 * is, at that moment, the folder of that name inside the root.
 *
 * @module
 */

import type { Folder } from "./rooted_paths.ts";

/** Folders kept at most; the least recently used goes first. */
export const FOLDER_CACHE_SIZE = 64;

interface Kept {
  readonly folder: Folder;
  /** Leases not yet released. */
  users: number;
  /** Out of the cache: closed when its last lease is released. */
  dropped: boolean;
}

/** See the module comment. One per root. */
export class FolderCache implements Disposable {
  readonly #root: string;
  readonly #size: number;
  /** By folder name (NFC, "/"-separated), least recently used first. */
  readonly #kept = new Map<string, Kept>();

  /** `root` is the root's real path, as `/proc/self/fd` shows it. */
  constructor(root: string, size = FOLDER_CACHE_SIZE) {
    this.#root = root.endsWith("/") ? root : `${root}/`;
    this.#size = size;
  }

  /**
   * The kept folder `name`, leased (dispose the result to release it), if
   * it is still that folder inside the root; otherwise null, and it is
   * dropped.
   */
  get(name: string): Folder | null {
    const kept = this.#kept.get(name);
    if (kept === undefined) return null;
    let where: string;
    try {
      where = Deno.readLinkSync(kept.folder.path);
    } catch {
      where = "";
    }
    this.#kept.delete(name);
    if (where !== this.#root + name) {
      this.#drop(kept);
      return null;
    }
    this.#kept.set(name, kept); // Now the most recently used.
    return this.#lease(kept);
  }

  /**
   * Keeps `folder` (just opened, owned by the caller until now) as `name`
   * and returns a lease of it.
   */
  keep(name: string, folder: Folder): Folder {
    const old = this.#kept.get(name);
    if (old !== undefined) {
      this.#kept.delete(name);
      this.#drop(old);
    }
    const kept: Kept = { folder, users: 0, dropped: false };
    this.#kept.set(name, kept);
    while (this.#kept.size > this.#size) {
      const [oldest, entry] = this.#kept.entries().next().value!;
      this.#kept.delete(oldest);
      this.#drop(entry);
    }
    return this.#lease(kept);
  }

  /** Drops every kept folder (each closes once its leases are released). */
  [Symbol.dispose](): void {
    for (const kept of this.#kept.values()) this.#drop(kept);
    this.#kept.clear();
  }

  #lease(kept: Kept): Folder {
    kept.users++;
    return kept.folder.lease(() => {
      kept.users--;
      if (kept.dropped && kept.users === 0) kept.folder[Symbol.dispose]();
    });
  }

  #drop(kept: Kept): void {
    kept.dropped = true;
    if (kept.users === 0) kept.folder[Symbol.dispose]();
  }
}
