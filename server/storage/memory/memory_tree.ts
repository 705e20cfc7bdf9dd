/**
 * The folder tree of {@linkcode MemoryStorage}: nodes, and the walk from a
 * name to its parent folder with the same errors as the local backend.
 *
 * Folders are real (made by mkdir, kept until removed) or, to model an
 * object store, virtual: made on the way by whatever is stored below them,
 * and gone with the last thing below them unless mkdir made them (the
 * marker object such a store keeps for an empty folder).
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
  /** False for a folder that exists only because something is below it. */
  readonly marked: boolean;
}

/** A file or a folder. */
export type Node = FileNode | DirNode;

/** Permission bits of folders made by mkdir(), as a local mkdir gives. */
const DIR_MODE = 0o755;

/** A new, empty folder; `marked` false for one made on the way. */
export function newDir(mtime: number, marked = true): DirNode {
  return { type: "dir", children: new Map(), mtime, mode: DIR_MODE, marked };
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
 * Validates `name` and finds its parent folder, making the missing ones on
 * the way as virtual folders with modification time `mtime`.
 *
 * @throws {FtsError} `invalid_name`, `not_directory` (a parent is a file).
 */
export function locateMaking(
  root: DirNode,
  name: string,
  action: string,
  mtime: number,
): Located {
  checkPath(root, name, action);
  const nfc = validateName(name);
  const { parent, base } = splitName(nfc);
  let dir = root;
  if (parent !== "") {
    for (const part of parent.split("/")) {
      let next = dir.children.get(part);
      if (next === undefined) {
        next = newDir(mtime, false);
        dir.children.set(part, next);
      }
      dir = next as DirNode; // checkPath() refused files on the way.
    }
  }
  return { name: nfc, parent: dir, base, node: dir.children.get(base) };
}

/**
 * Validates `name` and checks that no parent of it is a file; returns what
 * is there (undefined also when a parent is missing).
 *
 * @throws {FtsError} `invalid_name`, `not_directory`.
 */
export function checkPath(
  root: DirNode,
  name: string,
  action: string,
): { name: string; node: Node | undefined } {
  const nfc = validateName(name);
  const parts = nfc.split("/");
  let node: Node | undefined = root;
  for (let i = 0; i < parts.length; i++) {
    if (node === undefined) break;
    if (node.type !== "dir") {
      throw new FtsError(
        "not_directory",
        `Cannot ${action} ${quoteName(nfc)}: ${
          quoteName(parts.slice(0, i).join("/"))
        } is not a folder`,
      );
    }
    node = node.children.get(parts[i]!);
  }
  return { name: nfc, node };
}

/**
 * Removes the virtual folders that `name`'s removal left empty, from its
 * parent up.
 */
export function pruneVirtual(root: DirNode, name: string): void {
  const parts = name.split("/").slice(0, -1);
  while (parts.length > 0) {
    const path: DirNode[] = [root];
    for (const part of parts) {
      const next = path.at(-1)!.children.get(part);
      if (next?.type !== "dir") return;
      path.push(next);
    }
    const dir = path.at(-1)!;
    if (dir.marked || dir.children.size > 0) return;
    path.at(-2)!.children.delete(parts.pop()!);
  }
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
