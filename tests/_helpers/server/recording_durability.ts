/**
 * A {@linkcode Durability} for the local backend that does the real syncs
 * and records what they made durable, so tests can check that a reply
 * never names a file before its data and its folder were synced.
 *
 * @module
 */

import {
  type Durability,
  systemDurability,
} from "../../../server/storage/local/commit_group.ts";

/** See the module comment. */
export class RecordingDurability implements Durability {
  /** Inodes of the files whose data sync has completed. */
  readonly syncedFiles = new Set<number>();
  /** `ino/name` of every entry present in a folder when its sync completed. */
  readonly durableNames = new Set<string>();
  /** File syncs and folder syncs called so far. */
  fileSyncs = 0;
  folderSyncs = 0;
  /** Makes the data sync of a file of this size fail with EIO. */
  failSize: number | null = null;

  async syncFile(file: Deno.FsFile): Promise<void> {
    this.fileSyncs++;
    const info = file.statSync();
    if (info.size === this.failSize) {
      throw new Deno.errors.NotSupported("Injected data sync failure");
    }
    await systemDurability.syncFile(file);
    this.syncedFiles.add(info.ino!);
  }

  async syncFolder(
    folder: Parameters<Durability["syncFolder"]>[0],
  ): Promise<void> {
    this.folderSyncs++;
    const ino = Deno.statSync(folder.path).ino!;
    const names = [...Deno.readDirSync(folder.path)].map((e) => e.name);
    await systemDurability.syncFolder(folder);
    for (const name of names) this.durableNames.add(`${ino}/${name}`);
  }

  /** True when the file at `path` (under `folder`) is durable by name. */
  isDurable(folder: string, name: string): boolean {
    const ino = Deno.lstatSync(`${folder}/${name}`).ino!;
    return this.syncedFiles.has(ino) &&
      this.durableNames.has(`${Deno.statSync(folder).ino}/${name}`);
  }
}
