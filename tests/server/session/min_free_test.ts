import assert from "node:assert/strict";
import { startServer } from "../../../server/server.ts";
import { RawClient } from "../../_helpers/server/raw_client.ts";
import { tempDir } from "../../_helpers/common/temp_dir.ts";

const MiB = 1024 * 1024;
const isRoot = Deno.uid() === 0;

if (!isRoot) {
  console.log(
    "min_free_test: skipped: mounting a small tmpfs needs root",
  );
}

/** Runs `mount`/`umount` with `args`; throws with its stderr on failure. */
async function run(command: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command(command, {
    args,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

Deno.test({
  name:
    "serve --min-free refuses with no_space an upload that would leave less free on a small disk",
  ignore: !isRoot,
  async fn() {
    await using dir = await tempDir("fts_min_free_");
    await run("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", dir.path]);
    try {
      await using server = await startServer({
        root: dir.path,
        host: "127.0.0.1",
        port: 0,
        quota: { minFree: 8 * MiB },
      });
      await using c = await RawClient.connect(server.addr);
      // 16 MiB disk: 6 MiB leaves about 10 free, 6 more would leave about 4.
      assert.equal(
        (await c.put("a.bin", new Uint8Array(6 * MiB))).type,
        "put_done",
      );
      const refused = await c.put("b.bin", new Uint8Array(6 * MiB));
      assert.equal(refused.type, "error");
      assert.equal(refused.code, "no_space");
      assert.match(
        refused.message,
        /^Cannot upload "b\.bin": it would leave less than the 8\.00 MiB the server keeps free \(\d+(\.\d+)? MiB free, 6\.00 MiB requested\)$/,
      );
      // What leaves enough is still taken.
      assert.equal(
        (await c.put("c.bin", new Uint8Array(MiB))).type,
        "put_done",
      );
    } finally {
      await run("umount", [dir.path]);
    }
  },
});
