/**
 * One example of every message type: the worked examples of PROTOCOL.md
 * (checked byte for byte by golden_test.ts) and the base of the round trips
 * in messages_test.ts. Typed as a Record over every MessageType, so adding a
 * message type without an example fails `deno check`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type {
  Message,
  MessageOf,
  MessageType,
} from "../../protocol/messages.ts";

/** The file the examples upload and download. */
export const EXAMPLE_FILE: Uint8Array = new TextEncoder().encode("hello");
/** SHA-256 of {@linkcode EXAMPLE_FILE}, lower-case hex. */
export const EXAMPLE_SHA256: string = createHash("sha256")
  .update(EXAMPLE_FILE).digest("hex");
/**
 * XXH3-128 of {@linkcode EXAMPLE_FILE}, lower-case hex, as `xxh128sum`
 * prints it (a literal, so the examples do not depend on the hash code).
 */
export const EXAMPLE_XXH128 = "b5e9c1ad071b3e7fc779cfaa5e523818";
/** 2023-11-14T22:13:20Z in ms since the epoch. */
const MTIME = 1_700_000_000_000;

/** One message of every type, in tag order. */
export const EXAMPLES: { [T in MessageType]: MessageOf<T> } = {
  hello: {
    type: "hello",
    id: 0,
    versions: [1],
    features: ["zstd"],
    agent: "fts/0.1.0",
  },
  welcome: {
    type: "welcome",
    id: 0,
    version: 1,
    features: ["zstd"],
    agent: "fts/0.1.0",
    auth: false,
    chunkSize: 1_048_576,
    uploads: 128,
  },
  auth: { type: "auth", id: 0, user: "ana", password: "correct horse" },
  bye: { type: "bye", id: 0 },
  going_away: {
    type: "going_away",
    id: 0,
    graceMs: 30_000,
    reason: "Server is shutting down",
  },
  ping: { type: "ping", id: 0 },
  pong: { type: "pong", id: 0 },
  ok: { type: "ok", id: 0, perms: ["read", "write"] },
  error: {
    type: "error",
    id: 3,
    code: "not_found",
    message: 'Cannot download "b.txt": no such file',
  },
  list: { type: "list", id: 1, path: "" },
  entries: {
    type: "entries",
    id: 1,
    entries: [
      { name: "a.txt", type: "file", size: 5, mtime: MTIME },
      {
        name: "b.age",
        type: "file",
        size: 205,
        mtime: MTIME,
        encrypted: true,
      },
      { name: "docs", type: "dir", size: 0, mtime: MTIME },
    ],
    more: true,
  },
  list_next: { type: "list_next", id: 1 },
  sums: {
    type: "sums",
    id: 8,
    files: [
      { name: "a.txt", size: 5 },
      { name: "docs/b.txt", size: 3 },
      { name: "new.txt", size: 9 },
    ],
  },
  sums_result: {
    type: "sums_result",
    id: 8,
    files: [
      { type: "file", size: 5, sha256: EXAMPLE_SHA256 },
      { type: "file", size: 4 },
      { type: "none" },
    ],
  },
  put: {
    type: "put",
    id: 2,
    name: "a.txt",
    size: 5,
    overwrite: false,
    mtime: MTIME,
    mode: 0o644,
  },
  put_ready: { type: "put_ready", id: 2, offset: 0 },
  data: { type: "data", id: 2, offset: 0, bytes: EXAMPLE_FILE, zstd: false },
  put_end: { type: "put_end", id: 2, sha256: EXAMPLE_SHA256 },
  put_done: {
    type: "put_done",
    id: 2,
    name: "(1) a.txt",
    size: 5,
    sha256: EXAMPLE_SHA256,
  },
  get: {
    type: "get",
    id: 3,
    name: "a.txt",
    offset: 1,
    length: 3,
    expect: { size: 5, mtime: MTIME },
  },
  get_ready: { type: "get_ready", id: 3, name: "a.txt", size: 5, mtime: MTIME },
  get_end: { type: "get_end", id: 3, xxh128: EXAMPLE_XXH128 },
  delete: { type: "delete", id: 4, name: "old.txt" },
  rename: {
    type: "rename",
    id: 5,
    from: "a.txt",
    to: "docs/a.txt",
    overwrite: false,
  },
  mkdir: { type: "mkdir", id: 6, name: "docs" },
  shutdown: { type: "shutdown", id: 7, graceMs: 30_000 },
  cancel: { type: "cancel", id: 2 },
  usage: { type: "usage", id: 9 },
  usage_report: {
    type: "usage_report",
    id: 9,
    account: {
      name: "alice",
      used: 9_663_676_416,
      reserved: 0,
      limit: 10_737_418_240,
    },
    server: {
      used: 52_613_349_376,
      reserved: 734_003_200,
      limit: 107_374_182_400,
      free: 214_748_364_800,
      minFree: 1_073_741_824,
    },
  },
};

/** {@linkcode EXAMPLES} as a list. */
export const EXAMPLE_LIST: readonly Message[] = Object.values(EXAMPLES);

/** Lower-case hex of `bytes`, no separators. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Parses hex, ignoring whitespace. @throws {SyntaxError} on bad hex. */
export function fromHex(text: string): Uint8Array {
  const hex = text.replace(/\s+/g, "");
  if (!/^(?:[0-9a-f]{2})*$/.test(hex)) {
    throw new SyntaxError(`Not lower-case hex: ${hex.slice(0, 40)}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

/**
 * The hex block PROTOCOL.md shows for `frame`: the 16-byte header on the
 * first line, then the payload 16 bytes per line, bytes separated by spaces.
 */
export function formatHexBlock(frame: Uint8Array): string {
  const lines = [frame.subarray(0, 16)];
  for (let i = 16; i < frame.byteLength; i += 16) {
    lines.push(frame.subarray(i, i + 16));
  }
  return lines.map((line) => toHex(line).replace(/(..)(?!$)/g, "$1 "))
    .join("\n");
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The 16-byte hash of the first block of the resumed examples (1 MiB of "x"). */
const FIRST_BLOCK_SUM = createHash("sha256")
  .update(new Uint8Array(1_048_576).fill(0x78)).digest().subarray(0, 16);

/**
 * Further examples of some message types, keyed `type, variant` as their
 * PROTOCOL.md headings read (`### PUT_READY (0x31), resumed`): the resumed
 * upload of §13.
 */
export const VARIANT_EXAMPLES: Record<string, Message> = {
  "put, resumed": {
    type: "put",
    id: 6,
    name: "x.iso",
    size: 3_145_728,
    overwrite: false,
    mtime: MTIME,
    resume: true,
  },
  "put_ready, resumed": {
    type: "put_ready",
    id: 6,
    offset: 1_048_576,
    block: 1_048_576,
    sums: btoa(String.fromCharCode(...FIRST_BLOCK_SUM)),
  },
};
