import assert from "node:assert/strict";
import { type ByteConn, FrameConn } from "../../../common/frame_conn.ts";
import { Semaphore } from "../../../common/semaphore.ts";
import type { MessageOf } from "../../../protocol/messages.ts";
import { listFolder } from "../../../server/handlers/folder_requests.ts";
import type { HandlerContext } from "../../../server/handlers/handler_context.ts";
import { WRITE_QUEUE_BYTES } from "../../../server/session/session.ts";
import { LIST_PAGE_SIZE } from "../../../server/storage/storage.ts";
import {
  CountingStorage,
  fillFlat,
} from "../../_helpers/server/counting_storage.ts";
import { LoopTurns } from "../../../server/session/loop_turns.ts";

/** A connection whose peer reads nothing until {@linkcode flow} is called. */
class StalledPeer implements ByteConn {
  readonly written: Uint8Array[] = [];
  /** Resolves at the first write that waits. */
  readonly blocked = Promise.withResolvers<void>();
  #waiting: (() => void)[] = [];
  #flowing = false;

  read(): Promise<number | null> {
    return Promise.resolve(null);
  }

  write(p: Uint8Array): Promise<number> {
    const copy = p.slice();
    if (this.#flowing) {
      this.written.push(copy);
      return Promise.resolve(p.byteLength);
    }
    this.blocked.resolve();
    return new Promise((resolve) =>
      this.#waiting.push(() => {
        this.written.push(copy);
        resolve(p.byteLength);
      })
    );
  }

  /** The peer starts reading: every write goes through from now on. */
  flow(): void {
    this.#flowing = true;
    for (const go of this.#waiting.splice(0)) go();
  }

  close(): void {}
}

function context(conn: FrameConn, storage: CountingStorage): HandlerContext {
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

Deno.test("listFolder() pulls a 20,000-entry listing from the storage only as the client reads", async () => {
  await using storage = new CountingStorage();
  const names = await fillFlat(storage, 20_000);
  const peer = new StalledPeer();
  const conn = new FrameConn(peer);
  const list: MessageOf<"list"> = { type: "list", id: 7, path: "" };
  const done = listFolder(
    context(conn, storage),
    list,
    new AbortController().signal,
  );
  await peer.blocked.promise;
  // Let the handler run as far as it can while nothing is read.
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(storage.pulled, 2, "the page being sent and the next one");
  peer.flow();
  assert.deepEqual(await done, { bytes: 0 });
  assert.equal(storage.pulled, names.length / LIST_PAGE_SIZE);
  const reader = new FrameConn({
    read: (() => {
      const bytes = peer.written;
      return (p: Uint8Array) => {
        const next = bytes.shift();
        if (next === undefined) return Promise.resolve(null);
        p.set(next);
        return Promise.resolve(next.byteLength);
      };
    })(),
    write: () => Promise.reject(new Error("read only")),
    close: () => {},
  });
  const seen: string[] = [];
  let frames = 0;
  for (
    let m = await reader.readMessage();
    m !== null;
    m = await reader.readMessage()
  ) {
    assert.ok(m.type === "entries" && m.id === 7);
    frames++;
    seen.push(...m.entries.map((e) => e.name));
    assert.equal(m.more, seen.length < names.length);
  }
  assert.equal(frames, names.length / LIST_PAGE_SIZE);
  assert.deepEqual(seen, names);
});
