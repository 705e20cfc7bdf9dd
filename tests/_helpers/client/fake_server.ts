/**
 * A tiny in-memory fts server for the client's unit tests, speaking the real
 * protocol through FrameConn on 127.0.0.1 port 0. Its default behaviour is
 * correct (LIST, PUT with collision names, GET, DELETE, RENAME and MKDIR
 * with `expect`, CANCEL, BYE); a test makes it hostile by handling a
 * request itself in `handle`, or by taking over the whole connection in
 * `takeOver`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import * as zlib from "node:zlib";
import type { PutResult } from "../../../client/engine/upload.ts";
import { openSession } from "../../../client/engine/session.ts";
import { FrameConn } from "../../../common/frame_conn.ts";
import type { ErrorCode } from "../../../protocol/errors.ts";
import {
  type Checksum,
  DEFAULT_CHUNK,
  type Entry,
  type Message,
  type MessageOf,
} from "../../../protocol/messages.ts";
import { collisionName } from "../../../protocol/names.ts";
import { concat } from "../common/bytes.ts";
import { tempDir } from "../common/temp_dir.ts";

export { concat };

/** A file held by the fake server. */
export interface FakeFile {
  bytes: Uint8Array;
  mtime: number;
}

/** What a `handle` hook gets to act with. */
export interface FakeContext {
  readonly conn: FrameConn;
  readonly server: FakeServer;
  send(message: Message): Promise<void>;
  /** Writes raw bytes, e.g. a broken frame. */
  writeRaw(bytes: Uint8Array): Promise<void>;
}

/** Options of {@linkcode startFakeServer}. */
export interface FakeServerOptions {
  /** Files to start with, by name. */
  files?: Record<string, Uint8Array>;
  /** Folders to start with. */
  dirs?: string[];
  /** Fields of WELCOME to override. */
  welcome?: Partial<MessageOf<"welcome">>;
  /** Features the server supports (intersected with the client's offer). */
  features?: string[];
  /** Handles a request instead of the default; return true when handled. */
  handle?: (ctx: FakeContext, message: Message) => boolean | Promise<boolean>;
  /** Takes over each connection right after accept (no handshake is done). */
  takeOver?: (conn: FrameConn, raw: Deno.TcpConn) => Promise<void>;
  /** Modification time of the starting files, ms since the epoch. */
  mtime?: number;
}

/** The running fake server. */
export interface FakeServer extends AsyncDisposable {
  readonly port: number;
  readonly files: Map<string, FakeFile>;
  readonly dirs: Set<string>;
  /** Every message received after the handshake, DATA without its bytes. */
  readonly received: Message[];
  /** The HELLO of the last connection. */
  hello: MessageOf<"hello"> | null;
  close(): Promise<void>;
}

interface PutState {
  name: string;
  size: number;
  overwrite: boolean;
  parts: Uint8Array[];
  received: number;
  refused: boolean;
}

/** Starts the fake server on 127.0.0.1, port 0. */
export function startFakeServer(options: FakeServerOptions = {}): FakeServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<FrameConn>();
  const tasks = new Set<Promise<void>>();
  const mtime = options.mtime ?? 1_700_000_000_000;
  const server: FakeServer = {
    port: listener.addr.port,
    files: new Map(
      Object.entries(options.files ?? {}).map((
        [name, bytes],
      ) => [name, { bytes, mtime }]),
    ),
    dirs: new Set(options.dirs ?? []),
    received: [],
    hello: null,
    async close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
      for (const conn of conns) conn.close();
      await accepting;
      while (tasks.size > 0) await Promise.all(tasks);
    },
    [Symbol.asyncDispose]() {
      return server.close();
    },
  };
  const accepting = (async () => {
    for (;;) {
      let raw: Deno.TcpConn;
      try {
        raw = await listener.accept();
      } catch {
        return;
      }
      raw.setNoDelay(true);
      const conn = new FrameConn(raw);
      conns.add(conn);
      const task = (async () => {
        try {
          if (options.takeOver) await options.takeOver(conn, raw);
          else await serve(conn, server, options);
        } catch {
          // a test's hostile script or a client gone: nothing to report
        } finally {
          conn.close();
          conns.delete(conn);
        }
      })();
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();
  return server;
}

async function serve(
  conn: FrameConn,
  server: FakeServer,
  options: FakeServerOptions,
) {
  const hello = await conn.readMessage();
  if (hello?.type !== "hello") return;
  server.hello = hello;
  const supported = options.features ?? ["zstd"];
  await conn.send({
    type: "welcome",
    id: 0,
    version: 1,
    features: hello.features.filter((f) => supported.includes(f)),
    agent: "fake/1",
    auth: false,
    chunkSize: DEFAULT_CHUNK,
    ...options.welcome,
  });
  const ctx: FakeContext = {
    conn,
    server,
    send: (m) => conn.send(m),
    writeRaw: (b) => conn.writeAll(b),
  };
  const puts = new Map<number, PutState>();
  for (;;) {
    const message = await conn.readMessage();
    if (message === null || message.type === "bye") return;
    server.received.push(
      message.type === "data"
        ? { ...message, bytes: new Uint8Array() }
        : message,
    );
    if (
      options.handle && message.type !== "data" &&
      await options.handle(ctx, message)
    ) {
      continue;
    }
    await respond(ctx, message, puts);
  }
}

async function respond(
  ctx: FakeContext,
  m: Message,
  puts: Map<number, PutState>,
) {
  const { server } = ctx;
  const fail = (code: ErrorCode, message: string) =>
    ctx.send({ type: "error", id: m.id, code, message });
  switch (m.type) {
    case "list": {
      if (m.path !== "" && !server.dirs.has(m.path)) {
        return fail("not_found", "No such folder");
      }
      const prefix = m.path === "" ? "" : `${m.path}/`;
      const entries: Entry[] = [];
      for (const [name, file] of server.files) {
        const rest = name.slice(prefix.length);
        if (name.startsWith(prefix) && !rest.includes("/")) {
          entries.push({
            name: rest,
            type: "file",
            size: file.bytes.byteLength,
            mtime: file.mtime,
          });
        }
      }
      for (const dir of server.dirs) {
        const rest = dir.slice(prefix.length);
        if (dir.startsWith(prefix) && !rest.includes("/")) {
          entries.push({ name: rest, type: "dir", size: 0, mtime: 0 });
        }
      }
      entries.sort((a, b) => a.name < b.name ? -1 : 1);
      return ctx.send({ type: "entries", id: m.id, entries, more: false });
    }
    case "put": {
      const state: PutState = {
        name: m.name,
        size: m.size,
        overwrite: m.overwrite,
        parts: [],
        received: 0,
        refused: false,
      };
      puts.set(m.id, state);
      return ctx.send({ type: "put_ready", id: m.id, offset: 0 });
    }
    case "data": {
      const state = puts.get(m.id);
      if (!state || state.refused) return;
      const bytes = m.zstd ? zlib.zstdDecompressSync(m.bytes) : m.bytes.slice();
      if (m.offset !== state.received) {
        throw new Error("bad offset from client");
      }
      state.parts.push(bytes);
      state.received += bytes.byteLength;
      return;
    }
    case "put_end": {
      const state = puts.get(m.id);
      puts.delete(m.id);
      if (!state || state.refused) return;
      const bytes = concat(state.parts);
      const sha256 = createHash("sha256").update(bytes).digest("hex");
      if (bytes.byteLength !== state.size || sha256 !== m.sha256) {
        return fail("checksum_mismatch", "Checksum mismatch");
      }
      let name = state.name;
      for (let n = 1; !state.overwrite && server.files.has(name); n++) {
        name = collisionName(state.name, n);
      }
      server.files.set(name, { bytes, mtime: Date.now() });
      return ctx.send({
        type: "put_done",
        id: m.id,
        name,
        size: bytes.byteLength,
        sha256,
      });
    }
    case "cancel": {
      if (puts.delete(m.id)) return fail("cancelled", "Cancelled");
      return;
    }
    case "get": {
      const file = server.files.get(m.name);
      if (!file) {
        return fail("not_found", `Cannot get "${m.name}": no such file`);
      }
      if (m.expect && !matches(file, m.expect)) return fail("stale", "Stale");
      await ctx.send({
        type: "get_ready",
        id: m.id,
        name: m.name,
        size: file.bytes.byteLength,
        mtime: file.mtime,
      });
      for (let at = 0; at < file.bytes.byteLength; at += DEFAULT_CHUNK) {
        const bytes = file.bytes.subarray(at, at + DEFAULT_CHUNK);
        await ctx.send({
          type: "data",
          id: m.id,
          offset: at,
          bytes,
          zstd: false,
        });
      }
      const sha256 = createHash("sha256").update(file.bytes).digest("hex");
      return ctx.send({ type: "get_end", id: m.id, sha256 });
    }
    case "delete": {
      const file = server.files.get(m.name);
      if (!file) return fail("not_found", "No such file");
      if (m.expect && !matches(file, m.expect)) return fail("stale", "Stale");
      server.files.delete(m.name);
      return ctx.send({ type: "ok", id: m.id });
    }
    case "rename": {
      const file = server.files.get(m.from);
      if (!file) return fail("not_found", "No such file");
      if (m.expect && !matches(file, m.expect)) return fail("stale", "Stale");
      if (server.files.has(m.to) && !m.overwrite) {
        return fail("exists", "Exists");
      }
      server.files.delete(m.from);
      server.files.set(m.to, file);
      return ctx.send({ type: "ok", id: m.id });
    }
    case "mkdir": {
      if (server.dirs.has(m.name)) return fail("exists", "Exists");
      server.dirs.add(m.name);
      return ctx.send({ type: "ok", id: m.id });
    }
    case "ping":
      return ctx.send({ type: "pong", id: 0 });
    default:
      return fail("bad_request", `Unexpected ${m.type}`);
  }
}

function matches(
  file: FakeFile,
  expect: { size: number; mtime: number },
): boolean {
  return file.bytes.byteLength === expect.size && file.mtime === expect.mtime;
}

/** SHA-256 of `bytes` in hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * A `handle` hook that answers every request of type `type` with ERROR
 * `code` and `message`, and leaves the others to the fake server.
 */
export function refuseWith(
  type: Message["type"],
  code: ErrorCode,
  message: string,
): (ctx: FakeContext, request: Message) => Promise<boolean> {
  return async (ctx, request) => {
    if (request.type !== type) return false;
    await ctx.send({ type: "error", id: request.id, code, message });
    return true;
  };
}

/**
 * For a `handle` hook: answers a CANCEL the way the real server does (ERROR
 * "cancelled"). Returns true when `message` was a CANCEL.
 */
export const answerCancel = refuseWith("cancel", "cancelled", "Cancelled");

/** Options of {@linkcode sendStalledGet}. */
export interface StalledGetOptions {
  /** The size GET_READY announces. */
  size: number;
  /** The only DATA chunk sent, at offset 0. */
  first: Uint8Array;
}

/**
 * For a `handle` hook: starts answering `get` with GET_READY (mtime 1) and one
 * DATA chunk, then sends nothing more — a stalled transfer.
 */
export async function sendStalledGet(
  ctx: FakeContext,
  get: MessageOf<"get">,
  options: StalledGetOptions,
): Promise<void> {
  await ctx.send({
    type: "get_ready",
    id: get.id,
    name: get.name,
    size: options.size,
    mtime: 1,
  });
  await ctx.send({
    type: "data",
    id: get.id,
    offset: 0,
    bytes: options.first,
    zstd: false,
  });
}

/** A `handle` hook that stalls downloads, and what it has seen. */
export interface StallingGets {
  readonly handle: (ctx: FakeContext, message: Message) => Promise<boolean>;
  /** Resolves once a stalled GET has sent its first chunk. */
  readonly arrived: Promise<void>;
  /** Resolves when the client sends CANCEL (answered as the server does). */
  readonly cancelled: Promise<void>;
}

/**
 * A `handle` hook answering every GET (of `only`, when given) with
 * {@linkcode sendStalledGet}, and CANCEL with {@linkcode answerCancel}.
 */
export function stallingGets(
  options: StalledGetOptions & { readonly only?: string },
): StallingGets {
  const arrived = Promise.withResolvers<void>();
  const cancelled = Promise.withResolvers<void>();
  return {
    arrived: arrived.promise,
    cancelled: cancelled.promise,
    handle: async (ctx, m) => {
      if (m.type === "cancel") cancelled.resolve();
      if (await answerCancel(ctx, m)) return true;
      if (m.type !== "get") return false;
      if (options.only !== undefined && m.name !== options.only) return false;
      await sendStalledGet(ctx, m, options);
      arrived.resolve();
      return true;
    },
  };
}

/**
 * A `handle` hook that answers MKDIR with GOING_AWAY (grace 30 s, `reason`)
 * and then OK.
 */
export function goingAwayOnMkdir(
  reason: string,
): (ctx: FakeContext, message: Message) => Promise<boolean> {
  return async (ctx, m) => {
    if (m.type !== "mkdir") return false;
    await ctx.send({ type: "going_away", id: 0, graceMs: 30_000, reason });
    await ctx.send({ type: "ok", id: m.id });
    return true;
  };
}

/** The fields of a PUT_DONE besides its type and id. */
export type PutDoneFields = { name: string; size: number } & Checksum;

/**
 * A `handle` hook that answers PUT_END with PUT_DONE carrying the fields
 * `fields` returns for it (whatever was really sent).
 */
export function putDoneOnPutEnd(
  fields: (
    end: MessageOf<"put_end">,
  ) => PutDoneFields,
): (ctx: FakeContext, message: Message) => Promise<boolean> {
  return async (ctx, m) => {
    if (m.type !== "put_end") return false;
    await ctx.send({ type: "put_done", id: m.id, ...fields(m) });
    return true;
  };
}

/**
 * Puts a local file "a.txt" holding "abc" as "a.txt" to a fake server that
 * answers its PUT_END with PUT_DONE carrying `fields` (see
 * {@linkcode putDoneOnPutEnd}); resolves or rejects as `put()` does.
 */
export async function putAnsweredBy(
  fields: (
    end: MessageOf<"put_end">,
  ) => PutDoneFields,
): Promise<PutResult> {
  await using server = startFakeServer({ handle: putDoneOnPutEnd(fields) });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  await Deno.writeTextFile(join(tmp.path, "a.txt"), "abc");
  return await session.put(join(tmp.path, "a.txt"), "a.txt");
}
