/**
 * How downloaded files become visible: complete, verified and durable, in
 * groups. A verified part file (still open, so locked) joins the open
 * group; a group is committed when it is full or when its owner says
 * nothing else will join soon: every file of it is synced to the disk at
 * once (the syncs run side by side, which a journalling file system
 * merges into few commits), then each is given its name, then each folder
 * that received a name is synced once. On tmpfs and ramfs, where Linux's
 * `fsync` does nothing (and nothing survives a power loss anyway), the
 * syncs are skipped. A file's result is reported only
 * after its folder was synced, so a file reported saved survives a power
 * loss, and a name never points at data that is not on the disk: after
 * `kill -9` or a power cut a name holds the whole verified file or does
 * not exist (a hidden `.fts-*.part` file may remain; it is removed later).
 *
 * @module
 */

import { removeQuietly } from "../../common/remove_quietly.ts";
import { commitFile, type LocalTarget } from "./local_files.ts";

/**
 * The calls that make a verified part file durable and visible: the
 * system's by default ({@linkcode SYSTEM_DISK}); tests pass one that
 * records their order.
 */
export interface LocalDisk {
  /**
   * Tells whether folder `dir` is on a file system that keeps nothing
   * across a power loss (tmpfs, ramfs), where `fsync` does nothing and is
   * skipped.
   */
  volatile(dir: string): boolean;
  /** Flushes open part file `file` (at `path`), data and metadata, to the disk. */
  syncFile(file: Deno.FsFile, path: string): Promise<void>;
  /**
   * Gives part file `tempPath` its name in `target` (see `commitFile`);
   * returns the path it got.
   */
  nameFile(
    tempPath: string,
    target: LocalTarget,
    options: { overwrite: boolean },
  ): string;
  /** Flushes folder `dir`'s entries (the names just given) to the disk. */
  syncFolder(dir: string): void;
}

/**
 * The system's calls: `fsync` of the files, side by side on worker threads
 * (a journalling file system commits them together), `link` or `rename`,
 * and `fsync` of the folder (synchronous: one per folder and group).
 */
export const SYSTEM_DISK: LocalDisk = {
  volatile: onVolatileFileSystem,
  syncFile: (file) => file.sync(),
  nameFile: commitFile,
  syncFolder(dir) {
    using folder = Deno.openSync(dir, { read: true });
    folder.syncSync();
  },
};

/** File systems in memory, whose `fsync` is a no-op in Linux. */
const VOLATILE_TYPES = new Set(["tmpfs", "ramfs"]);

/**
 * Tells whether `dir` is on a tmpfs or ramfs, by its device number in
 * `/proc/self/mountinfo`; false wherever that cannot be told.
 */
function onVolatileFileSystem(dir: string): boolean {
  let dev: number;
  let table: string;
  try {
    dev = Deno.statSync(dir).dev;
    table = Deno.readTextFileSync("/proc/self/mountinfo");
  } catch {
    return false;
  }
  for (const line of table.split("\n")) {
    // ID PARENT MAJOR:MINOR ROOT MOUNT OPTIONS [TAGS…] - TYPE SOURCE …
    const fields = line.split(" ");
    const [major, minor] = (fields[2] ?? "").split(":").map(Number);
    if (major === undefined || minor === undefined) continue;
    if (deviceNumber(major, minor) !== dev) continue;
    const type = fields[fields.indexOf("-") + 1];
    if (type !== undefined && VOLATILE_TYPES.has(type)) return true;
  }
  return false;
}

/** Linux's `makedev()`, in numbers exact up to 2^53. */
function deviceNumber(major: number, minor: number): number {
  return (minor & 0xff) + (major & 0xfff) * 0x100 +
    Math.floor(minor / 0x100) * 0x100000 +
    Math.floor(major / 0x1000) * 0x100000000;
}

/** A part file whose content is complete and verified. */
export interface VerifiedPart {
  /** The open (so locked) part file; the group closes it. */
  readonly file: Deno.FsFile;
  readonly tempPath: string;
  /** Where it goes. */
  readonly target: LocalTarget;
  readonly overwrite: boolean;
  /** Its size in bytes (groups are bounded by bytes too). */
  readonly size: number;
}

/** Limits of one group. */
export interface GroupLimits {
  /** Files per group. Default 64. */
  files?: number;
  /** Bytes per group. Default 64 MiB. */
  bytes?: number;
}

interface Member extends VerifiedPart {
  resolve(path: string): void;
  reject(error: unknown): void;
}

/**
 * Commits verified part files in groups (see the module's comment). One
 * group is committed at a time; while it is, the next one fills, and
 * {@linkcode admit} holds new downloads back once two groups' worth wait.
 */
export class CommitGroup {
  readonly #disk: LocalDisk;
  readonly #maxFiles: number;
  readonly #maxBytes: number;
  #open: Member[] = [];
  #openBytes = 0;
  /** Files handed over and not settled yet. */
  #waiting = 0;
  #chain: Promise<void> = Promise.resolve();
  #room: (() => void)[] = [];
  /** {@linkcode LocalDisk.volatile} per folder, asked once per group. */
  readonly #volatileDirs = new Map<string, boolean>();

  constructor(disk: LocalDisk, limits: GroupLimits = {}) {
    this.#disk = disk;
    this.#maxFiles = Math.max(1, limits.files ?? 64);
    this.#maxBytes = Math.max(1, limits.bytes ?? 64 * 1024 * 1024);
  }

  /**
   * Hands over `part`; the group owns it from now on (closes it, removes
   * it on failure). Resolves with its final path once it is named and
   * durable; rejects (with the part file removed) if a step fails.
   */
  add(part: VerifiedPart): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#open.push({ ...part, resolve, reject });
      this.#openBytes += part.size;
      this.#waiting++;
      if (
        this.#open.length >= this.#maxFiles ||
        this.#openBytes >= this.#maxBytes
      ) {
        this.flush();
      }
    });
  }

  /** Commits the open group now (when nothing else will join it soon). */
  flush(): void {
    if (this.#open.length === 0) return;
    const members = this.#open;
    this.#open = [];
    this.#openBytes = 0;
    this.#chain = this.#chain.then(() => this.#commit(members));
  }

  /** Waits while two groups' worth of files wait for their commit. */
  async admit(): Promise<void> {
    while (this.#waiting >= 2 * this.#maxFiles) {
      await new Promise<void>((resolve) => this.#room.push(resolve));
    }
  }

  async #commit(members: Member[]): Promise<void> {
    const synced = await Promise.allSettled(
      members.map((m) =>
        this.#volatile(m.target.dir)
          ? undefined
          : this.#disk.syncFile(m.file, m.tempPath)
      ),
    );
    const folders = new Map<string, { member: Member; path: string }[]>();
    members.forEach((member, i) => {
      const sync = synced[i]!;
      try {
        if (sync.status === "rejected") throw sync.reason;
        const path = this.#disk.nameFile(member.tempPath, member.target, {
          overwrite: member.overwrite,
        });
        member.file.close();
        const done = { member, path };
        const list = folders.get(member.target.dir);
        if (list) list.push(done);
        else folders.set(member.target.dir, [done]);
      } catch (error) {
        member.file.close();
        removeQuietly(member.tempPath);
        member.reject(error);
      }
    });
    for (const [dir, done] of folders) {
      try {
        if (!this.#volatile(dir)) this.#disk.syncFolder(dir);
        for (const { member, path } of done) member.resolve(path);
      } catch (error) {
        for (const { member } of done) member.reject(error);
      }
    }
    this.#waiting -= members.length;
    for (const wake of this.#room.splice(0)) wake();
  }

  #volatile(dir: string): boolean {
    let volatile = this.#volatileDirs.get(dir);
    if (volatile === undefined) {
      if (this.#volatileDirs.size >= 1024) this.#volatileDirs.clear();
      volatile = this.#disk.volatile(dir);
      this.#volatileDirs.set(dir, volatile);
    }
    return volatile;
  }
}
