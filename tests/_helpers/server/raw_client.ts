/**
 * A deliberately raw fts client for server tests: it speaks frames through
 * common/frame_conn.ts and nothing else, so tests can send exactly what they
 * want, including what a well-behaved client never would.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { zstdDecompressSync } from "node:zlib";
import { FrameConn } from "../../../common/frame_conn.ts";
import {
  type Checksum,
  type Expect,
  type Message,
  type MessageOf,
  PROTOCOL_VERSION,
} from "../../../protocol/messages.ts";
import { concat } from "../common/bytes.ts";

/** Options of {@linkcode RawClient.connect}. */
export interface RawConnectOptions {
  /** Send HELLO and wait for WELCOME (default true). */
  handshake?: boolean;
  /** Features to ask for (default none). */
  features?: string[];
}

/** The outcome of {@linkcode RawClient.get}. */
export interface Download {
  ready: MessageOf<"get_ready">;
  data: Uint8Array;
  end: MessageOf<"get_end">;
  /** How many DATA frames carried the ZSTD flag. */
  compressedFrames: number;
}

/** Options of {@linkcode RawClient.put}. */
export interface RawPutOptions {
  overwrite?: boolean;
  chunk?: number;
  mtime?: number;
  /** SHA-256 to claim in PUT_END (default: the real one). */
  sha256?: string;
  /** The checksum fields to send in PUT_END instead (e.g. an `xxh128`). */
  checksum?: Checksum;
  /** Wait for PUT_READY before sending data (default false: pipelined). */
  waitReady?: boolean;
}

/** Options of {@linkcode RawClient.beginPut}. */
export interface BeginPutOptions {
  /** The size PUT announces. */
  size: number;
  /** The first DATA chunk, sent at offset 0. */
  first: Uint8Array;
  overwrite?: boolean;
}

/** See the module comment. */
export class RawClient implements AsyncDisposable {
  readonly tcp: Deno.TcpConn;
  readonly conn: FrameConn;
  welcome: MessageOf<"welcome"> | null = null;
  #queue: Message[] = [];
  #nextId = 1;
  #ended = false;
  #reading: Promise<void> = Promise.resolve();

  private constructor(tcp: Deno.TcpConn) {
    this.tcp = tcp;
    this.conn = new FrameConn(tcp);
  }

  /** Connects to `addr` and, by default, completes the handshake. */
  static async connect(
    addr: { hostname: string; port: number },
    options: RawConnectOptions = {},
  ): Promise<RawClient> {
    const tcp = await Deno.connect({
      hostname: addr.hostname,
      port: addr.port,
    });
    tcp.setNoDelay(true);
    const client = new RawClient(tcp);
    if (options.handshake ?? true) {
      const reply = await client.hello({ features: options.features ?? [] });
      if (reply?.type !== "welcome") {
        client.close();
        throw new Error(`Handshake refused: ${JSON.stringify(reply)}`);
      }
    }
    return client;
  }

  /** Sends HELLO and returns the reply (WELCOME, ERROR or null). */
  async hello(
    options: { versions?: number[]; features?: string[] } = {},
  ): Promise<Message | null> {
    await this.send({
      type: "hello",
      id: 0,
      versions: options.versions ?? [PROTOCOL_VERSION],
      features: options.features ?? [],
      agent: "raw-test-client",
    });
    const reply = await this.read();
    if (reply?.type === "welcome") this.welcome = reply;
    return reply;
  }

  /** A fresh request id. */
  id(): number {
    return this.#nextId++;
  }

  /** Sends one message. */
  send(message: Message): Promise<void> {
    return this.conn.send(message);
  }

  /** Writes raw bytes. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    return this.conn.writeAll(bytes);
  }

  /**
   * The next message (queued ones first), with DATA bytes copied; null when
   * the server closed the connection (cleanly or not).
   */
  async read(): Promise<Message | null> {
    for (;;) {
      const queued = this.#queue.shift();
      if (queued) return queued;
      if (this.#ended) return null;
      await this.#readOne(() => this.#queue.length > 0);
    }
  }

  /**
   * The next message for request `id`, queueing others; null at the end.
   * Several callers may wait at once (one reads the wire at a time).
   */
  async reply(id: number): Promise<Message | null> {
    for (;;) {
      const index = this.#queue.findIndex((m) => m.id === id);
      if (index >= 0) return this.#queue.splice(index, 1)[0]!;
      if (this.#ended) return null;
      await this.#readOne(() => this.#queue.some((m) => m.id === id));
    }
  }

  /** Reads one message into the queue, unless `satisfied` already holds. */
  #readOne(satisfied: () => boolean): Promise<void> {
    const run = this.#reading.then(async () => {
      if (satisfied() || this.#ended) return;
      const message = await this.#readWire();
      if (message) this.#queue.push(message);
    });
    this.#reading = run.catch(() => {});
    return run;
  }

  /** Sends `message` and returns the first reply to its id. */
  async request(message: Message): Promise<Message | null> {
    await this.send(message);
    return await this.reply(message.id);
  }

  /** Asserts that the server answers a PING (id 0) on this connection. */
  async assertAlive(message?: string): Promise<void> {
    assert.deepEqual(
      await this.request({ type: "ping", id: 0 }),
      { type: "pong", id: 0 },
      message,
    );
  }

  /** Lists a folder, joining ENTRIES frames; an ERROR is returned as is. */
  async list(
    path = "",
  ): Promise<MessageOf<"entries">["entries"] | MessageOf<"error">> {
    const id = this.id();
    await this.send({ type: "list", id, path });
    const entries = [];
    for (;;) {
      const reply = await this.reply(id);
      if (reply?.type === "error") return reply;
      if (reply?.type !== "entries") {
        throw new Error(`Unexpected reply ${JSON.stringify(reply)}`);
      }
      entries.push(...reply.entries);
      if (!reply.more) return entries;
    }
  }

  /**
   * Uploads `data` (pipelined: PUT, DATA…, PUT_END without waiting, unless
   * `waitReady`), returning PUT_DONE or ERROR.
   */
  /** Sends PUT with request id `id`, then its first DATA chunk (offset 0). */
  async beginPut(
    id: number,
    name: string,
    options: BeginPutOptions,
  ): Promise<void> {
    await this.send({
      type: "put",
      id,
      name,
      size: options.size,
      overwrite: options.overwrite ?? false,
    });
    await this.send({
      type: "data",
      id,
      offset: 0,
      bytes: options.first,
      zstd: false,
    });
  }

  /**
   * Sends `data` from offset `options.from` (default 0) to its end as DATA
   * chunks of `id`, `options.chunk` bytes each (default 1 MiB).
   */
  async sendData(
    id: number,
    data: Uint8Array,
    options: { from?: number; chunk?: number } = {},
  ): Promise<void> {
    const chunk = options.chunk ?? 1024 * 1024;
    for (
      let offset = options.from ?? 0;
      offset < data.byteLength;
      offset += chunk
    ) {
      await this.send({
        type: "data",
        id,
        offset,
        bytes: data.subarray(offset, offset + chunk),
        zstd: false,
      });
    }
  }

  async put(
    name: string,
    data: Uint8Array,
    options: RawPutOptions = {},
  ): Promise<MessageOf<"put_done"> | MessageOf<"error">> {
    const id = this.id();
    await this.send({
      type: "put",
      id,
      name,
      size: data.byteLength,
      overwrite: options.overwrite ?? false,
      ...(options.mtime === undefined ? {} : { mtime: options.mtime }),
    });
    if (options.waitReady) {
      const ready = await this.reply(id);
      if (ready?.type === "error") return ready;
      if (ready?.type !== "put_ready") {
        throw new Error(`Unexpected reply ${JSON.stringify(ready)}`);
      }
    }
    await this.sendData(id, data, { chunk: options.chunk ?? 1024 * 1024 });
    await this.send({
      type: "put_end",
      id,
      ...(options.checksum ?? { sha256: options.sha256 ?? sha256(data) }),
    });
    for (;;) {
      const reply = await this.reply(id);
      if (reply?.type === "put_ready") continue;
      if (reply?.type === "put_done" || reply?.type === "error") return reply;
      throw new Error(`Unexpected reply ${JSON.stringify(reply)}`);
    }
  }

  /** Downloads `name`, returning the data or the ERROR. */
  async get(
    name: string,
    options: { offset?: number; expect?: Expect; length?: number } = {},
  ): Promise<Download | MessageOf<"error">> {
    const id = this.id();
    await this.send({
      type: "get",
      id,
      name,
      offset: options.offset ?? 0,
      ...(options.expect ? { expect: options.expect } : {}),
      ...(options.length !== undefined ? { length: options.length } : {}),
    });
    const ready = await this.reply(id);
    if (ready?.type === "error") return ready;
    if (ready?.type !== "get_ready") {
      throw new Error(`Unexpected reply ${JSON.stringify(ready)}`);
    }
    const parts: Uint8Array[] = [];
    let compressedFrames = 0;
    for (;;) {
      const m = await this.reply(id);
      if (m?.type === "error") return m;
      if (m?.type === "get_end") {
        return { ready, data: concat(parts), end: m, compressedFrames };
      }
      if (m?.type !== "data") {
        throw new Error(`Unexpected reply ${JSON.stringify(m)}`);
      }
      if (m.zstd) compressedFrames++;
      parts.push(m.zstd ? zstdDecompressSync(m.bytes) : m.bytes);
    }
  }

  /** Reads until the server closes the connection; returns what came first. */
  async drain(): Promise<Message[]> {
    const seen: Message[] = [];
    for (;;) {
      const m = await this.read();
      if (m === null) return seen;
      seen.push(m);
    }
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    this.conn.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  async #readWire(): Promise<Message | null> {
    if (this.#ended) return null;
    let message: Message | null;
    try {
      message = await this.conn.readMessage();
    } catch {
      message = null; // Reset or cut mid-frame: the server is gone.
    }
    if (message === null) {
      this.#ended = true;
      return null;
    }
    if (message.type === "data") {
      return { ...message, bytes: message.bytes.slice() };
    }
    return message;
  }
}

/** Hex SHA-256 of `data`. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Deterministic pseudo-random bytes (xorshift), cheap for large sizes. */
export function pseudoRandomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  const words = new Uint32Array(out.buffer, 0, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}
