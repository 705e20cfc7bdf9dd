import assert from "node:assert/strict";
import * as zlib from "node:zlib";
import { join } from "node:path";
import {
  MAX_REFUSED_KEPT,
  MAX_REFUSED_NAME,
  openSession,
} from "../../../client/engine/session.ts";
import { FtsError } from "../../../protocol/errors.ts";
import {
  checksumOnly,
  encodeMessage,
  type Message,
} from "../../../protocol/messages.ts";
import {
  type FakeContext,
  putAnsweredBy,
  sha256Hex,
  startFakeServer,
} from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";
import { hashBytes } from "../../../common/stream_hash.ts";

const GOOD = new TextEncoder().encode("the real content");

/**
 * Runs `get("a.txt", dir, {overwrite: true})` against a server whose GET
 * answer is `answer`, over a folder that already holds a.txt = "mine";
 * checks that the download fails with a message matching `expected` and
 * that the folder is exactly as before.
 */
async function assertGetFailsCleanly(
  answer: (
    ctx: FakeContext,
    get: Extract<Message, { type: "get" }>,
  ) => Promise<void>,
  expected: RegExp,
  options: { compress?: boolean } = {},
  serverFeatures?: string[],
): Promise<void> {
  await using server = startFakeServer({
    ...(serverFeatures ? { features: serverFeatures } : {}),
    handle: async (ctx, m) => {
      if (m.type !== "get") return false;
      await answer(ctx, m);
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`, options);
  await using tmp = await tempDir();
  const dir = tmp.path;
  await Deno.writeTextFile(join(dir, "a.txt"), "mine");
  await assert.rejects(
    session.get("a.txt", dir, { overwrite: true }),
    (error: unknown) => {
      assert.ok(error instanceof FtsError);
      assert.match(error.message, expected);
      return true;
    },
  );
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  assert.deepEqual(names, ["a.txt"]);
  assert.equal(await Deno.readTextFile(join(dir, "a.txt")), "mine");
}

function ready(ctx: FakeContext, id: number, size: number) {
  return ctx.send({ type: "get_ready", id, name: "a.txt", size, mtime: 1 });
}

function data(
  ctx: FakeContext,
  id: number,
  offset: number,
  bytes: Uint8Array,
  zstd = false,
) {
  return ctx.send({ type: "data", id, offset, bytes, zstd });
}

Deno.test("get() with a wrong SHA-256 leaves no file and the old one intact", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, GOOD.byteLength);
      await data(ctx, m.id, 0, GOOD);
      await ctx.send({
        type: "get_end",
        id: m.id,
        sha256: sha256Hex(new Uint8Array(1)),
      });
    },
    /^Cannot get "a\.txt": the received bytes do not match the server's SHA-256$/,
  );
});

Deno.test("get() with xxh128 agreed refuses a GET_END of SHA-256 and a wrong XXH3-128, and leaves no file", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, GOOD.byteLength);
      await data(ctx, m.id, 0, GOOD);
      await ctx.send({ type: "get_end", id: m.id, sha256: sha256Hex(GOOD) });
    },
    /GET_END carries sha256, but xxh128 was agreed/,
    {},
    ["zstd", "xxh128"],
  );
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, GOOD.byteLength);
      await data(ctx, m.id, 0, GOOD);
      await ctx.send({
        type: "get_end",
        id: m.id,
        xxh128: hashBytes("xxh128", GOOD.subarray(1)),
      });
    },
    /^Cannot get "a\.txt": the received bytes do not match the server's XXH3-128$/,
    {},
    ["zstd", "xxh128"],
  );
});

Deno.test("get() of a truncated stream leaves no file", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, 100);
      await data(ctx, m.id, 0, GOOD);
      await ctx.send({ type: "get_end", id: m.id, sha256: sha256Hex(GOOD) });
    },
    /^Cannot get "a\.txt": the server ended the download after 16 of 100 bytes$/,
  );
});

Deno.test("get() of more bytes than announced is a protocol error", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, 4);
      await data(ctx, m.id, 0, GOOD);
    },
    /the server broke the protocol \(the server sent more than the announced 4 bytes\)/,
  );
});

Deno.test("get() refuses DATA at a gap in the offsets", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ready(ctx, m.id, 100);
    await data(ctx, m.id, 0, GOOD);
    await data(ctx, m.id, 50, GOOD);
  }, /DATA at offset 50 where 16 was expected/);
});

Deno.test("get() refuses a chunk larger than the negotiated chunk size", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ready(ctx, m.id, 3 * 1024 * 1024);
    await data(ctx, m.id, 0, new Uint8Array(2 * 1024 * 1024));
  }, /exceeds the chunk size 1048576/);
});

Deno.test("get() refuses compressed DATA when zstd was not negotiated", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, 100);
      await data(
        ctx,
        m.id,
        0,
        zlib.zstdCompressSync(new Uint8Array(100)),
        true,
      );
    },
    /compressed DATA without zstd negotiated/,
    { compress: false },
  );
});

Deno.test("get() stops a zstd bomb at the chunk size", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ready(ctx, m.id, 64 * 1024 * 1024);
      await data(
        ctx,
        m.id,
        0,
        zlib.zstdCompressSync(new Uint8Array(64 * 1024 * 1024)),
        true,
      );
    },
    /a zstd chunk decompresses to more than 1048576 bytes/,
  );
});

Deno.test("get() treats garbage bytes from the server as a protocol error", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ready(ctx, m.id, 100);
    await ctx.writeRaw(new TextEncoder().encode("garbage garbage garbage!"));
  }, /^Cannot get "a\.txt": the server broke the protocol \(bad frame magic/);
});

Deno.test("get() refuses an oversized frame header without waiting for its payload", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ready(ctx, m.id, 100);
    const header = encodeMessage({
      type: "get_end",
      id: m.id,
      sha256: sha256Hex(GOOD),
    });
    new DataView(header.buffer).setUint32(12, 0xffff_fff0);
    await ctx.writeRaw(header.subarray(0, 16));
  }, /exceeds the limit of 4194304/);
});

Deno.test("get() cut off by the server leaves no file", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ready(ctx, m.id, 100);
    await data(ctx, m.id, 0, GOOD);
    ctx.conn.close();
  }, /^Cannot get "a\.txt": the connection to the server was lost$/);
});

Deno.test("get() of a reply for an unknown request id is a protocol error", async () => {
  await assertGetFailsCleanly(async (ctx, m) => {
    await ctx.send({
      type: "get_ready",
      id: m.id + 1000,
      name: "a.txt",
      size: 1,
      mtime: 1,
    });
  }, /request \d+, which is not in flight/);
});

Deno.test("get() ended by a connection-level ERROR fails with its reason", async () => {
  await assertGetFailsCleanly(async (ctx) => {
    await ctx.send({ type: "error", id: 0, code: "internal", message: "Boom" });
  }, /^Cannot get "a\.txt": boom$/);
});

Deno.test("An error message with terminal escapes reaches the user escaped", async () => {
  await assertGetFailsCleanly(
    async (ctx, m) => {
      await ctx.send({
        type: "error",
        id: m.id,
        code: "io",
        message: "disk \x1b[31mred\x1b[0m \u202eevil",
      });
    },
    /^Cannot get "a\.txt": disk \\u\{1b\}\[31mred\\u\{1b\}\[0m \\u\{202e\}evil$/,
  );
});

Deno.test("put() refuses a PUT_DONE that names a path outside the folder", async () => {
  const put = putAnsweredBy((end) => ({
    name: "../../x",
    size: 3,
    ...checksumOnly(end),
  }));
  await assert.rejects(put, {
    message:
      'Cannot put "a.txt": the server broke the protocol (the server confirmed the upload under an invalid name)',
  });
});

Deno.test("A protocol error fails every request in flight, not just one", async () => {
  await using server = startFakeServer({
    files: { "a.txt": GOOD },
    handle: async (ctx, m) => {
      if (m.type === "mkdir") return true; // never answered
      if (m.type !== "list") return false;
      await ctx.writeRaw(new Uint8Array(16)); // bad magic
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const pending = session.mkdir("x");
  await assert.rejects(session.list(), /the server broke the protocol/);
  await assert.rejects(pending, {
    message:
      'Cannot create folder "x": the server broke the protocol (bad frame magic: peer does not speak fts)',
  });
  assert.ok(session.closed);
});

Deno.test("list() keeps a bounded sample of refused names, however many megabytes of them arrive", async () => {
  const frames = 24;
  await using server = startFakeServer({
    handle: async (ctx, m) => {
      if (m.type !== "list") return false;
      for (let i = 0; i < frames; i++) {
        await ctx.send({
          type: "entries",
          id: m.id,
          more: i < frames - 1,
          entries: [{
            // Invalid (absolute) and a mebibyte long.
            name: `/${i}${"x".repeat(1024 * 1024)}`,
            type: "file",
            size: 1,
            mtime: 1,
          }],
        });
      }
      return true;
    },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const listing = await session.list("");
  assert.equal(listing.refusedCount, frames);
  assert.deepEqual(listing.entries, []);
  assert.equal(listing.refused.length, MAX_REFUSED_KEPT);
  assert.ok(listing.refused.every((n) => n.length <= MAX_REFUSED_NAME));
  assert.equal(listing.refused[1]!.slice(0, 4), "/1xx");
});
