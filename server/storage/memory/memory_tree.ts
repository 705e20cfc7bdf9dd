/**
 * The folder tree of {@linkcode MemoryStorage}: nodes, and the walk from a
 * name to its parent folder with the same errors as the local backend.
 *
 * @module
 */

import { FtsError } from "../../../protocol/errors.ts";
import { quoteName, splitName, validateName } from "../../../protocol/names.ts";
import type { Entry } from "../storage.ts";

/** A stored file. Its bytes never change: a new upload makes a new node. */
export interface FileNode {
  readonly type: "file";
  readonly data: Uint8Array;
  readonly mtime: number;
  readonly mode: number;
  /** The SHA-256 the upload was verified against, if any. */
  readonly sha256: string | undefined;
}

/** A folder: its entries by base name (NFC). */
export interface DirNode {
  readonly type: "dir";
  readonly children: Map<string, Node>;
  mtime: number;
  readonly mode: number;
}

/** A file or a folder. */
export type Node = FileNode | DirNode;

/** Permission bits of folders made by mkdir(), as a local mkdir gives. */
const DIR_MODE = 0o755;

/** A new, empty folder. */
export function newDir(mtime: number): DirNode {
  return { type: "dir", children: new Map(), mtime, mode: DIR_MODE };
}

/** Where a name lives: its folder, its base name, and what is there now. */
export interface Located {
  /** The NFC name. */
  readonly name: string;
  readonly parent: DirNode;
  readonly base: string;
  /** The node under that name, or undefined. */
  readonly node: Node | undefined;
}

/**
 * Validates `name` and finds its parent folder.
 *
 * @throws {FtsError} `invalid_name`, `not_found` (a parent is missing),
 * `not_directory` (a parent is a file).
 */
export function locate(root: DirNode, name: string, action: string): Located {
  const nfc = validateName(name);
  const { parent, base } = splitName(nfc);
  const dir = parent === "" ? root : folderAt(root, parent, nfc, action);
  return { name: nfc, parent: dir, base, node: dir.children.get(base) };
}

/**
 * The folder `path` ("" for the top), validated.
 *
 * @throws {FtsError} `invalid_name`, `not_found`, `not_directory`.
 */
export function openDir(root: DirNode, path: string, action: string): {
  name: string;
  dir: DirNode;
} {
  if (path === "") return { name: "", dir: root };
  const nfc = validateName(path);
  return { name: nfc, dir: folderAt(root, nfc, nfc, action) };
}

/** Walks the components of `path` (valid, NFC) from `root`. */
function folderAt(
  root: DirNode,
  path: string,
  name: string,
  action: string,
): DirNode {
  let dir = root;
  let sofar = "";
  for (const part of path.split("/")) {
    sofar = sofar === "" ? part : `${sofar}/${part}`;
    const next = dir.children.get(part);
    if (next === undefined) {
      throw new FtsError(
        "not_found",
        `Cannot ${action} ${quoteName(name)}: no folder ${quoteName(sofar)}`,
      );
    }
    if (next.type !== "dir") {
      throw new FtsError(
        "not_directory",
        `Cannot ${action} ${quoteName(name)}: ${
          quoteName(sofar)
        } is not a folder`,
      );
    }
    dir = next;
  }
  return dir;
}

/** The listing entry of `node`, called `name`. */
export function toEntry(name: string, node: Node): Entry {
  return node.type === "dir"
    ? { name, type: "dir", size: 0, mtime: node.mtime, mode: node.mode }
    : {
      name,
      type: "file",
      size: node.data.byteLength,
      mtime: node.mtime,
      mode: node.mode,
    };
}
