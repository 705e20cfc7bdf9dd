/**
 * Message layer of the fts protocol: the tag table, the typed messages and
 * their encoding inside frames. Pure: no I/O.
 *
 * Control messages carry a UTF-8 JSON object as payload (keys written in
 * ascending order; readers accept any order and ignore unknown keys). DATA
 * frames are binary: a u64 big-endian offset, then the chunk bytes.
 *
 * @module
 */

import { type ErrorCode, isErrorCode, ProtocolError } from "./errors.ts";
import {
  encodeFrame,
  type Frame,
  HEADER_SIZE,
  MAX_PAYLOAD,
  writeHeader,
} from "./frame.ts";

/** Message type tags (the frame header's `type` byte). */
export const MSG = {
  HELLO: 0x01,
  WELCOME: 0x02,
  AUTH: 0x03,
  BYE: 0x04,
  GOING_AWAY: 0x05,
  PING: 0x06,
  PONG: 0x07,
  OK: 0x10,
  ERROR: 0x11,
  LIST: 0x20,
  ENTRIES: 0x21,
  SUMS: 0x22,
  SUMS_RESULT: 0x23,
  LIST_NEXT: 0x2f,
  PUT: 0x30,
  PUT_READY: 0x31,
  DATA: 0x32,
  PUT_END: 0x33,
  PUT_DONE: 0x34,
  GET: 0x40,
  GET_READY: 0x41,
  GET_END: 0x42,
  DELETE: 0x50,
  RENAME: 0x51,
  MKDIR: 0x52,
  SHUTDOWN: 0x60,
  CANCEL: 0x61,
  USAGE: 0x62,
  USAGE_REPORT: 0x63,
} as const;

/** Frame flag: more ENTRIES frames follow for the same request. */
export const FLAG_MORE = 0x01;
/** Frame flag on DATA: the chunk is one zstd frame (feature "zstd"). */
export const FLAG_ZSTD = 0x02;

/** The version of the message layer this code speaks. */
export const PROTOCOL_VERSION = 1;
/** Features this code can negotiate in HELLO/WELCOME. */
export const KNOWN_FEATURES = [
  "zstd",
  "mode",
  "usage",
  "pull",
  "sums",
  "resume",
  "xxh128",
] as const;
/**
 * Largest LIST `window` (feature "pull"): ENTRIES frames a server may send
 * ahead of the client's LIST_NEXT.
 */
export const MAX_LIST_WINDOW = 64;
/** Most files one SUMS request (feature "sums") may ask about. */
export const MAX_SUMS = 1000;
/** Largest permission-bits value (`rwxrwxrwx`) of a `mode` field (feature "mode"). */
export const MAX_MODE = 0o777;
/**
 * Feature "resume": the smallest block size (1 MiB) of block hashes; a file
 * is cut into blocks of a power of two bytes, at least this, so that it has
 * at most {@linkcode MAX_BLOCK_SUMS} blocks.
 */
export const MIN_RESUME_BLOCK = 1024 * 1024;
/** Feature "resume": the most block hashes one list holds (16,384). */
export const MAX_BLOCK_SUMS = 16384;
/** Feature "resume": bytes of one block hash (the first 16 of a SHA-256). */
export const BLOCK_DIGEST_BYTES = 16;
/** Bytes before a chunk in a DATA frame: header plus u64 offset. */
export const DATA_PREFIX = HEADER_SIZE + 8;
/** Largest chunk a DATA frame carries by default (1 MiB). */
export const DEFAULT_CHUNK = 1024 * 1024;

/** A file or folder as listed by ENTRIES. Times are ms since the epoch. */
export interface Entry {
  readonly name: string;
  readonly type: "file" | "dir";
  readonly size: number;
  readonly mtime: number;
  /**
   * True when the file starts like an age file (`age-encryption.org/v1`):
   * the server holds only ciphertext. Absent means no (optional field).
   */
  readonly encrypted?: boolean;
  /**
   * Permission bits, 0 to {@linkcode MAX_MODE} (feature "mode"; absent
   * without it).
   */
  readonly mode?: number;
}

/** One file a SUMS request asks about: its name and the size the client has. */
export interface SumQuery {
  readonly name: string;
  readonly size: number;
}

/**
 * What the server found under one name of a SUMS request: nothing, a
 * folder, a file of another size, a file of the size asked with its
 * SHA-256, or a name it refused to look at (with the error code it would
 * have answered a request for it with).
 */
export type SumAnswer =
  | { readonly type: "none" }
  | { readonly type: "dir" }
  | { readonly type: "file"; readonly size: number; readonly sha256?: string }
  | { readonly type: "refused"; readonly code: ErrorCode };

/** What a client expects of a file it names by listing number. */
export interface Expect {
  readonly size: number;
  readonly mtime: number;
}

/**
 * Storage use as USAGE_REPORT gives it (feature "usage"), in bytes. `used`
 * counts stored files, `reserved` the declared sizes of uploads in flight
 * not yet stored; `limit` is absent when there is none.
 */
export interface UsageFigures {
  readonly used: number;
  readonly reserved: number;
  readonly limit?: number;
}

/** The server's part of a USAGE_REPORT. */
export interface ServerUsage extends UsageFigures {
  /** Free bytes on the server's disk, when the backend can tell. */
  readonly free?: number;
  /** Free bytes the server keeps on its disk (`--min-free`), when set. */
  readonly minFree?: number;
}

/** The client's account's part of a USAGE_REPORT. */
export interface AccountUsage extends UsageFigures {
  readonly name: string;
}

/** A USAGE_REPORT's figures: the server's, and the account's when logged in. */
export interface UsageReport {
  readonly server: ServerUsage;
  readonly account?: AccountUsage;
}

/**
 * The checksum of a whole file in PUT_END, PUT_DONE and GET_END: its
 * SHA-256, or its XXH3-128 when the feature "xxh128" was negotiated; in
 * lower-case hex.
 */
export type Checksum =
  | { sha256: string; xxh128?: never }
  | { xxh128: string; sha256?: never };

/** The algorithm and hex value of `checksum`. */
export function checksumParts(
  checksum: Checksum,
): { algorithm: "sha256" | "xxh128"; hex: string } {
  return checksum.xxh128 === undefined
    ? { algorithm: "sha256", hex: checksum.sha256 }
    : { algorithm: "xxh128", hex: checksum.xxh128 };
}

/** The checksum field of `message` alone (e.g. to answer a PUT_END). */
export function checksumOnly(message: Checksum): Checksum {
  return message.xxh128 === undefined
    ? { sha256: message.sha256 }
    : { xxh128: message.xxh128 };
}

/** The {@linkcode Checksum} of `algorithm` with value `hex`. */
export function checksumOf(
  algorithm: "sha256" | "xxh128",
  hex: string,
): Checksum {
  return algorithm === "sha256" ? { sha256: hex } : { xxh128: hex };
}

/** Every message, discriminated by `type`; `id` is the request id. */
export type Message =
  | {
    type: "hello";
    id: number;
    versions: number[];
    features: string[];
    agent: string;
  }
  | {
    type: "welcome";
    id: number;
    version: number;
    features: string[];
    agent: string;
    auth: boolean;
    chunkSize: number;
    uploads?: number;
  }
  | { type: "auth"; id: number; user: string; password: string }
  | { type: "bye"; id: number }
  | { type: "going_away"; id: number; graceMs: number; reason: string }
  | { type: "ping"; id: number }
  | { type: "pong"; id: number }
  | { type: "ok"; id: number; perms?: string[] }
  | { type: "error"; id: number; code: ErrorCode; message: string }
  | {
    type: "list";
    id: number;
    path: string;
    /**
     * Feature "pull": ENTRIES frames the server sends before it waits for
     * a LIST_NEXT, 1 to {@linkcode MAX_LIST_WINDOW}; absent: all at once.
     */
    window?: number;
  }
  | { type: "list_next"; id: number }
  | { type: "entries"; id: number; entries: Entry[]; more: boolean }
  | { type: "sums"; id: number; files: SumQuery[] }
  | { type: "sums_result"; id: number; files: SumAnswer[] }
  | {
    type: "put";
    id: number;
    name: string;
    size: number;
    overwrite: boolean;
    mtime?: number;
    /** Permission bits the stored file should get (feature "mode"). */
    mode?: number;
    /**
     * Feature "resume": continue a partial upload of this name, size and
     * mtime if the server kept one. Absent means false.
     */
    resume?: boolean;
  }
  | {
    type: "put_ready";
    id: number;
    /**
     * Where the client's new data starts: 0, or (feature "resume") the
     * length of a kept partial the server verified.
     */
    offset: number;
    /**
     * Feature "resume", with an `offset` above 0: the block size of
     * `sums`, a power of two from {@linkcode MIN_RESUME_BLOCK}.
     */
    block?: number;
    /**
     * Feature "resume", with `block`: the base64 of the 16-byte hashes of
     * the blocks of the partial's first `offset` bytes (the last one
     * short when `offset` is not a multiple of `block`).
     */
    sums?: string;
  }
  | {
    type: "data";
    id: number;
    offset: number;
    bytes: Uint8Array;
    zstd: boolean;
  }
  | ({ type: "put_end"; id: number } & Checksum)
  | ({ type: "put_done"; id: number; name: string; size: number } & Checksum)
  | {
    type: "get";
    id: number;
    name: string;
    offset: number;
    expect?: Expect;
    /**
     * How many bytes from `offset` are wanted (feature "resume"); absent:
     * up to the end of the file.
     */
    length?: number;
  }
  | {
    type: "get_ready";
    id: number;
    name: string;
    size: number;
    mtime: number;
    /** The file's permission bits (feature "mode"). */
    mode?: number;
  }
  | ({ type: "get_end"; id: number } & Checksum)
  | { type: "delete"; id: number; name: string; expect?: Expect }
  | {
    type: "rename";
    id: number;
    from: string;
    to: string;
    overwrite: boolean;
    expect?: Expect;
  }
  | { type: "mkdir"; id: number; name: string }
  | { type: "shutdown"; id: number; graceMs: number }
  | { type: "cancel"; id: number }
  | { type: "usage"; id: number }
  | {
    type: "usage_report";
    id: number;
    server: ServerUsage;
    /** Absent for an anonymous client. */
    account?: AccountUsage;
  };

/** The name of a message type, e.g. `"put"`. */
export type MessageType = Message["type"];
/** The message of type `T`. */
export type MessageOf<T extends MessageType> = Extract<Message, { type: T }>;

const TAG_BY_TYPE: Record<MessageType, number> = {
  hello: MSG.HELLO,
  welcome: MSG.WELCOME,
  auth: MSG.AUTH,
  bye: MSG.BYE,
  going_away: MSG.GOING_AWAY,
  ping: MSG.PING,
  pong: MSG.PONG,
  ok: MSG.OK,
  error: MSG.ERROR,
  list: MSG.LIST,
  entries: MSG.ENTRIES,
  list_next: MSG.LIST_NEXT,
  sums: MSG.SUMS,
  sums_result: MSG.SUMS_RESULT,
  put: MSG.PUT,
  put_ready: MSG.PUT_READY,
  data: MSG.DATA,
  put_end: MSG.PUT_END,
  put_done: MSG.PUT_DONE,
  get: MSG.GET,
  get_ready: MSG.GET_READY,
  get_end: MSG.GET_END,
  delete: MSG.DELETE,
  rename: MSG.RENAME,
  mkdir: MSG.MKDIR,
  shutdown: MSG.SHUTDOWN,
  cancel: MSG.CANCEL,
  usage: MSG.USAGE,
  usage_report: MSG.USAGE_REPORT,
};

const TYPE_BY_TAG = new Map<number, MessageType>(
  Object.entries(TAG_BY_TYPE).map(([type, tag]) => [tag, type as MessageType]),
);

/** The wire tag of a message type. */
export function tagOf(type: MessageType): number {
  return TAG_BY_TYPE[type];
}

/** The message type of a wire tag, or undefined for an unknown tag. */
export function typeOfTag(tag: number): MessageType | undefined {
  return TYPE_BY_TAG.get(tag);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a message as one complete frame.
 *
 * @throws {RangeError} if the payload would exceed MAX_PAYLOAD.
 * @example
 * ```ts
 * const bytes = encodeMessage({ type: "list", id: 2, path: "" });
 * ```
 */
export function encodeMessage(message: Message): Uint8Array {
  if (message.type === "data") {
    const out = new Uint8Array(DATA_PREFIX + message.bytes.byteLength);
    writeDataPrefix(out, message.id, message.offset, message.bytes.byteLength, {
      zstd: message.zstd,
    });
    out.set(message.bytes, DATA_PREFIX);
    return out;
  }
  const { type, id, ...body } = message;
  let flags = 0;
  if (type === "entries") {
    delete (body as { more?: boolean }).more;
    if (message.more) flags |= FLAG_MORE;
  }
  const payload = utf8Bytes(canonicalJson(body));
  return encodeFrame({ type: TAG_BY_TYPE[type], flags, id, payload });
}

/**
 * Writes the 24-byte prefix of a DATA frame (header and offset) into `target`,
 * so that a sender can read a file chunk straight into
 * `target.subarray(DATA_PREFIX)` and write the whole buffer at once.
 */
export function writeDataPrefix(
  target: Uint8Array,
  id: number,
  offset: number,
  chunkLength: number,
  options: { zstd: boolean } = { zstd: false },
): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`Data offset ${offset} is not a valid u64`);
  }
  writeHeader(target, {
    type: MSG.DATA,
    flags: options.zstd ? FLAG_ZSTD : 0,
    id,
    length: 8 + chunkLength,
  });
  new DataView(target.buffer, target.byteOffset + HEADER_SIZE, 8)
    .setBigUint64(0, BigInt(offset));
}

/**
 * Decodes a frame into a typed message. DATA `bytes` is a view into the
 * frame's payload (copy it if the frame's buffer will be reused).
 *
 * @throws {ProtocolError} for an unknown type, unknown flags, bad JSON, a
 * field of the wrong type, an integer beyond 2^53-1 or a WELCOME `chunkSize`
 * outside 1..MAX_PAYLOAD-8.
 */
export function decodeMessage(frame: Frame): Message {
  const type = typeOfTag(frame.type);
  if (type === undefined) {
    throw new ProtocolError(
      `Unknown message type 0x${frame.type.toString(16).padStart(2, "0")}`,
    );
  }
  const allowed = type === "data"
    ? FLAG_ZSTD
    : type === "entries"
    ? FLAG_MORE
    : 0;
  if ((frame.flags & ~allowed) !== 0) {
    throw new ProtocolError(
      `Unknown flags 0x${frame.flags.toString(16)} on ${type}`,
    );
  }
  const id = frame.id;
  if (type === "data") {
    if (frame.payload.byteLength < 8) {
      throw new ProtocolError("DATA frame is shorter than its offset");
    }
    const offset = new DataView(
      frame.payload.buffer,
      frame.payload.byteOffset,
      8,
    ).getBigUint64(0);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ProtocolError(`DATA offset ${offset} is beyond 2^53`);
    }
    return {
      type,
      id,
      offset: Number(offset),
      bytes: frame.payload.subarray(8),
      zstd: (frame.flags & FLAG_ZSTD) !== 0,
    };
  }
  const o = parseBody(frame.payload, type);
  switch (type) {
    case "hello":
      return {
        type,
        id,
        versions: uintArray(o, "versions"),
        features: strArray(o, "features"),
        agent: str(o, "agent"),
      };
    case "welcome":
      return {
        type,
        id,
        version: uint(o, "version"),
        features: strArray(o, "features"),
        agent: str(o, "agent"),
        auth: bool(o, "auth"),
        chunkSize: chunkSize(o),
        ...uploadWindow(o),
      };
    case "auth":
      return { type, id, user: str(o, "user"), password: str(o, "password") };
    case "bye":
    case "ping":
    case "pong":
    case "cancel":
    case "usage":
    case "list_next":
      return { type, id };
    case "going_away":
      return {
        type,
        id,
        graceMs: uint(o, "graceMs"),
        reason: str(o, "reason"),
      };
    case "ok": {
      const perms = o.perms === undefined ? undefined : strArray(o, "perms");
      return perms === undefined ? { type, id } : { type, id, perms };
    }
    case "error": {
      const code = o.code;
      if (!isErrorCode(code)) {
        throw new ProtocolError(`Unknown error code ${JSON.stringify(code)}`);
      }
      return { type, id, code, message: str(o, "message") };
    }
    case "list": {
      const path = str(o, "path");
      if (o.window === undefined) return { type, id, path };
      const window = uint(o, "window");
      if (window < 1 || window > MAX_LIST_WINDOW) {
        throw new ProtocolError(
          `LIST window ${window} is not between 1 and ${MAX_LIST_WINDOW}`,
        );
      }
      return { type, id, path, window };
    }
    case "entries":
      return {
        type,
        id,
        entries: entryArray(o.entries),
        more: (frame.flags & FLAG_MORE) !== 0,
      };
    case "sums":
      return { type, id, files: sumQueries(o.files) };
    case "sums_result":
      return { type, id, files: sumAnswers(o.files) };
    case "put": {
      const base = {
        type,
        id,
        name: str(o, "name"),
        size: uint(o, "size"),
        overwrite: bool(o, "overwrite"),
      };
      const put = withMode(
        o.mtime === undefined ? base : { ...base, mtime: uint(o, "mtime") },
        o,
      );
      return o.resume === undefined
        ? put
        : { ...put, resume: bool(o, "resume") };
    }
    case "put_ready":
      return putReady(id, o);
    case "put_end":
    case "get_end":
      return { type, id, ...checksum(o) };
    case "put_done":
      return {
        type,
        id,
        name: str(o, "name"),
        size: uint(o, "size"),
        ...checksum(o),
      };
    case "get": {
      const base = withExpect(
        { type, id, name: str(o, "name"), offset: uint(o, "offset") },
        o,
      );
      return o.length === undefined
        ? base
        : { ...base, length: uint(o, "length") };
    }
    case "get_ready":
      return withMode({
        type,
        id,
        name: str(o, "name"),
        size: uint(o, "size"),
        mtime: uint(o, "mtime"),
      }, o);
    case "delete":
      return withExpect({ type, id, name: str(o, "name") }, o);
    case "rename":
      return withExpect(
        {
          type,
          id,
          from: str(o, "from"),
          to: str(o, "to"),
          overwrite: bool(o, "overwrite"),
        },
        o,
      );
    case "mkdir":
      return { type, id, name: str(o, "name") };
    case "shutdown":
      return { type, id, graceMs: uint(o, "graceMs") };
    case "usage_report": {
      const server = object(o, "server");
      const report = {
        type,
        id,
        server: {
          ...figures(server),
          ...optionalUint(server, "free"),
          ...optionalUint(server, "minFree"),
        },
      };
      if (o.account === undefined) return report;
      const account = object(o, "account");
      return {
        ...report,
        account: { name: str(account, "name"), ...figures(account) },
      };
    }
  }
}

type Body = Record<string, unknown>;

function parseBody(payload: Uint8Array, type: MessageType): Body {
  let value: unknown;
  try {
    value = JSON.parse(utf8Text(payload));
  } catch (cause) {
    throw new ProtocolError(`Malformed ${type} payload`, { cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError(`The ${type} payload is not a JSON object`);
  }
  return value as Body;
}

function str(o: Body, key: string): string {
  const v = o[key];
  if (typeof v !== "string") throw fieldError(key, "a string");
  return v;
}

function bool(o: Body, key: string): boolean {
  const v = o[key];
  if (typeof v !== "boolean") throw fieldError(key, "a boolean");
  return v;
}

function uint(o: Body, key: string): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw fieldError(key, "an integer from 0 to 2^53-1");
  }
  return v === 0 ? 0 : v; // JSON "-0" is a valid 0; keep decodes canonical
}

// A DATA frame holds the 8-byte offset and one chunk within MAX_PAYLOAD, so
// a chunk size of 0 or above MAX_PAYLOAD - 8 cannot be honoured.
function chunkSize(o: Body): number {
  const v = uint(o, "chunkSize");
  if (v < 1 || v > MAX_PAYLOAD - 8) {
    throw fieldError("chunkSize", `from 1 to ${MAX_PAYLOAD - 8}`);
  }
  return v;
}

/**
 * The checksum field of PUT_END, PUT_DONE or GET_END: `sha256`, or
 * `xxh128` (feature "xxh128"), exactly one of them.
 */
function checksum(o: Body): Checksum {
  if (o.xxh128 === undefined) return { sha256: sha(o, "sha256") };
  if (o.sha256 !== undefined) {
    throw new ProtocolError("A frame has both sha256 and xxh128");
  }
  const v = str(o, "xxh128");
  if (!/^[0-9a-f]{32}$/.test(v)) {
    throw fieldError("xxh128", "an XXH3-128 in hex");
  }
  return { xxh128: v };
}

function uploadWindow(o: Body): { uploads?: number } {
  if (o.uploads === undefined) return {};
  const v = uint(o, "uploads");
  if (v < 1) throw fieldError("uploads", "at least 1");
  return { uploads: v };
}

function sha(o: Body, key: string): string {
  const v = str(o, key);
  if (!/^[0-9a-f]{64}$/.test(v)) throw fieldError(key, "a SHA-256 in hex");
  return v;
}

function object(o: Body, key: string): Body {
  const v = o[key];
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw fieldError(key, "an object");
  }
  return v as Body;
}

function optionalUint(o: Body, key: string): Record<string, number> {
  return o[key] === undefined ? {} : { [key]: uint(o, key) };
}

function figures(o: Body): UsageFigures {
  return {
    used: uint(o, "used"),
    reserved: uint(o, "reserved"),
    ...optionalUint(o, "limit"),
  };
}

function strArray(o: Body, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw fieldError(key, "an array of strings");
  }
  return v as string[];
}

function uintArray(o: Body, key: string): number[] {
  const v = o[key];
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) {
    throw fieldError(key, "an array of integers");
  }
  return v as number[];
}

function entryArray(v: unknown): Entry[] {
  if (!Array.isArray(v)) throw fieldError("entries", "an array");
  return v.map((item): Entry => {
    if (typeof item !== "object" || item === null) {
      throw fieldError("entries", "an array of objects");
    }
    const e = item as Body;
    const type = e.type;
    if (type !== "file" && type !== "dir") {
      throw fieldError("entries[].type", '"file" or "dir"');
    }
    const entry: Entry = {
      name: str(e, "name"),
      type,
      size: uint(e, "size"),
      mtime: uint(e, "mtime"),
    };
    return withMode(
      e.encrypted === undefined
        ? entry
        : { ...entry, encrypted: bool(e, "encrypted") },
      e,
    );
  });
}

/** The `files` of a SUMS: 1 to MAX_SUMS objects `{name, size}`. */
function sumQueries(v: unknown): SumQuery[] {
  return sumList(v).map((e) => ({
    name: str(e, "name"),
    size: uint(e, "size"),
  }));
}

/** The `files` of a SUMS_RESULT: at most MAX_SUMS answers. */
function sumAnswers(v: unknown): SumAnswer[] {
  return sumList(v).map((e): SumAnswer => {
    switch (e.type) {
      case "none":
      case "dir":
        return { type: e.type };
      case "file": {
        const size = uint(e, "size");
        return e.sha256 === undefined
          ? { type: "file", size }
          : { type: "file", size, sha256: sha(e, "sha256") };
      }
      case "refused": {
        if (!isErrorCode(e.code)) {
          throw new ProtocolError(
            `Unknown error code ${JSON.stringify(e.code)}`,
          );
        }
        return { type: "refused", code: e.code };
      }
      default:
        throw fieldError("files[].type", '"none", "dir", "file" or "refused"');
    }
  });
}

/** An array of 1 to MAX_SUMS objects, checked before any item is read. */
function sumList(v: unknown): Body[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_SUMS) {
    throw fieldError("files", `an array of 1 to ${MAX_SUMS} objects`);
  }
  for (const item of v) {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      throw fieldError("files", `an array of 1 to ${MAX_SUMS} objects`);
    }
  }
  return v as Body[];
}

/** Longest `sums` text: base64 of {@linkcode MAX_BLOCK_SUMS} digests. */
const MAX_SUMS_CHARS = Math.ceil(MAX_BLOCK_SUMS * BLOCK_DIGEST_BYTES / 3) * 4;

/**
 * A PUT_READY: `block` and `sums` come together, only with an offset above
 * 0; `block` is a power of two from MIN_RESUME_BLOCK to 2^50; `sums` is
 * base64 (length checked before anything else) of exactly
 * ceil(offset / block) digests of BLOCK_DIGEST_BYTES.
 */
function putReady(id: number, o: Body): MessageOf<"put_ready"> {
  const offset = uint(o, "offset");
  if (o.block === undefined && o.sums === undefined) {
    return { type: "put_ready", id, offset };
  }
  const block = uint(o, "block");
  if (
    block < MIN_RESUME_BLOCK || block > 2 ** 50 ||
    !Number.isInteger(Math.log2(block))
  ) {
    throw fieldError("block", "a power of two of at least 1 MiB");
  }
  const sums = o.sums;
  if (typeof sums !== "string" || sums.length > MAX_SUMS_CHARS) {
    throw fieldError("sums", `base64 of at most ${MAX_BLOCK_SUMS} hashes`);
  }
  const count = Math.ceil(offset / block);
  if (
    offset === 0 || count > MAX_BLOCK_SUMS ||
    base64Bytes(sums) !== count * BLOCK_DIGEST_BYTES
  ) {
    throw fieldError(
      "sums",
      `base64 of one ${BLOCK_DIGEST_BYTES}-byte hash per block of the offset`,
    );
  }
  return { type: "put_ready", id, offset, block, sums };
}

/** Bytes that base64 `text` decodes to, or -1 when it is not base64. */
function base64Bytes(text: string): number {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    return -1;
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return text.length / 4 * 3 - padding;
}

/** `base` with the optional `mode` of `o`, checked to be 0 to MAX_MODE. */
function withMode<T extends object>(base: T, o: Body): T & { mode?: number } {
  if (o.mode === undefined) return base;
  const mode = uint(o, "mode");
  if (mode > MAX_MODE) throw fieldError("mode", `at most ${MAX_MODE}`);
  return { ...base, mode };
}

function withExpect<T extends object>(
  base: T,
  o: Body,
): T & { expect?: Expect } {
  const e = o.expect;
  if (e === undefined) return base;
  if (typeof e !== "object" || e === null) {
    throw fieldError("expect", "an object");
  }
  return {
    ...base,
    expect: { size: uint(e as Body, "size"), mtime: uint(e as Body, "mtime") },
  };
}

function fieldError(key: string, what: string): ProtocolError {
  return new ProtocolError(`Field "${key}" must be ${what}`);
}

/**
 * JSON with object keys in ascending order, so encodings are reproducible.
 * The keys are sorted into copies first, then stringified without a
 * replacer, which keeps `JSON.stringify` on its fast path (half the time).
 */
function canonicalJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}

/** `value` with the keys of every object in it in ascending order. */
function sortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value instanceof Uint8Array) {
    throw new TypeError("Binary fields belong in DATA frames");
  }
  const sorted: Body = {};
  for (const k of Object.keys(value).sort()) {
    sorted[k] = sortedKeys((value as Body)[k]);
  }
  return sorted;
}

/**
 * Payloads up to this many bytes that are all ASCII (most messages) are
 * converted by a loop: for such short texts the loop takes a fraction of
 * the time `TextEncoder`/`TextDecoder` take.
 */
const ASCII_LOOP_MAX = 1024;

/** The UTF-8 bytes of `text`. */
function utf8Bytes(text: string): Uint8Array {
  const n = text.length;
  if (n > ASCII_LOOP_MAX) return utf8.encode(text);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return utf8.encode(text);
    out[i] = c;
  }
  return out;
}

/**
 * `payload` decoded as UTF-8.
 *
 * @throws {TypeError} for bytes that are not UTF-8.
 */
function utf8Text(payload: Uint8Array): string {
  const n = payload.byteLength;
  if (n > ASCII_LOOP_MAX) return fromUtf8.decode(payload);
  let text = "";
  for (let i = 0; i < n; i++) {
    const b = payload[i]!;
    if (b >= 0x80) return fromUtf8.decode(payload);
    text += String.fromCharCode(b);
  }
  return text;
}
