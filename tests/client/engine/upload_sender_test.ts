import assert from "node:assert/strict";
import { join } from "node:path";
import { openSession } from "../../../client/engine/session.ts";
import { openUploadSource } from "../../../client/engine/upload.ts";
import { RequestTable } from "../../../client/engine/request_table.ts";
import {
  type SenderConn,
  UploadSender,
} from "../../../client/engine/upload_sender.ts";
import { FrameDecoder } from "../../../protocol/decoder.ts";
import { FtsError } from "../../../protocol/errors.ts";
import {
  checksumOnly,
  decodeMessage,
  DEFAULT_CHUNK,
  type Message,
  type MessageOf,
} from "../../../protocol/messages.ts";
import {
  type FakeContext,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;

function bytesOf(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Writes `files` (name → size) into `dir`; returns putMany items in order. */
async function writeFiles(
  dir: string,
  files: [string, number][],
): Promise<{ localPath: string; remoteName: string }[]> {
  const items = [];
  for (const [i, [name, size]] of files.entries()) {
    await Deno.writeFile(join(dir, name), bytesOf(size, i + 1));
    items.push({ localPath: join(dir, name), remoteName: name });
  }
  return items;
}

/** PUT_DONE for the PUT of `end.id` the fake server received, trusting its hash. */
async function answerDone(
  ctx: FakeContext,
  end: MessageOf<"put_end">,
): Promise<MessageOf<"put">> {
  const put = ctx.server.received.find((r): r is MessageOf<"put"> =>
    r.type === "put" && r.id === end.id
  );
  assert.ok(put);
  await ctx.send({
    type: "put_done",
    id: put.id,
    name: put.name,
    size: put.size,
    ...checksumOnly(end),
  });
  return put;
}

/**
 * Only ends a client that waits for a reply the server holds back, which
 * would otherwise hang for ever; a working client is done in milliseconds,
 * and the bound is wide enough for a machine at a load of 50.
 */
const HANG_BOUND_MS = 60_000;

Deno.test("putMany() completes the small files behind a large one while the large one waits for its PUT_READY", async () => {
  // The server answers the large file only once every small file is done.
  let big: MessageOf<"put"> | null = null;
  let bigEnd: MessageOf<"put_end"> | null = null;
  let smallDone = 0;
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "put" && m.name === "big.bin") {
        big = m;
        return true;
      }
      if (m.type !== "put_end") return false;
      if (m.id === big?.id) bigEnd = m;
      else if ((await answerDone(ctx, m)).name !== "big.bin") smallDone++;
      if (big && bigEnd && smallDone === 10) {
        await ctx.send({ type: "put_ready", id: big.id, offset: 0 });
        await answerDone(ctx, bigEnd);
      }
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const files: [string, number][] = [["big.bin", 3 * MiB + 5]];
  for (let i = 0; i < 10; i++) files.push([`s${i}.txt`, 4096 + i]);
  const items = await writeFiles(tmp.path, files);
  const order: string[] = [];
  const results = await session.putMany(items, {
    signal: AbortSignal.timeout(HANG_BOUND_MS),
    onItem: (index) => order.push(items[index]!.remoteName),
  });
  assert.ok(results.every((r) => r.ok), "every file stored");
  assert.equal(order.at(-1), "big.bin", "the small files finished first");
});

/**
 * How many of `count` small uploads a client keeps in flight before any is
 * answered, against a fake server that announces `announced` (or nothing)
 * in WELCOME. The server holds every answer until `window` uploads have
 * ended; the test then sends a MKDIR, which arrives behind every upload the
 * client had already sent, so the PUTs read before it are what the client
 * sent without an answer. Then the server answers everything.
 */
async function inFlightBeforeAnswers(
  count: number,
  window: number,
  announced: number | undefined,
): Promise<number> {
  const held: MessageOf<"put_end">[] = [];
  let puts = 0;
  let seen = -1;
  const { promise: full, resolve: filled } = Promise.withResolvers<void>();
  await using server = startFakeServer({
    ...(announced === undefined ? {} : { welcome: { uploads: announced } }),
    handle: async (ctx, m) => {
      if (m.type === "put") {
        puts++;
        return true;
      }
      if (m.type === "mkdir") {
        seen = puts;
        await ctx.send({ type: "ok", id: m.id });
        for (const end of held.splice(0)) await answerDone(ctx, end);
        return true;
      }
      if (m.type !== "put_end") return false;
      if (seen >= 0) await answerDone(ctx, m);
      else if (held.push(m) === window) filled();
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const items = await writeFiles(
    tmp.path,
    Array.from({ length: count }, (_, i) => [`f${i}.bin`, 4096 + i]),
  );
  const uploads = session.putMany(items, {
    signal: AbortSignal.timeout(HANG_BOUND_MS),
  });
  // A client that kept fewer in flight would wait for ever here (ended by
  // the hang bound).
  await Promise.race([full, uploads]);
  await session.mkdir("probe");
  const results = await uploads;
  assert.deepEqual(
    results.filter((r) => !r.ok).map((r) => !r.ok && String(r.error)),
    [],
  );
  return seen;
}

Deno.test("putMany() keeps as many uploads in flight as the server announces, up to 128, before it answers any", async () => {
  assert.equal(await inFlightBeforeAnswers(300, 128, 128), 128);
  assert.equal(await inFlightBeforeAnswers(300, 128, 1000), 128);
  assert.equal(await inFlightBeforeAnswers(20, 5, 5), 5);
});

Deno.test("putMany() keeps at most 32 uploads in flight for a server whose WELCOME names no window", async () => {
  assert.equal(await inFlightBeforeAnswers(100, 32, undefined), 32);
});

Deno.test("putMany() sends large files back to back without a round trip each", async () => {
  // Nothing is answered until the server has every file: a client that
  // waited for PUT_READY before a large file's data would wait for ever.
  const ends: MessageOf<"put_end">[] = [];
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "put") return true;
      if (m.type !== "put_end") return false;
      ends.push(m);
      if (ends.length < 3) return true;
      for (const end of ends) {
        await ctx.send({ type: "put_ready", id: end.id, offset: 0 });
        await answerDone(ctx, end);
      }
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const items = await writeFiles(tmp.path, [
    ["a.bin", 2 * MiB + 1],
    ["b.bin", 2 * MiB + 2],
    ["c.bin", 2 * MiB + 3],
  ]);
  const results = await session.putMany(items, {
    signal: AbortSignal.timeout(HANG_BOUND_MS),
  });
  assert.ok(results.every((r) => r.ok), "every file stored");
  const types = server.received.map((m) => m.type);
  assert.deepEqual(types.filter((t) => t !== "data"), [
    ...["put", "put_end", "put", "put_end", "put", "put_end"],
  ]);
  assert.equal(types.filter((t) => t === "data").length, 9);
});

Deno.test("putMany(): a large file refused after its data went fails alone, the others are stored", async () => {
  let bad: MessageOf<"put"> | null = null;
  let badEnded = false;
  let smallDone = 0;
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type === "put" && m.name === "bad.bin") {
        bad = m;
        return true;
      }
      if (m.type !== "put_end") return false;
      if (m.id === bad?.id) badEnded = true;
      else {
        await answerDone(ctx, m);
        smallDone++;
      }
      if (bad && badEnded && smallDone === 6) {
        await ctx.send({
          type: "error",
          id: bad.id,
          code: "no_space",
          message: "No space",
        });
      }
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  await using tmp = await tempDir();
  const files: [string, number][] = [["bad.bin", 3 * MiB]];
  for (let i = 0; i < 5; i++) files.push([`s${i}.txt`, 1000 * i]);
  files.push(["after.bin", 2 * MiB]);
  const items = await writeFiles(tmp.path, files);
  const results = await session.putMany(items, {
    signal: AbortSignal.timeout(HANG_BOUND_MS),
  });
  assert.deepEqual(results.map((r) => r.ok), [
    false,
    ...[true, true, true, true, true, true],
  ]);
  const failed = results[0];
  assert.ok(failed && !failed.ok);
  assert.ok(failed.error instanceof FtsError);
  assert.equal(failed.error.code, "no_space");
  // Its data had gone ahead of the refusal.
  const badId = (bad as MessageOf<"put"> | null)?.id;
  assert.equal(
    server.received.filter((m) => m.type === "data" && m.id === badId).length,
    3,
  );
});

/** A connection that decodes what the sender writes, for the unit tests. */
class RecordingConn implements SenderConn {
  readonly frames: Message[] = [];
  readonly #decoder = new FrameDecoder();
  readonly #onFrame: (m: Message) => void;
  closed = false;

  constructor(onFrame: (m: Message) => void) {
    this.#onFrame = onFrame;
  }

  writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.byteLength) {
      const room = this.#decoder.writable();
      const n = Math.min(room.byteLength, bytes.byteLength - at);
      room.set(bytes.subarray(at, at + n));
      this.#decoder.commit(n);
      at += n;
      for (let f = this.#decoder.next(); f; f = this.#decoder.next()) {
        const m = decodeMessage(f);
        const kept = m.type === "data"
          ? { ...m, bytes: new Uint8Array(m.bytes.byteLength) }
          : m;
        this.frames.push(kept);
        this.#onFrame(kept);
      }
    }
    return Promise.resolve();
  }

  send(message: Message): Promise<void> {
    this.frames.push(message);
    this.#onFrame(message);
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
  }
}

Deno.test("UploadSender keeps the data sent ahead of PUT_READY within its byte window, and the uploads within its count", async () => {
  const window = 3 * MiB;
  const maxUploads = 4;
  const requests = new RequestTable();
  const confirmed = new Set<number>();
  const answered = new Set<number>();
  const unconfirmed = new Map<number, number>();
  const ended = new Map<number, MessageOf<"put_end">>();
  let most = 0;
  let mostInFlight = 0;
  const deliver = (m: Message) => requests.get(m.id)?.deliver(m);
  // The peer answers late (a timer each), so the sender runs into its windows.
  const answerLater = () =>
    setTimeout(() => {
      const oldest = [...unconfirmed.keys()].find((id) => !confirmed.has(id));
      if (oldest !== undefined) {
        confirmed.add(oldest);
        unconfirmed.delete(oldest);
        deliver({ type: "put_ready", id: oldest, offset: 0 });
      }
      for (const [id, end] of ended) {
        if (!confirmed.has(id) || answered.has(id)) continue;
        answered.add(id);
        const put = conn.frames.find((f): f is MessageOf<"put"> =>
          f.type === "put" && f.id === id
        )!;
        deliver({
          type: "put_done",
          id,
          name: put.name,
          size: put.size,
          ...checksumOnly(end),
        });
      }
    }, 0);
  const conn = new RecordingConn((m) => {
    if (m.type === "put") unconfirmed.set(m.id, 0);
    if (m.type === "data" && !confirmed.has(m.id)) {
      unconfirmed.set(m.id, unconfirmed.get(m.id)! + m.bytes.byteLength);
    }
    if (m.type === "put_end") ended.set(m.id, m);
    const ahead = [...unconfirmed.values()].reduce((a, b) => a + b, 0);
    most = Math.max(most, ahead);
    const inFlight = new Set(
      conn.frames.filter((f) => f.type === "put").map((f) => f.id),
    ).size - answered.size;
    mostInFlight = Math.max(mostInFlight, inFlight);
    answerLater();
  });
  const sender = new UploadSender(conn, requests, DEFAULT_CHUNK, {
    maxUploads,
    maxUnconfirmed: window,
  });
  await using tmp = await tempDir();
  const files: [string, number][] = [];
  for (let i = 0; i < 12; i++) files.push([`m${i}`, MiB - i]);
  files.push(["large", 5 * MiB + 3]);
  for (let i = 0; i < 20; i++) files.push([`s${i}`, 10_000 + i]);
  const items = await writeFiles(tmp.path, files);
  const results = await Promise.allSettled(items.map((item) =>
    sender.send({
      source: openUploadSource(item.localPath),
      name: item.remoteName,
      overwrite: false,
      sealed: null,
    })
  ));
  assert.deepEqual(
    results.map((r) => r.status === "fulfilled" && r.value.name),
    files.map(([name]) => name),
  );
  assert.ok(most <= window, `${most} bytes ahead of PUT_READY`);
  assert.ok(most > window - MiB, `${most} bytes: the window was used`);
  assert.ok(mostInFlight <= maxUploads, `${mostInFlight} uploads in flight`);
  assert.equal(mostInFlight, maxUploads);
  const sent = conn.frames.filter((f) => f.type === "data")
    .reduce((n, f) => n + (f.type === "data" ? f.bytes.byteLength : 0), 0);
  assert.equal(sent, files.reduce((n, [, size]) => n + size, 0));
  assert.equal(sender.inFlight, 0);
  assert.equal(sender.unconfirmedBytes, 0);
});
