import assert from "node:assert/strict";
import { join } from "node:path";
import { SYSTEM_DISK } from "../../../client/engine/commit_group.ts";
import { reclaimPartFiles } from "../../../client/engine/local_files.ts";
import { openSession } from "../../../client/engine/session.ts";
import { FtsError } from "../../../protocol/errors.ts";
import { startFakeServer } from "../../_helpers/client/fake_server.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const encoder = new TextEncoder();

/** Makes character device `path` equal to /dev/null (root only); false when not allowed. */
async function makeNullDevice(path: string): Promise<boolean> {
  if (Deno.uid() !== 0) {
    console.log("skipped: mknod needs root");
    return false;
  }
  const { code } = await new Deno.Command("mknod", {
    args: [path, "c", "1", "3"],
    stderr: "null",
  }).output();
  if (code !== 0) console.log("skipped: mknod is not allowed here");
  return code === 0;
}

/** Names in `dir`, sorted. */
function namesIn(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

for (const overwrite of [false, true]) {
  Deno.test(
    `ClientSession.get() writes into a character device${
      overwrite ? " with overwrite" : ""
    } and never replaces it`,
    async () => {
      await using dir = await tempDir();
      const device = join(dir.path, "null");
      if (!await makeNullDevice(device)) return;
      await using server = startFakeServer({
        files: { "a.txt": encoder.encode("hello") },
      });
      await using session = await openSession(`127.0.0.1:${server.port}`);
      const result = await session.get("a.txt", dir.path, {
        localName: "null",
        overwrite,
      });
      assert.equal(result.path, device);
      assert.equal(result.size, 5);
      assert.ok(Deno.lstatSync(device).isCharDevice, "still the device");
      assert.deepEqual(namesIn(dir.path), ["null"]);
    },
  );
}

Deno.test("ClientSession.get() streams into a FIFO that a reader drains", async () => {
  await using dir = await tempDir();
  const fifo = join(dir.path, "pipe");
  const made = await new Deno.Command("mkfifo", { args: [fifo] }).output();
  assert.equal(made.code, 0);
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i % 251);
  await using server = startFakeServer({ files: { "big.bin": big } });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  // The reader is a child process, so that it can be stopped when the
  // FIFO was replaced and no writer will ever open it.
  const reader = new Deno.Command("cat", { args: [fifo], stdout: "piped" })
    .spawn();
  const reading = reader.output();
  let done = false;
  let stillFifo = false;
  try {
    const result = await session.get("big.bin", dir.path, {
      localName: "pipe",
      overwrite: true,
    });
    assert.equal(result.size, big.byteLength);
    done = true;
  } finally {
    stillFifo = Deno.lstatSync(fifo).isFifo === true;
    if (!done || !stillFifo) {
      reader.kill();
      await reading.catch(() => {});
    }
  }
  assert.ok(stillFifo, "still the FIFO");
  assert.deepEqual((await reading).stdout, big);
  assert.deepEqual(namesIn(dir.path), ["pipe"]);
});

Deno.test("ClientSession.get() refuses a socket target in one line and leaves it", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "sock");
  using _listener = Deno.listen({ transport: "unix", path });
  await using server = startFakeServer({
    files: { "a.txt": encoder.encode("hello") },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  for (const overwrite of [false, true]) {
    await assert.rejects(
      session.get("a.txt", dir.path, { localName: "sock", overwrite }),
      (error: unknown) => {
        assert.ok(error instanceof FtsError);
        assert.match(error.message, /^Cannot get "a\.txt": .*is a socket/);
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
  }
  assert.ok(Deno.lstatSync(path).isSocket, "still the socket");
  assert.deepEqual(namesIn(dir.path), ["sock"]);
});

Deno.test("ClientSession.get() with a sink writes the verified bytes there and no file", async () => {
  await using dir = await tempDir();
  await using server = startFakeServer({
    files: { "a.txt": encoder.encode("hello") },
  });
  await using session = await openSession(`127.0.0.1:${server.port}`);
  const chunks: Uint8Array[] = [];
  const result = await session.get("a.txt", dir.path, {
    sink: {
      write(p) {
        chunks.push(p.slice());
        return Promise.resolve(p.byteLength);
      },
    },
  });
  assert.equal(result.path, "-");
  assert.equal(new TextDecoder().decode(chunks[0]), "hello");
  assert.deepEqual(namesIn(dir.path), []);
});

Deno.test("ClientSession.get() keeps its part file locked until it has its name, so another session's clean-up leaves it", async () => {
  await using dir = await tempDir();
  await using server = startFakeServer({
    files: { "a.txt": encoder.encode("hello") },
  });
  // Another session's first download into this folder reclaims left-over
  // part files; here it does so just before this download's rename.
  const reclaimed: string[][] = [];
  await using session = await openSession(`127.0.0.1:${server.port}`, {
    localDisk: {
      ...SYSTEM_DISK,
      nameFile(tempPath, target, options) {
        reclaimed.push(reclaimPartFiles(dir.path));
        return SYSTEM_DISK.nameFile(tempPath, target, options);
      },
    },
  });
  const result = await session.get("a.txt", dir.path, { overwrite: true });
  assert.equal(result.path, join(dir.path, "a.txt"));
  assert.deepEqual(reclaimed, [[]], "the running download's file was kept");
  assert.equal(await Deno.readTextFile(join(dir.path, "a.txt")), "hello");
  assert.deepEqual(namesIn(dir.path), ["a.txt"]);
});
