import assert from "node:assert/strict";
import { join } from "node:path";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

Deno.test("get -r / downloads the whole remote top folder into the local folder, or into a new one", async () => {
  await withShellWorld({
    remote: { "a.txt": "top", "d/b.txt": "deep", "empty/": "" },
  }, async (w) => {
    assert.equal(await w.run("get -r /"), "ok");
    assert.equal(await Deno.readTextFile(join(w.local, "a.txt")), "top");
    assert.equal(await Deno.readTextFile(join(w.local, "d/b.txt")), "deep");
    assert.ok((await Deno.stat(join(w.local, "empty"))).isDirectory);
    assert.equal(await w.run("get -r / copy"), "ok");
    assert.equal(
      await Deno.readTextFile(join(w.local, "copy/d/b.txt")),
      "deep",
    );
    assert.match(w.out.text(), /^Downloaded 2 files in 3 folders /);
    // Without -r the top folder is still not a file to get.
    assert.match(await w.run("get /"), /^usage: /);
  });
});
