/**
 * Maps protocol names to paths under the local backend's root without ever
 * following a symbolic link: every component is checked with `lstat`, and
 * files are opened only after such a check and verified after opening.
 *
 * Deno has no `openat`/`O_NOFOLLOW`, so a local user who can write inside
 * the root could still swap a checked folder for a link between the check
 * and the use; {@linkcode RootedPaths.openFile} closes most of that window by
 * re-checking after opening. Clients cannot create links through the
 * protocol at all.
 *
 * @module
 */

import { join } from "node:path";
import { FtsError } from "../protocol/errors.ts";
import { quoteName, validateName } from "../protocol/names.ts";
import { fsError } from "./fs_errors.ts";
import { STATE_DIR } from "./storage.ts";

/** A checked name: its NFC form, its path, and what is there now. */
export interface Inspected {
  /** The validated (NFC) name; "" for the root. */
  readonly name: string;
  /** Absolute path under the root. */
  readonly path: string;
  /** The final component's lstat, or null if nothing is there. */
  readonly info: Deno.FileInfo | null;
}

/** Root-confined path resolution for {@linkcode LocalStorage}. */
export class RootedPaths {
  readonly #root: string;

  /** `root` must be an absolute, symlink-free path (use `Deno.realPath`). */
  constructor(root: string) {
    this.#root = root;
  }

  /** The root folder. */
  get root(): string {
    return this.#root;
  }

  /**
   * Validates `name` (refusing the state folder) and returns its NFC form
   * and absolute path, without touching the disk.
   *
   * @throws {NameError} for an invalid or reserved name.
   */
  resolve(name: string, action: string): { name: string; path: string } {
    const nfc = validateName(name);
    const first = nfc.split("/", 1)[0];
    if (first === STATE_DIR) {
      throw new FtsError(
        "invalid_name",
        `Cannot ${action} ${quoteName(nfc)}: the name ${
          quoteName(STATE_DIR)
        } is reserved for the server`,
      );
    }
    return { name: nfc, path: join(this.#root, ...nfc.split("/")) };
  }

  /**
   * Resolves `name` ("" means the root when `allowRoot`) and lstats each
   * component. Every parent must be a real folder; the last component may
   * be missing (info null) but never a symbolic link.
   *
   * @throws {FtsError} `invalid_name`, `not_found` (a parent is missing),
   * `not_directory`, `permission_denied` (a symbolic link), `io`.
   */
  async inspect(
    name: string,
    action: string,
    allowRoot = false,
  ): Promise<Inspected> {
    if (name === "" && allowRoot) {
      return { name: "", path: this.#root, info: await lstat(this.#root) };
    }
    const resolved = this.resolve(name, action);
    const parts = resolved.name.split("/");
    let path = this.#root;
    let info: Deno.FileInfo | null = null;
    for (let i = 0; i < parts.length; i++) {
      path = join(path, parts[i]!);
      try {
        info = await lstat(path);
      } catch (error) {
        throw fsError(error, action, resolved.name);
      }
      const last = i === parts.length - 1;
      if (info?.isSymlink) {
        throw new FtsError(
          "permission_denied",
          `Cannot ${action} ${quoteName(resolved.name)}: ${
            quoteName(parts.slice(0, i + 1).join("/"))
          } is a symbolic link`,
        );
      }
      if (last) break;
      if (info === null) {
        throw new FtsError(
          "not_found",
          `Cannot ${action} ${quoteName(resolved.name)}: no folder ${
            quoteName(parts.slice(0, i + 1).join("/"))
          }`,
        );
      }
      if (!info.isDirectory) {
        throw new FtsError(
          "not_directory",
          `Cannot ${action} ${quoteName(resolved.name)}: ${
            quoteName(parts.slice(0, i + 1).join("/"))
          } is not a folder`,
        );
      }
    }
    return { name: resolved.name, path, info };
  }

  /**
   * Opens an existing regular file for reading, refusing links, folders and
   * special files, and verifies after opening that the open file is the one
   * that was checked (same device and inode, path still link-free).
   *
   * @throws {FtsError} `not_found`, `is_directory`, `permission_denied`, `io`.
   */
  async openFile(
    name: string,
    action: string,
  ): Promise<{ name: string; file: Deno.FsFile; info: Deno.FileInfo }> {
    const before = await this.inspect(name, action);
    const info = requireFile(before, action);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(before.path, { read: true });
    } catch (error) {
      throw fsError(error, action, before.name);
    }
    try {
      const opened = await file.stat();
      const after = await this.inspect(name, action);
      if (
        !sameFile(opened, info) || after.info === null ||
        !sameFile(after.info, info)
      ) {
        throw new FtsError(
          "permission_denied",
          `Cannot ${action} ${
            quoteName(before.name)
          }: it changed while being opened`,
        );
      }
      return { name: before.name, file, info: opened };
    } catch (error) {
      file.close();
      throw fsError(error, action, before.name);
    }
  }
}

/** The file's info, or the right error when `inspected` is not a regular file. */
export function requireFile(
  inspected: Inspected,
  action: string,
): Deno.FileInfo {
  const { info, name } = inspected;
  if (info === null) {
    throw new FtsError(
      "not_found",
      `Cannot ${action} ${quoteName(name)}: no such file`,
    );
  }
  if (info.isDirectory) {
    throw new FtsError(
      "is_directory",
      `Cannot ${action} ${quoteName(name)}: it is a folder`,
    );
  }
  if (!info.isFile) {
    throw new FtsError(
      "permission_denied",
      `Cannot ${action} ${quoteName(name)}: it is not a regular file`,
    );
  }
  return info;
}

/** Whole milliseconds of a file's modification time (0 when unknown). */
export function mtimeMs(info: Deno.FileInfo): number {
  return Math.floor(info.mtime?.getTime() ?? 0);
}

function sameFile(a: Deno.FileInfo, b: Deno.FileInfo): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

async function lstat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}
