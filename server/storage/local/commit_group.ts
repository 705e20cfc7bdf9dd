/**
 * Group commit for the local backend's uploads: the files that finish
 * while an earlier group is being synced wait and go together in the next
 * group, in three steps: every file's data is synced (in parallel), then
 * each file is given its name, then each folder that received a name is
 * synced once. A commit resolves only after its folder was synced, so a
 * PUT_DONE always names a file that is complete and durable, and a crash
 * (kill -9, power loss) at any point leaves either no new name or the
 * whole file under it.
 *
 * A group starts as soon as the previous one is done, so a lone upload
 * waits for nothing; under load the groups grow by themselves and one
 * folder sync covers every file placed in that folder.
 *
 * @module
 */

import type { Folder } from "./rooted_paths.ts";

/**
 * The syncs of the local backend. {@linkcode systemDurability} is what the
 * server uses; tests substitute one that records the calls.
 */
export interface Durability {
  /** Makes the data of an open file durable (fdatasync). */
  syncFile(file: Deno.FsFile): Promise<void>;
  /**
   * Makes the entries of a folder durable (fsync of the folder), so that a
   * link or rename in it survives a crash. Never throws: some file systems
   * refuse to sync folders, and the data itself is synced already.
   */
  syncFolder(folder: Folder): Promise<void>;
}

/** fdatasync and folder fsync through the runtime's I/O threads. */
export const systemDurability: Durability = {
  syncFile: (file) => file.syncData(),
  async syncFolder(folder) {
    try {
      using dir = Deno.openSync(folder.path, { read: true });
      await dir.sync();
    } catch {
      // Some file systems refuse to fsync folders; the data itself is synced.
    }
  },
};

/** Where a committed file was placed; disposal releases its folder. */
export interface Placement extends Disposable {
  /** The folder that received the new name. */
  readonly folder: Folder;
}

/** One commit waiting for its group. */
interface Job {
  readonly file: Deno.FsFile;
  readonly place: () => Placement;
  readonly resolve: (at: Placement) => void;
  readonly reject: (error: unknown) => void;
}

/** See the module comment. One per storage. */
export class CommitGroups {
  readonly #durability: Durability;
  #waiting: Job[] = [];
  #running: Promise<void> | null = null;

  constructor(durability: Durability = systemDurability) {
    this.#durability = durability;
  }

  /**
   * Syncs `file`, then calls `place` (synchronous: it gives the synced
   * file its name and returns where), then syncs the folder `place`
   * returned; resolves with that placement, which the caller disposes.
   *
   * @throws what syncing `file` or `place` throws; the file then has no
   * new name (a placement that succeeded is never undone).
   */
  commit<T extends Placement>(file: Deno.FsFile, place: () => T): Promise<T> {
    const done = Promise.withResolvers<T>();
    this.#waiting.push({
      file,
      place,
      // What place() returned: a T.
      resolve: (at) => done.resolve(at as T),
      reject: done.reject,
    });
    this.#running ??= this.#drain();
    return done.promise;
  }

  /** Resolves once no commit is waiting or running. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        const group = this.#waiting;
        this.#waiting = [];
        await this.#run(group);
      }
    } finally {
      this.#running = null;
    }
  }

  async #run(group: readonly Job[]): Promise<void> {
    const synced = await Promise.all(
      group.map((job) =>
        this.#durability.syncFile(job.file).then(
          () => true,
          (error) => {
            job.reject(error);
            return false;
          },
        )
      ),
    );
    const placed: { job: Job; at: Placement }[] = [];
    const folders = new Map<string, Folder>();
    // The folder of each descriptor path: placements hold their folder open
    // until the group ends, so a path names the same folder throughout.
    const keys = new Map<string, string>();
    for (let i = 0; i < group.length; i++) {
      if (!synced[i]) continue;
      const job = group[i]!;
      let at: Placement;
      try {
        at = job.place();
      } catch (error) {
        job.reject(error);
        continue;
      }
      // One sync per folder, however many descriptors name it.
      let key = keys.get(at.folder.path);
      try {
        if (key === undefined) {
          const { dev, ino } = Deno.statSync(at.folder.path);
          key = `${dev}:${ino}`;
          keys.set(at.folder.path, key);
        }
      } catch (error) {
        // Closed under it (the storage is closing): not durable.
        at[Symbol.dispose]();
        job.reject(error);
        continue;
      }
      placed.push({ job, at });
      if (!folders.has(key)) folders.set(key, at.folder);
    }
    await Promise.all(
      [...folders.values()].map((f) => this.#durability.syncFolder(f)),
    );
    for (const { job, at } of placed) job.resolve(at);
  }
}
