/**
 * The client engine: one connection to an fts server, its handshake, and a
 * reader loop that hands each reply to the request it belongs to, so many
 * requests can be in flight at once. It never prints: results are returned,
 * progress and server notices arrive through callbacks.
 *
 * @module
 */

import { join, resolve } from "node:path";
import type { Clock } from "../../common/clock.ts";
import { configDir } from "../../common/config_dir.ts";
import {
  type ByteConn,
  FrameConn,
  TruncatedFrameError,
} from "../../common/frame_conn.ts";
import { bandwidthLimits } from "../../common/rate_limit.ts";
import { throttled } from "../../common/throttled_conn.ts";
import { FtsError, NameError, ProtocolError } from "../../protocol/errors.ts";
import {
  decodeMessage,
  type Entry,
  type Expect,
  type Message,
  type UsageReport,
} from "../../protocol/messages.ts";
import { isValidName, validateName } from "../../protocol/names.ts";
import {
  type BatchResult,
  getMany,
  type GetManyItem,
  type ManyOptions,
  putMany,
  type PutManyItem,
} from "./batch.ts";
import type { SessionCore } from "./session_core.ts";
import { SealKeeper } from "./sealed_resume.ts";
import type { SealOptions } from "../vault/age_header.ts";
import { UploadSender, uploadWindow } from "./upload_sender.ts";
import { download, type GetOptions, type GetResult } from "./download.ts";
import {
  connectionLost,
  operationError,
  ReasonError,
  remoteError,
} from "../errors.ts";
import {
  connectTcp,
  handshake,
  type HandshakeOptions,
  type Welcome,
} from "../connect/handshake.ts";
import { type PendingRequest, RequestTable } from "./request_table.ts";
import { DEFAULT_STALL_TIMEOUT_MS, StallWatchdog } from "./stall_watchdog.ts";
import { formatTarget, parseTarget, type Target } from "../connect/target.ts";
import { connectError } from "../connect/connect_error.ts";
import { putTree, type TreeHost, type TreeOptions } from "./tree_put.ts";
import { getTree, type GetTreeOptions } from "./tree_get.ts";
import { type LocalDisk, SYSTEM_DISK } from "./commit_group.ts";
import type { TreeSummary } from "./tree_tally.ts";
import { type RemoveSummary, removeTree } from "./tree_remove.ts";
import {
  compressorFor,
  openUploadSource,
  type PutOptions,
  type PutResult,
  sendResumable,
  type UploadSource,
} from "./upload.ts";

/**
 * The SHUTDOWN `graceMs` that asks for the server's own grace period: the
 * largest integer the protocol allows, which the server caps at its own
 * (PROTOCOL.md, SHUTDOWN).
 */
const SERVER_GRACE = Number.MAX_SAFE_INTEGER;
/**
 * ENTRIES frames a listing asks the server for ahead of its reader
 * (LIST `window`, feature "pull"): the most the engine holds of a listing.
 */
export const LIST_WINDOW = 4;
/** Most entries one listing may hold (a hostile server could send forever). */
const MAX_LIST_ENTRIES = 1_000_000;
/**
 * Refused names one listing keeps for display, each cut to
 * {@linkcode MAX_REFUSED_NAME} UTF-16 units: a hostile server may send
 * megabytes of invalid names, and only their count grows with them.
 */
export const MAX_REFUSED_KEPT = 16;
/** Longest refused name kept, in UTF-16 units. */
export const MAX_REFUSED_NAME = 256;

export {
  CLIENT_AGENT,
  type Credentials,
  type HandshakeOptions,
} from "../connect/handshake.ts";

/** A server's notice that it is shutting down. */
export type { UsageReport };

export interface GoingAway {
  readonly graceMs: number;
  readonly reason: string;
}

/** Options of {@linkcode openSession}. */
export interface SessionOptions extends HandshakeOptions {
  /** Called once when the server announces that it is shutting down. */
  onGoingAway?: (notice: GoingAway) => void;
  /** Opens the byte connection. Default: plain TCP with `Deno.connect`. */
  connect?: (target: Target) => Promise<ByteConn>;
  /**
   * Gives up on the connection when requests are in flight and no byte
   * moves to or from the server for this long (ms); 0 never does. Default
   * {@linkcode DEFAULT_STALL_TIMEOUT_MS} (`fts connect --timeout`).
   */
  stallTimeoutMs?: number;
  /** The stall timer's clock. Default: the system's. */
  watchdogClock?: Clock;
  /**
   * The calls that make downloaded files durable and visible. Default
   * {@linkcode SYSTEM_DISK}; tests pass one that records them.
   */
  localDisk?: LocalDisk;
  /**
   * Bytes per second the connection may carry in each direction
   * (`fts connect --limit`), everything it sends or receives counted as
   * it goes on the wire. Default: no limit.
   *
   * @throws {RangeError} from {@linkcode openSession} below 1,024.
   */
  limit?: number;
}

/**
 * One page of a remote folder's listing, as it arrived (see
 * {@linkcode ClientSession.listPages}).
 */
export interface ListPage {
  /** Entries with valid names (NFC), in the server's order. */
  readonly entries: Entry[];
  /**
   * The first raw names of this page that failed validation (to be shown
   * escaped): at most {@linkcode MAX_REFUSED_KEPT}, each cut to
   * {@linkcode MAX_REFUSED_NAME} units.
   */
  readonly refused: string[];
  /** How many names of this page failed validation in all. */
  readonly refusedCount: number;
}

/** A remote folder's listing. */
export interface Listing {
  /** The folder listed ("" for the top). */
  readonly path: string;
  /** Entries with valid names, in the server's order. */
  readonly entries: Entry[];
  /**
   * The first raw names the server sent that failed validation (to be
   * shown escaped): at most {@linkcode MAX_REFUSED_KEPT}, each cut to
   * {@linkcode MAX_REFUSED_NAME} units.
   */
  readonly refused: string[];
  /** How many names failed validation in all. */
  readonly refusedCount: number;
}

/**
 * Connects to `target` (`HOST[:PORT]` or a {@linkcode Target}) and completes
 * the handshake.
 *
 * @throws {FtsError} `Cannot connect to HOST:PORT: reason`.
 * @example
 * ```ts
 * await using session = await openSession("127.0.0.1:12345");
 * const { entries } = await session.list("");
 * ```
 */
export async function openSession(
  target: string | Target,
  options: SessionOptions = {},
): Promise<ClientSession> {
  const where = typeof target === "string" ? parseTarget(target) : target;
  const label = formatTarget(where);
  const limits = bandwidthLimits({ perConnection: options.limit })();
  let byteConn: ByteConn;
  try {
    options.signal?.throwIfAborted();
    byteConn = options.connect
      ? await options.connect(where)
      : await connectTcp(where);
  } catch (error) {
    throw connectError(label, error);
  }
  const pulse = { beat: () => {}, broken: () => {} };
  const conn = new FrameConn(watched(throttled(byteConn, limits), pulse), {
    byTurn: true,
  });
  try {
    const welcome = await handshake(conn, options);
    return new ClientSession(conn, where, welcome, options, pulse);
  } catch (error) {
    conn.close();
    throw connectError(label, error);
  }
}

/** Options of {@linkcode ClientSession.remove}. */
export interface RemoveOptions {
  /** Refuse with `stale` unless the file has this size and mtime. */
  expect?: Expect;
}

/** Options of {@linkcode ClientSession.rename}. */
export interface RenameOptions {
  /** Replace an existing target atomically. Default false (refused with `exists`). */
  overwrite?: boolean;
  /** Refuse with `stale` unless the source has this size and mtime. */
  expect?: Expect;
}

/** An open connection to an fts server. Create it with {@linkcode openSession}. */
export class ClientSession implements AsyncDisposable {
  /** Where this session is connected. */
  readonly target: Target;
  /** The server's agent string, as sent (display it with quoteName). */
  readonly serverAgent: string;
  /** Features both sides agreed on. */
  readonly features: readonly string[];
  readonly #conn: FrameConn;
  readonly #requests = new RequestTable();
  readonly #core: SessionCore;
  readonly #options: SessionOptions;
  readonly #reading: Promise<void>;
  readonly #watchdog: StallWatchdog;
  #goingAway: GoingAway | null = null;
  #closeError: unknown = null;
  /** Set when the stall timeout gave up on the connection. */
  #stallError: ReasonError | null = null;
  #closing = false;

  /** Use {@linkcode openSession}. */
  constructor(
    conn: FrameConn,
    target: Target,
    welcome: Welcome,
    options: SessionOptions,
    pulse: Pulse = { beat: () => {}, broken: () => {} },
  ) {
    this.#conn = conn;
    this.target = target;
    this.serverAgent = welcome.agent;
    this.features = welcome.features;
    this.#options = options;
    const algorithm = welcome.features.includes("xxh128") ? "xxh128" : "sha256";
    this.#core = {
      conn,
      requests: this.#requests,
      chunkSize: welcome.chunkSize,
      zstd: welcome.features.includes("zstd"),
      modes: welcome.features.includes("mode"),
      sums: welcome.features.includes("sums"),
      resume: welcome.features.includes("resume"),
      algorithm,
      uploads: new UploadSender(conn, this.#requests, welcome.chunkSize, {
        algorithm,
        maxUploads: uploadWindow(welcome.uploads),
      }),
      reclaimed: new Set(),
      disk: options.localDisk ?? SYSTEM_DISK,
    };
    const timeoutMs = options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#watchdog = new StallWatchdog({
      timeoutMs,
      active: () => this.#requests.size > 0,
      onStall: () => {
        this.#stallError = new ReasonError(
          "timeout",
          `the server made no progress for ${formatSeconds(timeoutMs)}`,
        );
        this.#conn.close();
      },
      ...(options.watchdogClock ? { clock: options.watchdogClock } : {}),
    });
    pulse.beat = () => this.#watchdog.progress();
    // A connection that failed a write is no use any more: closing it now
    // tells the request that failed that the connection was lost.
    pulse.broken = () => this.#conn.close();
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.#reading = this.#readLoop();
  }

  /**
   * Resolves when the connection has ended, closed by either side; every
   * request still in flight has failed by then.
   */
  get finished(): Promise<void> {
    return this.#reading;
  }

  /** The server's shutdown notice, once it sent one. */
  get goingAway(): GoingAway | null {
    return this.#goingAway;
  }

  /** True once the connection is closed (by either side). */
  get closed(): boolean {
    return this.#conn.closed || this.#closeError !== null;
  }

  /**
   * True once the connection ended without {@linkcode close}: the server
   * or the network ended it, or it stalled. An operation that failed on a
   * lost session may succeed on a new one (see retry.ts).
   */
  get lost(): boolean {
    return this.closed && !this.#closing;
  }

  /** Largest DATA chunk, as negotiated. */
  get chunkSize(): number {
    return this.#core.chunkSize;
  }

  /**
   * Lists remote folder `path` ("" for the top), collected whole: at most
   * {@linkcode MAX_LIST_ENTRIES} entries. Large folders are better read
   * with {@linkcode listPages}.
   *
   * @throws {FtsError} `Cannot list "path": reason`.
   */
  async list(
    path = "",
    options: { signal?: AbortSignal } = {},
  ): Promise<Listing> {
    const entries: Entry[] = [];
    const refused: string[] = [];
    let refusedCount = 0;
    let shown = path;
    for await (const page of this.listPages(path, options)) {
      if (
        entries.length + refusedCount + page.entries.length +
            page.refusedCount > MAX_LIST_ENTRIES
      ) {
        throw this.#failure(
          "list",
          path === "" ? "/" : path,
          new ProtocolError(
            `A listing has more than ${MAX_LIST_ENTRIES} entries`,
          ),
        );
      }
      for (const entry of page.entries) entries.push(entry);
      for (const name of page.refused) {
        if (refused.length < MAX_REFUSED_KEPT) refused.push(name);
      }
      refusedCount += page.refusedCount;
    }
    if (path !== "") shown = validateName(path);
    return { path: shown, entries, refused, refusedCount };
  }

  /**
   * Lists remote folder `path` ("" for the top) page by page, as the
   * server sends it: the LIST goes out at the first pull, which fails for
   * a folder that cannot be listed. The engine holds only the pages not
   * yet pulled, a few at most when the server pages on request (feature
   * "pull"), so memory stays flat whatever the folder's size. Leaving the
   * loop early cancels the rest of the listing. While the caller holds a
   * page, the connection's stall timer does not run for it.
   *
   * @throws {FtsError} `Cannot list "path": reason` from a pull.
   * @example
   * ```ts
   * for await (const page of session.listPages("photos")) {
   *   for (const entry of page.entries) console.log(entry.name);
   * }
   * ```
   */
  listPages(
    path = "",
    options: { signal?: AbortSignal } = {},
  ): AsyncIterable<ListPage> {
    return {
      [Symbol.asyncIterator]: () => this.#pages(path, options.signal),
    };
  }

  async *#pages(
    path: string,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ListPage, void, undefined> {
    let request: PendingRequest | null = null;
    let ended = false;
    const pull = this.features.includes("pull");
    const fail = (error: unknown) =>
      this.#failure("list", path === "" ? "/" : path, error);
    try {
      try {
        if (path !== "") path = validateName(path);
        request = this.#requests.open();
        try {
          await this.#conn.send({
            type: "list",
            id: request.id,
            path,
            ...(pull ? { window: LIST_WINDOW } : {}),
          }, signal);
        } catch (error) {
          ended = true; // never written: nothing to cancel
          throw error;
        }
      } catch (error) {
        throw fail(error);
      }
      for (;;) {
        let page: ListPage;
        let more: boolean;
        try {
          const reply = await request.next(signal);
          ended = endsListing(reply);
          if (reply.type === "error") {
            throw reply.code === "not_found"
              ? new ReasonError("not_found", "no such folder on the server")
              : remoteError(reply);
          }
          if (reply.type !== "entries") throw unexpectedReply(reply, "LIST");
          page = checkedPage(reply.entries);
          more = reply.more;
        } catch (error) {
          throw fail(error);
        }
        const idle = this.#watchdog.busy();
        try {
          yield page;
        } finally {
          idle();
        }
        if (!more) return;
        // The page is done with: the server may send one more.
        if (pull) {
          await this.#conn.send({ type: "list_next", id: request.id }).catch(
            () => {},
          );
        }
      }
    } finally {
      if (request !== null) {
        if (ended) request.finish();
        else this.#finishOrCancel(request.id, endsListing);
      }
    }
  }

  /**
   * Tells whether remote `path` ("" for the top) is a folder: false when
   * nothing or a file has that name. Reads only the first page of the
   * listing and cancels the rest.
   *
   * @throws {FtsError} `Cannot list "path": reason` for other failures.
   */
  isFolder(
    path: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<boolean> {
    return this.#listing(path, options.signal, async (next) => {
      const reply = await next();
      if (reply.type === "entries") return true;
      if (reply.type !== "error") throw unexpectedReply(reply, "LIST");
      if (reply.code === "not_found" || reply.code === "not_directory") {
        return false;
      }
      throw remoteError(reply);
    });
  }

  /**
   * Uploads local file `localPath` as `remoteName`.
   *
   * @throws {FtsError} `Cannot put "name": reason`.
   */
  async put(
    localPath: string,
    remoteName: string,
    options: PutOptions = {},
  ): Promise<PutResult> {
    try {
      const name = validateName(remoteName);
      let bytes = 0;
      let total = 0;
      const onProgress = options.onProgress;
      const open = () => {
        const source = openUploadSource(localPath, options.expectLocal);
        bytes = 0;
        total = source.size;
        onProgress?.({ bytes: 0, total });
        return source;
      };
      return await sendResumable(this.#core, open, name, {
        overwrite: options.overwrite ?? false,
        signal: options.signal,
        compressor: compressorFor(this.#core),
        encrypt: options.encrypt,
        onBytes: onProgress &&
          ((n) => onProgress({ bytes: bytes += n, total })),
        keepMode: options.keepMode,
        resume: options.resume ?? true,
        sealKeeper: sealKeeperFor(name, localPath, options.encrypt),
      });
    } catch (error) {
      throw this.#failure("put", remoteName, error);
    }
  }

  /**
   * Downloads `remoteName` into folder `localDir`.
   *
   * @throws {FtsError} `Cannot get "name": reason`.
   */
  async get(
    remoteName: string,
    localDir: string,
    options: GetOptions = {},
  ): Promise<GetResult> {
    try {
      let bytes = 0;
      let total = 0;
      const onProgress = options.onProgress;
      return await download(this.#core, remoteName, localDir, {
        overwrite: options.overwrite ?? false,
        expect: options.expect,
        signal: options.signal,
        localName: options.localName,
        decrypt: options.decrypt,
        stripAgeSuffix: options.stripAgeSuffix,
        sink: options.sink,
        keepMode: options.keepMode,
        resume: options.resume,
        onSize: onProgress &&
          ((size) => onProgress({ bytes: 0, total: total = size })),
        onBytes: onProgress &&
          ((n) => onProgress({ bytes: bytes += n, total })),
      });
    } catch (error) {
      throw this.#failure("get", remoteName, error);
    }
  }

  /**
   * Uploads many files, pipelined: small files go out back to back without
   * waiting for each reply. Never throws for one file's failure; each
   * result says how its file fared, in input order.
   */
  putMany(
    items: readonly PutManyItem[],
    options: ManyOptions = {},
  ): Promise<BatchResult<PutResult>[]> {
    return putMany(this.#core, items, {
      ...options,
      failure: (item, error) => this.#failure("put", item.remoteName, error),
    });
  }

  /**
   * Downloads many files into folder `localDir`, pipelined; like
   * {@linkcode putMany}.
   */
  getMany(
    items: readonly GetManyItem[],
    localDir: string,
    options: ManyOptions = {},
  ): Promise<BatchResult<GetResult>[]> {
    return getMany(this.#core, items, localDir, {
      ...options,
      failure: (item, error) => this.#failure("get", item.remoteName, error),
    });
  }

  /**
   * Uploads local folder `localRoot` as remote folder `remoteRoot`, made if
   * missing (its parent must exist): the whole tree, walked lazily, files
   * pipelined. Symbolic links are not followed and special files not sent;
   * both are counted in the summary. One file's failure fails only that
   * file (in the summary, as an FtsError).
   *
   * @throws {FtsError} when the local folder cannot be read or the remote
   * one cannot be made.
   */
  putTree(
    localRoot: string,
    remoteRoot: string,
    options: TreeOptions = {},
  ): Promise<TreeSummary> {
    return putTree(this.#treeHost(), localRoot, remoteRoot, options);
  }

  /**
   * Downloads remote folder `remoteRoot` as local folder `localRoot`, made
   * if missing (its parent must exist); like {@linkcode putTree}.
   *
   * @throws {FtsError} when the remote folder cannot be listed or the local
   * one cannot be made.
   */
  getTree(
    remoteRoot: string,
    localRoot: string,
    options: GetTreeOptions = {},
  ): Promise<TreeSummary> {
    return getTree(this.#treeHost(), remoteRoot, localRoot, options);
  }

  /**
   * Deletes remote folder `root` with everything in it. Never throws for
   * one file's failure: the summary counts and keeps them.
   *
   * @throws {FtsError} when `root` cannot be listed.
   */
  removeTree(
    root: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<RemoveSummary> {
    return removeTree(this.#treeHost(), root, options);
  }

  #treeHost(): TreeHost {
    return {
      core: this.#core,
      mkdir: (name) => this.mkdir(name),
      remove: (name) => this.remove(name),
      isFolder: (name, options) => this.isFolder(name, options),
      list: (name, options) => this.list(name, options),
      listPages: (name, options) => this.listPages(name, options),
      failure: (action, name, error) => this.#failure(action, name, error),
    };
  }

  /** Deletes remote file `name`. */
  async remove(name: string, options: RemoveOptions = {}): Promise<void> {
    try {
      const valid = validateName(name);
      await this.#simple({
        type: "delete",
        id: 0,
        name: valid,
        ...expectOf(options),
      });
    } catch (error) {
      throw this.#failure("delete", name, error);
    }
  }

  /** Renames remote file `from` to `to`. */
  async rename(
    from: string,
    to: string,
    options: RenameOptions = {},
  ): Promise<void> {
    try {
      await this.#simple({
        type: "rename",
        id: 0,
        from: validateName(from),
        to: validateName(to),
        overwrite: options.overwrite ?? false,
        ...expectOf(options),
      });
    } catch (error) {
      throw this.#failure("rename", from, error);
    }
  }

  /** Creates remote folder `name`. */
  async mkdir(name: string): Promise<void> {
    try {
      await this.#simple({ type: "mkdir", id: 0, name: validateName(name) });
    } catch (error) {
      throw this.#failure("create folder", name, error);
    }
  }

  /**
   * Asks the server to shut down gracefully (it needs the `admin`
   * permission). Running transfers get up to `graceMs`; the server may cap
   * it at its own grace period. Without `graceMs` the server uses its own,
   * as for SIGTERM.
   *
   * @throws {FtsError} `Cannot shut down the server: reason`.
   */
  async shutdown(options: { graceMs?: number } = {}): Promise<void> {
    try {
      await this.#simple({
        type: "shutdown",
        id: 0,
        graceMs: options.graceMs ?? SERVER_GRACE,
      });
    } catch (error) {
      if (error instanceof ReasonError) {
        throw new FtsError(
          error.code,
          `Cannot shut down the server: ${error.message}`,
          { cause: error },
        );
      }
      throw this.#failure("shut down", "server", error);
    }
  }

  /**
   * How much the server stores, holds for uploads in flight and may hold,
   * in all and for this account (feature "usage").
   *
   * @throws {FtsError} `unsupported` when the server does not report its
   * usage (an older server); `Cannot show the usage of "server": reason`.
   */
  async usage(): Promise<UsageReport> {
    if (!this.features.includes("usage")) {
      throw new FtsError(
        "unsupported",
        "Cannot show the usage: the server does not report it (an older fts server)",
      );
    }
    const request = this.#requests.open();
    try {
      await this.#conn.send({ type: "usage", id: request.id });
      const reply = await request.next();
      if (reply.type === "error") throw remoteError(reply);
      if (reply.type !== "usage_report") throw unexpectedReply(reply, "USAGE");
      return {
        server: reply.server,
        ...(reply.account ? { account: reply.account } : {}),
      };
    } catch (error) {
      throw this.#failure("show the usage of", "server", error);
    } finally {
      request.finish();
    }
  }

  /** Says goodbye and closes the connection. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#watchdog.stop();
      this.#options.signal?.removeEventListener("abort", this.#onAbort);
      // BYE only when idle: a write could wait behind a stuck transfer.
      if (!this.closed && this.#requests.size === 0) {
        await this.#conn.send({ type: "bye", id: 0 }).catch(() => {});
      }
      this.#conn.close();
    }
    await this.#reading;
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Sends a request answered by OK or ERROR. */
  async #simple(message: Message): Promise<void> {
    const request = this.#requests.open();
    try {
      await this.#conn.send({ ...message, id: request.id });
      const reply = await request.next();
      if (reply.type === "error") throw remoteError(reply);
      if (reply.type !== "ok") {
        throw unexpectedReply(reply, message.type.toUpperCase());
      }
    } finally {
      request.finish();
    }
  }

  /**
   * Sends LIST for remote `path` ("" for the top) and lets `read` take its
   * replies, then ends the listing: finished when `read` saw its last
   * reply, cancelled otherwise. Any failure becomes `Cannot list "path"`.
   */
  async #listing<T>(
    path: string,
    signal: AbortSignal | undefined,
    read: (next: () => Promise<Message>, path: string) => Promise<T>,
  ): Promise<T> {
    try {
      if (path !== "") path = validateName(path);
      const request = this.#requests.open();
      let ended = false;
      try {
        try {
          await this.#conn.send({ type: "list", id: request.id, path }, signal);
        } catch (error) {
          ended = true; // never written: nothing to cancel
          throw error;
        }
        return await read(async () => {
          const reply = await request.next(signal);
          ended = endsListing(reply);
          return reply;
        }, path);
      } finally {
        if (ended) request.finish();
        else this.#finishOrCancel(request.id, endsListing);
      }
    } catch (error) {
      throw this.#failure("list", path === "" ? "/" : path, error);
    }
  }

  #finishOrCancel(id: number, isLast: (m: Message) => boolean): void {
    const request = this.#requests.get(id);
    if (!request) return;
    if (!request.drain(isLast) && !this.#conn.closed) {
      this.#conn.send({ type: "cancel", id }).catch(() => {});
    }
  }

  #failure(action: string, name: string, error: unknown): unknown {
    if (this.#stallError !== null && !(error instanceof NameError)) {
      error = this.#stallError;
    }
    if (
      this.#closeError !== null && error === this.#closeError && this.#goingAway
    ) {
      error = new ReasonError("shutting_down", "the server shut down");
    }
    return operationError(action, name, error);
  }

  readonly #onAbort = () => {
    this.#conn.close();
  };

  async #readLoop(): Promise<void> {
    let failure: unknown;
    try {
      for (;;) {
        const frame = await this.#conn.readFrame();
        if (frame === null) break;
        const message = decodeMessage(frame);
        if (message.id === 0) {
          this.#connectionMessage(message);
          continue;
        }
        const request = this.#requests.get(message.id);
        if (!request) {
          throw new ProtocolError(
            `A reply for request ${message.id}, which is not in flight`,
          );
        }
        // The client's own work (a slow disk, a passphrase) is no stall.
        const idle = this.#watchdog.busy();
        try {
          await request.deliver(message);
        } finally {
          idle();
        }
      }
      failure = this.#closing
        ? new ReasonError("io", "the session is closed")
        : connectionLost();
    } catch (error) {
      failure =
        error instanceof FtsError && !(error instanceof TruncatedFrameError)
          ? error
          : connectionLost(error);
    }
    this.#watchdog.stop();
    failure = this.#stallError ?? failure;
    this.#closeError = failure;
    this.#requests.failAll(failure);
    this.#conn.close();
  }

  #connectionMessage(message: Message): void {
    switch (message.type) {
      case "going_away":
        if (this.#goingAway === null) {
          this.#goingAway = {
            graceMs: message.graceMs,
            reason: message.reason,
          };
          this.#options.onGoingAway?.(this.#goingAway);
        }
        return;
      case "ping":
        this.#conn.send({ type: "pong", id: 0 }).catch(() => {});
        return;
      case "pong":
        return;
      case "bye":
        this.#conn.close();
        return;
      case "error":
        throw remoteError(message);
      default:
        throw new ProtocolError(
          `Unexpected ${message.type.toUpperCase()} on the connection`,
        );
    }
  }
}

function expectOf(options: { expect?: Expect }): { expect?: Expect } {
  return options.expect ? { expect: options.expect } : {};
}

/** A page of entries from the wire, their names checked. */
function checkedPage(raw: readonly Entry[]): ListPage {
  const entries: Entry[] = [];
  const refused: string[] = [];
  let refusedCount = 0;
  for (const entry of raw) {
    if (isValidName(entry.name)) {
      entries.push({ ...entry, name: entry.name.normalize("NFC") });
    } else {
      refusedCount++;
      if (refused.length < MAX_REFUSED_KEPT) {
        refused.push(shortCopy(entry.name, MAX_REFUSED_NAME));
      }
    }
  }
  return { entries, refused, refusedCount };
}

/** Whether `reply` is the last one a LIST gets. */
function endsListing(reply: Message): boolean {
  return reply.type === "error" || (reply.type === "entries" && !reply.more);
}

function unexpectedReply(reply: Message, request: string): ProtocolError {
  return new ProtocolError(
    `Unexpected ${reply.type.toUpperCase()} reply to ${request}`,
  );
}

/**
 * The first `max` units of `text` as a string of its own: a plain slice
 * may keep the whole original alive.
 */
function shortCopy(text: string, max: number): string {
  return Array.from(text.slice(0, max)).join("");
}

/** What {@linkcode watched} tells the session about its connection. */
interface Pulse {
  /** Bytes arrived or left. */
  beat: () => void;
  /** A write failed: the connection is broken. */
  broken: () => void;
}

/**
 * `conn`, calling `pulse.beat()` whenever bytes arrive or leave and
 * `pulse.broken()` when a write fails.
 */
function watched(conn: ByteConn, pulse: Pulse): ByteConn {
  return {
    async read(p) {
      const n = await conn.read(p);
      if (n !== null && n > 0) pulse.beat();
      return n;
    },
    async write(p) {
      let n: number;
      try {
        n = await conn.write(p);
      } catch (error) {
        pulse.broken();
        throw error;
      }
      pulse.beat();
      return n;
    },
    close: () => conn.close(),
  };
}

/** `ms` as seconds for a message: "120 s", "0.5 s". */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

/**
 * Where an encrypted upload keeps its age material to be resumable
 * (sealed_resume.ts): only for recipients (a passphrase typed again might
 * differ, and is never written down), and only with a config folder.
 */
function sealKeeperFor(
  name: string,
  localPath: string,
  seal: SealOptions | undefined,
): ((source: UploadSource) => SealKeeper | undefined) | undefined {
  const recipients = seal?.recipients ?? [];
  if (recipients.length === 0 || seal?.passphrase !== undefined) {
    return undefined;
  }
  let dir: string;
  try {
    dir = join(configDir(), "resume");
  } catch {
    return undefined;
  }
  return (source) =>
    source.mtime === undefined ? undefined : new SealKeeper(dir, {
      name,
      localPath: resolve(localPath),
      size: source.size,
      mtime: source.mtime,
      recipients: [...recipients].sort().join(","),
    });
}
