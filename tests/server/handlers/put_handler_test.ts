import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { type ByteConn, FrameConn } from "../../../common/frame_conn.ts";
import { Semaphore } from "../../../common/semaphore.ts";
import { FrameDecoder } from "../../../protocol/decoder.ts";
import { decodeMessage, type Message } from "../../../protocol/messages.ts";
import type { HandlerContext } from "../../../server/handlers/handler_context.ts";
import { receiveFile } from "../../../server/handlers/put_handler.ts";
import { UploadInbox } from "../../../server/handlers/upload_inbox.ts";
import { LoopTurns } from "../../../server/session/loop_turns.ts";
import { WRITE_QUEUE_BYTES } from "../../../server/session/session.ts";
import { MemoryStorage } from "../../../server/storage/memory/memory_storage.ts";

/** A connection whose writes wait until {@linkcode flow} is called. */
class HeldWrites implements ByteConn {
  readonly #decoder = new FrameDecoder();
  readonly sent: Message[] = [];
  #waiting: (() => void)[] = [];
  #flowing = false;

  read(): Promise<number | null> {
    return Promise.resolve(null);
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    const take = () => {
      this.#decoder.push(copy);
      for (let f = this.#decoder.next(); f; f = this.#decoder.next()) {
        this.sent.push(decodeMessage(f));
      }
      return p.byteLength;
    };
    if (this.#flowing) return Promise.resolve(take());
    return new Promise((resolve) => this.#waiting.push(() => resolve(take())));
  }

  flow(): void {
    this.#flowing = true;
    for (const go of this.#waiting.splice(0)) go();
  }

  close(): void {}
}

function context(conn: FrameConn, storage: MemoryStorage): HandlerContext {
  return {
    conn,
    storage,
    chunkSize: 1024 * 1024,
    zstd: false,
    downloads: new Semaphore(1),
    lists: new Semaphore(1),
    turns: new LoopTurns(),
    writeQueueBytes: WRITE_QUEUE_BYTES,
    touch: () => {},
  };
}

Deno.test("receiveFile() takes an upload's data and PUT_END while its PUT_READY is still being written, and answers PUT_DONE after it", async () => {
  await using storage = new MemoryStorage();
  const peer = new HeldWrites();
  const conn = new FrameConn(peer);
  const inbox = new UploadInbox();
  const bytes = new TextEncoder().encode("small file");
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const done = receiveFile(
    context(conn, storage),
    {
      type: "put",
      id: 3,
      name: "a.txt",
      size: bytes.byteLength,
      overwrite: false,
    },
    inbox,
    new AbortController().signal,
  );
  // The read loop waits for each of these until the handler takes it: it
  // must not have to wait for a write of the handler's first.
  await inbox.deliver({ type: "data", id: 3, offset: 0, bytes, zstd: false });
  await inbox.deliver({ type: "put_end", id: 3, sha256 });
  assert.equal(peer.sent.length, 0, "nothing written yet");
  peer.flow();
  assert.equal((await done).finalName, "a.txt");
  assert.deepEqual(peer.sent.map((m) => m.type), ["put_ready", "put_done"]);
  using stored = await storage.openRead("a.txt");
  assert.equal(stored.size, bytes.byteLength);
});
