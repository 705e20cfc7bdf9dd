/**
 * A {@linkcode LocalDisk} that does what the system's does (always as on a
 * disk that keeps data: nothing is taken for tmpfs) and records each call
 * in order, so tests can check that no file got its name before it was
 * synced and that folders were synced once per group.
 *
 * @module
 */

import {
  type LocalDisk,
  SYSTEM_DISK,
} from "../../../client/engine/commit_group.ts";

/** One call, in the order made. */
export type DiskEvent =
  | { readonly call: "syncFile"; readonly part: string }
  | { readonly call: "nameFile"; readonly part: string; readonly path: string }
  | { readonly call: "syncFolder"; readonly dir: string };

/** A recording disk; `failSync` makes the sync of a part file fail. */
export interface RecordingDisk extends LocalDisk {
  readonly events: DiskEvent[];
}

/**
 * A disk that records its calls; the sync of a part file fails with an
 * error when `failSync` returns true for the count of syncs before it.
 */
export function recordingDisk(
  failSync: (index: number) => boolean = () => false,
): RecordingDisk {
  const events: DiskEvent[] = [];
  let syncs = 0;
  return {
    events,
    volatile: () => false,
    async syncFile(file, part) {
      if (failSync(syncs++)) {
        throw new Deno.errors.PermissionDenied("Refused by the test");
      }
      await SYSTEM_DISK.syncFile(file, part);
      events.push({ call: "syncFile", part });
    },
    nameFile(part, target, options) {
      const path = SYSTEM_DISK.nameFile(part, target, options);
      events.push({ call: "nameFile", part, path });
      return path;
    },
    syncFolder(dir) {
      SYSTEM_DISK.syncFolder(dir);
      events.push({ call: "syncFolder", dir });
    },
  };
}
