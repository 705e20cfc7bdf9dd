import assert from "node:assert/strict";
import { withRemedy } from "../../../client/shell/commands.ts";
import { VaultError } from "../../../client/vault/vault_error.ts";
import { FtsError } from "../../../protocol/errors.ts";
import { withShellWorld } from "../../_helpers/client/shell_world.ts";

Deno.test("put of a missing local file names the local file, not the remote name", async () => {
  await withShellWorld({}, async ({ run }) => {
    assert.equal(
      await run("put nonexist remote.txt"),
      'failed: Cannot put "nonexist": no such local file or folder',
    );
  });
});

Deno.test("mv into a remote folder moves the file inside it, with or without a slash", async () => {
  await withShellWorld({
    remote: { "f": "f", "g": "g", "docs/": "" },
  }, async ({ root, run, out }) => {
    assert.equal(await run("mv f docs"), "ok");
    assert.equal(await run("mv g docs/"), "ok");
    assert.equal(await Deno.readTextFile(`${root}/docs/f`), "f");
    assert.equal(await Deno.readTextFile(`${root}/docs/g`), "g");
    assert.match(
      out.text(),
      /Renamed "f" to "docs\/f"\nRenamed "g" to "docs\/g"/,
    );
  });
});

Deno.test("mv names the target when the target is the problem", async () => {
  await withShellWorld({
    remote: { "f": "f", "g": "g" },
  }, async ({ run }) => {
    assert.equal(
      await run("mv f g"),
      'failed: Cannot rename "f" to "g": "g" already exists on the server (--overwrite replaces it)',
    );
    assert.equal(
      await run("mv f nodir/"),
      'failed: Cannot rename "f" to "nodir/f": no such folder "nodir" on the server',
    );
    assert.equal(
      await run("mv f nodir/x"),
      'failed: Cannot rename "f" to "nodir/x": no such folder "nodir" on the server',
    );
    assert.equal(
      await run("mv nothere x"),
      'failed: Cannot rename "nothere": no such file on the server',
    );
  });
});

Deno.test("put into a remote folder stores the file inside it; a missing folder is named", async () => {
  await withShellWorld({
    remote: { "docs/": "" },
    local: { "a": "a" },
  }, async ({ root, run }) => {
    assert.equal(await run("put a docs"), "ok");
    assert.equal(await Deno.readTextFile(`${root}/docs/a`), "a");
    assert.equal(
      await run("put a nodir/"),
      'failed: Cannot put "a": no such folder "nodir" on the server',
    );
    assert.equal(
      await run("put a nodir/b"),
      'failed: Cannot put "a": no such folder "nodir" on the server',
    );
    assert.deepEqual(
      [...Deno.readDirSync(`${root}/docs`)].map((e) => e.name),
      ["a"],
    );
  });
});

Deno.test("get into a missing local folder names the local folder, not the remote file", async () => {
  await withShellWorld({ remote: { "f": "f" } }, async ({ local, run }) => {
    assert.equal(
      await run("get f nodir/x"),
      `failed: Cannot get "f": no such local folder "${local}/nodir"`,
    );
    assert.equal(
      await run("get f nodir/"),
      `failed: Cannot get "f": no such local folder "${local}/nodir"`,
    );
  });
});

Deno.test("cd to a file says it is a file; cd to nothing says there is no such folder", async () => {
  await withShellWorld({
    remote: { "file.txt": "x", "docs/inner.txt": "y" },
  }, async ({ run, state }) => {
    assert.equal(
      await run("cd file.txt"),
      'failed: Cannot change to "file.txt": it is a file, not a folder',
    );
    assert.equal(
      await run("cd docs/inner.txt"),
      'failed: Cannot change to "docs/inner.txt": it is a file, not a folder',
    );
    assert.equal(
      await run("cd file.txt/deeper"),
      'failed: Cannot change to "file.txt/deeper": a parent on the server is not a folder',
    );
    assert.equal(
      await run("cd nothere"),
      'failed: Cannot change to "nothere": no such folder on the server',
    );
    assert.equal(state.remoteDir, "");
  });
});

Deno.test("withRemedy() decides by command and error fields, not by the message's words", () => {
  const stale = new FtsError("stale", 'Cannot put "a": it changed');
  assert.match(withRemedy(stale, "put"), /\(run "lls" to see/);
  const staleLocalWords = new FtsError("stale", 'Cannot get "local.txt": x');
  assert.match(withRemedy(staleLocalWords, "get"), /\(run "ls" to see/);
  const key = new VaultError("no_identity", "Cannot decrypt: no key fits");
  assert.match(withRemedy(key, "get"), /"get --raw" saves/);
  const phrase = new VaultError("no_identity", "Cannot decrypt: no key fits", {
    passphrase: true,
  });
  assert.equal(withRemedy(phrase, "get"), "Cannot decrypt: no key fits");
});
