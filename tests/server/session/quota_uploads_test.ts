import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../../server/storage/local/local_storage.ts";
import type { Upload } from "../../../server/storage/storage.ts";
import type { Message } from "../../../protocol/messages.ts";
import { delegatingStorage } from "../../_helpers/server/delegating_storage.ts";
import { startTestServer } from "../../_helpers/server/fixture.ts";
import { pseudoRandomBytes, sha256 } from "../../_helpers/server/raw_client.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;

/** A local storage that counts the uploads begun on it and the bytes written. */
function countingStorage(local: LocalStorage) {
  const counts = { begun: 0, written: 0 };
  const storage = delegatingStorage(local, {
    async beginUpload(name, size) {
      counts.begun++;
      const upload = await local.beginUpload(name, size);
      const write = upload.write.bind(upload);
      return Object.assign(upload, {
        write(chunk: Uint8Array) {
          counts.written += chunk.byteLength;
          return write(chunk);
        },
      }) as Upload;
    },
  });
  return { storage, counts };
}

/** Sends PUT for `size` bytes; the server's first reply. */
async function beginPut(
  c: {
    id(): number;
    send(m: Message): Promise<void>;
    reply(id: number): Promise<Message | null>;
  },
  name: string,
  size: number,
): Promise<{ id: number; reply: Message | null }> {
  const id = c.id();
  await c.send({ type: "put", id, name, size, overwrite: false });
  return { id, reply: await c.reply(id) };
}

Deno.test("serve refuses an upload beyond its quota before taking any of its data", async () => {
  await using root = await tempDir();
  Deno.writeFileSync(join(root.path, "old.bin"), new Uint8Array(700 * 1024));
  await using local = await LocalStorage.open(root.path);
  const { storage, counts } = countingStorage(local);
  await using t = await startTestServer({ storage, quota: { limit: MiB } });
  await using c = await t.connect();
  // Sent the way clients send: PUT, its data and PUT_END without waiting.
  const data = pseudoRandomBytes(400 * 1024);
  const reply = await c.put("x.iso", data);
  assert.equal(reply.type, "error");
  assert.equal(reply.code, "quota_exceeded");
  assert.equal(
    reply.message,
    'Cannot upload "x.iso": the server\'s quota of 1.00 MiB exceeded (700 KiB used, 400 KiB requested)',
  );
  assert.deepEqual(counts, { begun: 0, written: 0 });
  // What fits is taken.
  const fits = await c.put("y.bin", pseudoRandomBytes(300 * 1024));
  assert.equal(fits.type, "put_done");
  assert.deepEqual(counts, { begun: 1, written: 300 * 1024 });
});

for (const [racers, winners] of [[2, 1], [8, 3]] as const) {
  Deno.test(`serve lets exactly ${winners} of ${racers} concurrent uploads racing for the last free space in, and refuses the others`, async () => {
    await using t = await startTestServer({ quota: { limit: 10 * MiB } });
    await using first = await t.connect();
    assert.equal(
      (await first.put(
        "base.bin",
        pseudoRandomBytes(10 * MiB - (winners * 2 + 1) * MiB),
        { overwrite: true },
      )).type,
      "put_done",
    );
    const clients = await Promise.all(
      Array.from({ length: racers }, () => t.connect()),
    );
    try {
      // Each asks for 2 MiB at the same time; only `winners` × 2 MiB are free.
      const begun = await Promise.all(
        clients.map((c, i) => beginPut(c, `r${i}.bin`, 2 * MiB)),
      );
      const ready = begun.filter((b) => b.reply?.type === "put_ready");
      const refused = begun.filter((b) => b.reply?.type === "error");
      assert.equal(ready.length, winners);
      assert.equal(refused.length, racers - winners);
      for (const { reply } of refused) {
        assert.equal(reply?.type === "error" && reply.code, "quota_exceeded");
      }
      const data = pseudoRandomBytes(2 * MiB);
      for (const [i, b] of begun.entries()) {
        if (b.reply?.type !== "put_ready") continue;
        const c = clients[i]!;
        await c.sendData(b.id, data);
        await c.send({ type: "put_end", id: b.id, sha256: sha256(data) });
        assert.equal((await c.reply(b.id))?.type, "put_done");
      }
      let stored = 0;
      for (const e of Deno.readDirSync(t.root)) {
        if (e.isFile) stored += Deno.statSync(join(t.root, e.name)).size;
      }
      assert.equal(stored, 10 * MiB - MiB);
    } finally {
      for (const c of clients) c.close();
    }
  });
}

Deno.test("serve releases an upload's reservation when it is cancelled, and cuts off a sender that sends more than it declared", async () => {
  await using t = await startTestServer({ quota: { limit: 10 * MiB } });
  await using a = await t.connect();
  await using b = await t.connect();
  const held = await beginPut(a, "a.bin", 8 * MiB);
  assert.equal(held.reply?.type, "put_ready");
  const blocked = await beginPut(b, "b.bin", 8 * MiB);
  assert.equal(
    blocked.reply?.type === "error" && blocked.reply.code,
    "quota_exceeded",
  );
  await a.send({ type: "cancel", id: held.id });
  assert.equal((await a.reply(held.id))?.type, "error");
  // Declares 8 MiB and sends 9: cut off, and its reservation goes too.
  const over = await beginPut(b, "over.bin", 8 * MiB);
  assert.equal(over.reply?.type, "put_ready");
  await b.sendData(over.id, pseudoRandomBytes(9 * MiB));
  const cut = await b.reply(over.id);
  assert.equal(cut?.type === "error" && cut.code, "bad_request");
  const whole = pseudoRandomBytes(10 * MiB);
  assert.equal((await b.put("whole.bin", whole)).type, "put_done");
  assert.deepEqual(await t.visible(), ["whole.bin"]);
});

Deno.test("serve releases the reservation of a client killed in the middle of its upload", async () => {
  await using t = await startTestServer({ quota: { limit: 10 * MiB } });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../_helpers/server/held_upload.ts", import.meta.url).pathname,
      String(t.server.addr.port),
      "held.bin",
      String(8 * MiB),
    ],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const { value } = await lines.read();
    assert.equal(value?.trim(), "ready");
    await using c = await t.connect();
    const blocked = await beginPut(c, "b.bin", 8 * MiB);
    assert.equal(
      blocked.reply?.type === "error" && blocked.reply.code,
      "quota_exceeded",
    );
    child.kill("SIGKILL");
    await t.waitForLog(/put "held\.bin" .* disconnected$/);
    assert.equal(
      (await c.put("b.bin", pseudoRandomBytes(8 * MiB))).type,
      "put_done",
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Already killed.
    }
    await lines.cancel();
    await child.status;
  }
});
